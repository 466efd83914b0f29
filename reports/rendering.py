"""Markdown to safe HTML for report teasers and bodies.

markdown-it-py parses with raw HTML switched off, then nh3 cleans the output against an
allow-list, so editor content can never carry scripts, event handlers or foreign frames.
Our own additions (heading anchors, figures with captions, privacy-enhanced video embeds)
are produced as parser tokens and pass the same sanitizer; the only frames nh3 keeps are
those whose address matches the embed allow-list exactly.
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import parse_qs, urljoin, urlsplit

import nh3
from django.utils.html import escape, strip_tags
from django.utils.text import slugify
from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.token import Token

from publisher.text import text_strip_invisible
from reports.images.markup import SIZES_BODY, picture_html
from reports.images.selectors import LibraryImage, library_images

# Part of the cache key of rendered bodies (reports/selectors.py): a change to the HTML this
# module produces bumps it, so no cached body keeps the old markup for a day.
RENDERING_VERSION = 3

# Ids the page itself uses; a heading called "Main" must not steal the skip link's target.
RESERVED_IDS = frozenset({"main", "report-body", "paywall-title", "citations", "related"})

_YOUTUBE_ID = re.compile(r"[A-Za-z0-9_-]{11}")
_VIMEO_ID = re.compile(r"[0-9]{1,12}")
_VIMEO_HASH = re.compile(r"[0-9a-f]{6,20}")
_ALLOWED_FRAME_SRC = re.compile(
    r"https://www\.youtube-nocookie\.com/embed/[A-Za-z0-9_-]{11}"
    r"|https://player\.vimeo\.com/video/[0-9]{1,12}\?dnt=1(?:&h=[0-9a-f]{6,20})?"
)
_YOUTUBE_HOSTS = {"youtube.com", "www.youtube.com", "m.youtube.com", "youtube-nocookie.com",
                  "www.youtube-nocookie.com"}  # fmt: skip
_VIMEO_HOSTS = {"vimeo.com", "www.vimeo.com", "player.vimeo.com"}


def video_embed(url: str) -> tuple[str, str, str] | None:
    """(provider, privacy-enhanced frame address, canonical watch address) or None.

    Only YouTube and Vimeo addresses whose ids have the expected shape qualify; anything
    else stays ordinary text.
    """
    try:
        parts = urlsplit(url.strip().removeprefix("<").removesuffix(">"))
    except ValueError:
        return None
    if parts.scheme not in {"http", "https"}:
        return None
    host = (parts.hostname or "").lower()
    segments = [segment for segment in parts.path.split("/") if segment]
    video_id = None
    if host == "youtu.be" and len(segments) == 1:
        video_id = segments[0]
    elif host in _YOUTUBE_HOSTS and segments == ["watch"]:
        video_id = parse_qs(parts.query).get("v", [""])[0]
    elif (
        host in _YOUTUBE_HOSTS and len(segments) == 2 and segments[0] in {"embed", "shorts", "live"}
    ):
        video_id = segments[1]
    if video_id is not None:
        if not _YOUTUBE_ID.fullmatch(video_id):
            return None
        return (
            "YouTube",
            f"https://www.youtube-nocookie.com/embed/{video_id}",
            f"https://www.youtube.com/watch?v={video_id}",
        )
    if host in _VIMEO_HOSTS:
        if host == "player.vimeo.com" and segments[:1] == ["video"]:
            segments = segments[1:]
        if not segments or not _VIMEO_ID.fullmatch(segments[0]) or len(segments) > 2:
            return None
        unlisted = segments[1] if len(segments) == 2 else parse_qs(parts.query).get("h", [""])[0]
        if unlisted and not _VIMEO_HASH.fullmatch(unlisted):
            return None
        src = f"https://player.vimeo.com/video/{segments[0]}?dnt=1"
        watch = f"https://vimeo.com/{segments[0]}"
        if unlisted:
            src += f"&h={unlisted}"
            watch += f"/{unlisted}"
        return ("Vimeo", src, watch)
    return None


def _embed_html(provider: str, src: str, watch: str) -> str:
    return (
        '<figure class="embed">'
        f'<iframe src="{escape(src)}" title="{provider} video" loading="lazy" '
        'allow="fullscreen; picture-in-picture; encrypted-media" allowfullscreen '
        'referrerpolicy="strict-origin-when-cross-origin" '
        'sandbox="allow-scripts allow-same-origin allow-presentation allow-popups">'
        "</iframe>"
        f'<figcaption><a href="{escape(watch)}">Watch on {provider}</a></figcaption>'
        "</figure>\n"
    )


def _paragraphs(tokens: list[Token]) -> Iterator[int]:
    """Indexes of the inline token of each paragraph (paragraph_open sits just before it)."""
    for index, token in enumerate(tokens):
        if (
            token.type == "inline"
            and 0 < index < len(tokens) - 1
            and tokens[index - 1].type == "paragraph_open"
            and not tokens[index - 1].hidden
        ):
            yield index


def _embeds_and_figures(state: StateCore) -> None:
    tokens = state.tokens
    for index in reversed(list(_paragraphs(tokens))):
        inline = tokens[index]
        children = inline.children or []
        embed = video_embed(inline.content) if "\n" not in inline.content.strip() else None
        if embed is not None and all(
            c.type in {"text", "link_open", "link_close"} for c in children
        ):
            block = Token("html_block", "", 0, content=_embed_html(*embed))
            tokens[index - 1 : index + 2] = [block]
            continue
        if (
            len(children) == 1
            and children[0].type == "image"
            and children[0].attrGet("title")
            and library_image_id(children[0]) is None
        ):
            caption = Token("text", "", 0, content=str(children[0].attrGet("title")))
            tokens[index - 1 : index + 2] = [
                Token("figure_open", "figure", 1, block=True),
                inline,
                Token("figcaption_open", "figcaption", 1, block=True),
                Token("inline", "", 0, children=[caption], content=caption.content),
                Token("figcaption_close", "figcaption", -1, block=True),
                Token("figure_close", "figure", -1, block=True),
            ]


_LIBRARY_SRC = re.compile(r"image:([0-9]{1,18})")


def library_image_id(token: Token) -> int | None:
    """The library image an image token names (`![alt](image:42)`), if it names one."""
    match = _LIBRARY_SRC.fullmatch(str(token.attrGet("src") or ""))
    return int(match.group(1)) if match else None


def _library_image_ids(tokens: list[Token]) -> set[int]:
    return {
        image_id
        for token in tokens
        for child in token.children or []
        if child.type == "image" and (image_id := library_image_id(child)) is not None
    }


def _library_picture(token: Token, images: dict[int, LibraryImage]) -> Token:
    """An inline token for a library image: its <picture>, or, for an id the library does
    not hold (deleted, mistyped), its alt text as plain text, so nothing breaks."""
    image = images.get(library_image_id(token) or 0)
    alt = "".join(child.content for child in token.children or []) or token.content
    if image is None:
        return Token("text", "", 0, content=alt)
    html = picture_html(renditions=image.renditions, alt=alt or image.alt, sizes=SIZES_BODY)
    return Token("html_inline", "", 0, content=html)


def _library_images(tokens: list[Token], images: dict[int, LibraryImage]) -> None:
    """Library images become <picture>s with renditions; one alone in its paragraph becomes a
    <figure> captioned by its Markdown title, else by the library's caption."""
    for index in reversed(range(len(tokens))):
        inline = tokens[index]
        children = inline.children or []
        if inline.type != "inline" or not any(
            c.type == "image" and library_image_id(c) is not None for c in children
        ):
            continue
        alone = (
            len(children) == 1
            and 0 < index < len(tokens) - 1
            and tokens[index - 1].type == "paragraph_open"
        )
        if alone:
            image = images.get(library_image_id(children[0]) or 0)
            caption = str(children[0].attrGet("title") or (image.caption if image else ""))
            picture = _library_picture(children[0], images)
            if image is None:
                inline.children = [picture]
                continue
            figure = [Token("html_block", "", 0, content='<figure class="image">')]
            figure.append(Token("inline", "", 0, children=[picture], content=""))
            if caption:
                figure += [
                    Token("figcaption_open", "figcaption", 1, block=True),
                    Token(
                        "inline",
                        "",
                        0,
                        children=[Token("text", "", 0, content=caption)],
                        content=caption,
                    ),
                    Token("figcaption_close", "figcaption", -1, block=True),
                ]
            figure.append(Token("html_block", "", 0, content="</figure>\n"))
            tokens[index - 1 : index + 2] = figure
            continue
        inline.children = [
            _library_picture(c, images) if c.type == "image" and library_image_id(c) else c
            for c in children
        ]


