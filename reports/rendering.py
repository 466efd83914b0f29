"""Markdown to safe HTML for report teasers and bodies.

markdown-it-py parses with raw HTML switched off, then nh3 cleans the output against an
allow-list, so editor content can never carry scripts, event handlers or foreign frames.
"""

import nh3
from markdown_it import MarkdownIt

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": True})
_markdown.enable(["table", "strikethrough"])

_ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "del", "em", "figcaption",
    "figure", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "li", "ol", "p", "pre", "s",
    "strong", "sub", "sup", "table", "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip
_ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "ol": {"start"},
}


def render_markdown(source: str) -> str:
    html = _markdown.render(source)
    return nh3.clean(
        html,
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
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
# Bidirectional overrides can make a comment display differently from what it says, and
# zero-width characters hide text; neither belongs in a comment.
_INVISIBLE = dict.fromkeys(
    [0x200B, 0x2060, 0xFEFF, *range(0x202A, 0x202F), *range(0x2066, 0x206A)], None
)


def clean_comment_source(source: str) -> str:
    return source.translate(_INVISIBLE).replace("\r\n", "\n").strip()


def render_comment(source: str) -> str:
    html = _comment_markdown.render(clean_comment_source(source))
    return nh3.clean(
        html,
        tags=_COMMENT_TAGS,
        attributes={"a": {"href"}, "ol": {"start"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="nofollow ugc noopener",
    )