def _heading_anchors(state: StateCore) -> None:
    taken = set(RESERVED_IDS)
    tokens = state.tokens
    for index, token in enumerate(tokens):
        if token.type != "heading_open" or token.tag not in {"h2", "h3", "h4"}:
            continue
        inline = tokens[index + 1]
        text = "".join(
            c.content for c in inline.children or [] if c.type in {"text", "code_inline"}
        )
        base = slugify(text, allow_unicode=True)[:60] or "section"
        anchor, number = base, 2
        while anchor in taken:
            anchor, number = f"{base}-{number}", number + 1
        taken.add(anchor)
        token.attrSet("id", anchor)
        children = inline.children or []
        # The heading text itself links to its section, so the heading keeps its plain
        # accessible name; a heading that already holds a link only gets the id.
        if not any(child.type == "link_open" for child in children):
            inline.children = [
                Token("html_inline", "", 0, content=f'<a class="heading-anchor" href="#{anchor}">'),
                *children,
                Token("html_inline", "", 0, content="</a>"),
            ]


def _table_alignment(state: StateCore) -> None:
    """Column alignment as classes: our CSP forbids the inline styles markdown-it emits."""
    for token in state.tokens:
        style = token.attrGet("style") if token.type in {"th_open", "td_open"} else None
        if style:
            token.attrs.pop("style")
            align = str(style).removeprefix("text-align:")
            if align in {"right", "center"}:
                token.attrSet("class", f"align-{align}")


def _cell_text(inline: Token) -> str:
    text = "".join(c.content for c in inline.children or [] if c.type in {"text", "code_inline"})
    return " ".join(text.split())


def _table_label(tokens: list[Token], start: int) -> str:
    """The first non-empty header cell (Markdown tables have no caption)."""
    for index in range(start + 1, len(tokens)):
        token = tokens[index]
        if token.type == "table_close":
            break
        if token.type == "th_open" and (text := _cell_text(tokens[index + 1])):
            return text
    return ""


def _table_regions(state: StateCore) -> None:
    """Each table inside a labelled region that takes focus, so a table wider than the
    column can be scrolled sideways with the arrow keys, and a screen reader names it on
    arrival. Labels are unique within the document: two regions of one name could not be
    told apart in a screen reader's list of landmarks."""
    taken: set[str] = set()
    tokens: list[Token] = []
    for index, token in enumerate(state.tokens):
        if token.type == "table_open":
            base = f"Table: {_table_label(state.tokens, index) or len(taken) + 1}"
            label, number = base, 2
            while label in taken:
                label, number = f"{base} ({number})", number + 1
            taken.add(label)
            region = f'<div class="table-scroll" role="region" aria-label="{escape(label)}" '
            tokens.append(Token("html_block", "", 0, content=f'{region}tabindex="0">\n'))
        tokens.append(token)
        if token.type == "table_close":
            tokens.append(Token("html_block", "", 0, content="</div>\n"))
    state.tokens[:] = tokens


_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": True})
_markdown.enable(["table", "strikethrough"])
_markdown.core.ruler.push("embeds_and_figures", _embeds_and_figures)
_markdown.core.ruler.push("heading_anchors", _heading_anchors)
_markdown.core.ruler.push("table_alignment", _table_alignment)
_markdown.core.ruler.push("table_regions", _table_regions)

_ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "del", "div", "em", "figcaption",
    "figure", "h2", "h3", "h4", "h5", "h6", "hr", "i", "iframe", "img", "li", "ol", "p",
    "picture", "pre", "s", "source", "strong", "sub", "sup", "table", "tbody", "td", "th",
    "thead", "tr", "ul",
}  # fmt: skip
# Editors write no HTML (the parser's html option is off), so <picture>, <source> and their
# srcset only come from the library's renditions above.
_ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height", "srcset", "sizes"},
    "source": {"type", "srcset", "sizes"},
    "ol": {"start"},
    "h2": {"id"},
    "h3": {"id"},
    "h4": {"id"},
    "iframe": {"src", "title", "loading", "allow", "allowfullscreen", "referrerpolicy", "sandbox"},
    # Only the table regions above produce a div: editors cannot write HTML.
    "div": {"role", "aria-label", "tabindex"},
}
_ALLOWED_CLASSES = {
    "a": {"heading-anchor"},
    "div": {"table-scroll"},
    "figure": {"embed", "image"},
    "th": {"align-right", "align-center"},
    "td": {"align-right", "align-center"},
}


def _only_allow_listed_frames(tag: str, attribute: str, value: str) -> str | None:
    if tag == "iframe" and attribute == "src" and not _ALLOWED_FRAME_SRC.fullmatch(value):
        return None
    return value


def render_markdown(source: str) -> str:
    """Cleaned HTML of a report's (or site page's) Markdown. Library images named in it are
    read in one query, and only when there are any."""
    env: dict = {}
    tokens = _markdown.parse(source, env)
    if ids := _library_image_ids(tokens):
        _library_images(tokens, library_images(ids))
    html = _markdown.renderer.render(tokens, _markdown.options, env)
    return nh3.clean(
        html,
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        allowed_classes=_ALLOWED_CLASSES,
        attribute_filter=_only_allow_listed_frames,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener",
        set_tag_attribute_values={"img": {"loading": "lazy", "decoding": "async"}},
    )


# Comments: a smaller language (emphasis, links, lists, quotes, code) and a smaller allow-list.
_comment_markdown = MarkdownIt("zero", {"html": False, "linkify": False, "breaks": True})
_comment_markdown.enable(
    ["emphasis", "link", "list", "blockquote", "backticks", "fence", "code", "newline", "escape"]
)
_COMMENT_TAGS = {"a", "blockquote", "br", "code", "em", "li", "ol", "p", "pre", "strong", "ul"}


def clean_comment_source(source: str) -> str:
    # The same invisible characters as in names go (publisher.text says why); line breaks stay.
    return text_strip_invisible(source).replace("\r\n", "\n").strip()


def render_comment(source: str) -> str:
    html = _comment_markdown.render(clean_comment_source(source))
    return nh3.clean(
        html,
        tags=_COMMENT_TAGS,
        attributes={"a": {"href"}, "ol": {"start"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="nofollow ugc noopener",
    )


# Email clients ignore stylesheets: a fragment placed in an email carries, inline, the few
# styles that keep wide content (code, tables, images) within a phone's width.
_EMAIL_STYLES = {
    "pre": "margin:0 0 16px;padding:8px;background:#f4f6f8;white-space:pre-wrap;"
    "word-break:break-all;font-size:14px;",
    "img": "max-width:100%;height:auto;",
    # A wide table scrolls in its own box; its cells keep their words whole.
    "table": "display:block;max-width:100%;overflow-x:auto;border-collapse:collapse;",
    "th": "padding:4px 8px;border-bottom:1px solid #d9dde3;word-break:normal;",
    "td": "padding:4px 8px;border-bottom:1px solid #d9dde3;word-break:normal;",
}


def email_fragment(html: str, *, base_url: str) -> str:
    """A fragment from `render_markdown` or `render_comment`, styled inline for an email.

    Cleaned again with the report allow-list (the larger one) rather than edited as text, so
    the styles land only on real tags, never inside an attribute's value. An email has no
    address of its own to resolve a relative link against, so links and images are made
    absolute from `base_url` (the page the fragment comes from). Table regions are
    unwrapped: in an email the table scrolls itself, and nothing there takes focus.
    """

    def absolute(tag: str, attribute: str, value: str) -> str | None:
        if (tag, attribute) in {("a", "href"), ("img", "src")}:
            value = urljoin(base_url, value)
        return _only_allow_listed_frames(tag, attribute, value)

    # Email clients show a <picture>'s <img> alone, and many no WebP: the JPEG or PNG
    # fallback in its src is what they get.
    return nh3.clean(
        html,
        tags=_ALLOWED_TAGS - {"div", "picture", "source"},
        attributes={
            **_ALLOWED_ATTRIBUTES,
            "a": {"href", "title", "rel"},
            "img": {"src", "alt", "title", "width", "height"},
        },
        allowed_classes=_ALLOWED_CLASSES,
        attribute_filter=absolute,
        url_schemes={"http", "https", "mailto"},
        link_rel=None,
        set_tag_attribute_values={tag: {"style": style} for tag, style in _EMAIL_STYLES.items()},
    )


@dataclass(frozen=True)
class BodyFigures:
    """What a report's body holds, counted: numbers that say nothing of its text."""

    words: int
    tables: int
    figures: int  # images, captioned or not (our charts are images)
    videos: int  # privacy-enhanced embeds


# In `render_markdown`'s output every "<" of the text is escaped, so each of these is a tag
# the renderer made.
_TABLE_TAG = re.compile(r"<table\b")
_IMAGE_TAG = re.compile(r"<img\b")
_FRAME_TAG = re.compile(r"<iframe\b")


def body_figures(source: str) -> BodyFigures:
    html = render_markdown(source)
    return BodyFigures(
        words=len(strip_tags(html).split()),
        tables=len(_TABLE_TAG.findall(html)),
        figures=len(_IMAGE_TAG.findall(html)),
        videos=len(_FRAME_TAG.findall(html)),
    )


def markdown_text(source: str) -> str:
    """Plain text of a Markdown fragment, for cards, feeds and meta descriptions."""
    return " ".join(strip_tags(render_markdown(source)).split())


# Teasers are public, short, and rendered on every view of their report (the page and its
# description for link previews): remembered per process by their text, so an edit is a new
# entry and never a stale one. Bounded: a few hundred teasers of a few KB at most.
@lru_cache(maxsize=512)
def teaser_html(source: str) -> str:
    return render_markdown(source)


@lru_cache(maxsize=512)
def teaser_text(source: str) -> str:
    return " ".join(strip_tags(teaser_html(source)).split())


def link_targets(source: str) -> list[str]:
    """Every link address in a Markdown fragment, in order (for citations)."""
    hrefs = []
    for token in _markdown.parse(source):
        for child in token.children or []:
            if child.type == "link_open" and child.attrGet("href"):
                hrefs.append(str(child.attrGet("href")))
    return hrefs
