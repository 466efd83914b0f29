"""Markdown rendering: what editors may write, and what can never come out of it."""

import re
from html.parser import HTMLParser

import pytest

from reports.rendering import (
    email_fragment,
    link_targets,
    markdown_text,
    render_comment,
    render_markdown,
    video_embed,
)


def _tags(html: str) -> set[str]:
    return set(re.findall(r"<([a-z0-9]+)", html))


class _Attributes(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.names.update(name for name, _ in attrs)


def _attribute_names(html: str) -> set[str]:
    parser = _Attributes()
    parser.feed(html)
    return parser.names


@pytest.mark.parametrize(
    "source",
    [
        "<script>alert(1)</script>",
        '<img src=x onerror="alert(1)">',
        '<a href="https://example.com" onclick="alert(1)">x</a>',
        '<iframe src="https://evil.example/embed"></iframe>',
        '<iframe src="https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ"></iframe>',
        "<style>body { display: none }</style>",
        '<div style="position:fixed">overlay</div>',
        "<!-- a comment --><svg onload=alert(1)>",
    ],
)
def test_raw_html_comes_out_as_inert_text(source):
    html = render_markdown(source)

    assert _tags(html) <= {"p"}
    assert "<script" not in html and "<iframe" not in html and "<svg" not in html


@pytest.mark.parametrize(
    "source",
    [
        "[click](javascript:alert(1))",
        "[click](JaVaScRiPt:alert(1))",
        "[click](data:text/html;base64,PHNjcmlwdD4=)",
        "[click](vbscript:msgbox(1))",
        "![x](javascript:alert(1))",
        "<javascript:alert(1)>",
    ],
)
def test_dangerous_link_schemes_are_dropped(source):
    html = render_markdown(source).lower()

    assert 'href="javascript' not in html
    assert 'src="javascript' not in html
    assert 'href="data:' not in html
    assert 'href="vbscript' not in html


def test_event_handler_attributes_never_survive():
    source = (
        '[x](https://example.com "t\\" onmouseover=\\"alert(1)")\n\n'
        '![a](/x.png "b\\" onerror=\\"x")'
    )

    html = render_markdown(source)

    assert not {name for name in _attribute_names(html) if name.startswith("on")}
    assert "onmouseover" in html  # still there, but only as escaped text inside a title


@pytest.mark.parametrize(
    ("url", "src"),
    [
        ("https://www.youtube.com/watch?v=dQw4w9WgXcQ", "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ"),
        ("https://youtu.be/dQw4w9WgXcQ", "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ"),
        ("https://m.youtube.com/watch?v=dQw4w9WgXcQ&t=42", "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ"),
        ("https://www.youtube.com/shorts/dQw4w9WgXcQ", "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ"),
        ("https://vimeo.com/123456789", "https://player.vimeo.com/video/123456789?dnt=1"),
        ("https://vimeo.com/123456789/abcdef1234", "https://player.vimeo.com/video/123456789?dnt=1&amp;h=abcdef1234"),
    ],
)  # fmt: skip
def test_video_url_alone_on_a_line_becomes_a_privacy_enhanced_embed(url, src):
    html = render_markdown(f"Watch this:\n\n{url}\n\nThen read on.")

    assert html.count("<iframe") == 1
    assert f'<iframe src="{src}"' in html
    assert 'sandbox="allow-scripts allow-same-origin allow-presentation allow-popups"' in html
    assert "style=" not in html


@pytest.mark.parametrize(
    "source",
    [
        "https://evil.example/watch?v=dQw4w9WgXcQ",
        "https://www.youtube.com.evil.example/watch?v=dQw4w9WgXcQ",
        "https://www.youtube.com/watch?v=short",
        'https://www.youtube.com/watch?v=dQw4w9WgX"Q',
        "https://vimeo.com/not-a-number",
        "https://vimeo.com/123/../../evil",
        "javascript://youtube.com/watch?v=dQw4w9WgXcQ",
        "See https://youtu.be/dQw4w9WgXcQ in the middle of a sentence.",
        "[a link](https://youtu.be/dQw4w9WgXcQ) is a link, not an embed",
        "```\nhttps://youtu.be/dQw4w9WgXcQ\n```",
    ],
)
def test_nothing_else_becomes_an_iframe(source):
    assert "<iframe" not in render_markdown(source)


def test_video_embed_allow_list_is_strict():
    assert video_embed("https://youtu.be/dQw4w9WgXcQ")[0] == "YouTube"
    assert video_embed("ftp://youtu.be/dQw4w9WgXcQ") is None
    assert video_embed("https://player.vimeo.com/video/42")[1].endswith("/video/42?dnt=1")


def test_headings_get_unique_anchors_that_never_clash_with_page_ids():
    html = render_markdown("## Results\n\n## Results\n\n## Main\n\n### 测试结果")

    assert '<h2 id="results">' in html
    assert '<h2 id="results-2">' in html
    assert '<h2 id="main-2">' in html
    assert '<h3 id="测试结果">' in html
    assert (
        '<h2 id="results"><a class="heading-anchor" href="#results" rel="noopener">Results</a></h2>'
        in html
    )
    assert '<h2 id="see-x"><a href="/x" rel="noopener">See x</a></h2>' in render_markdown(
        "## [See x](/x)"
    )


def test_tables_keep_column_alignment_as_classes_not_inline_styles():
    html = render_markdown("| Model | kW |\n|---|---:|\n| Aurel H8 | 8.0 |")

    assert '<td class="align-right">8.0</td>' in html
    assert "style" not in html


def test_tables_sit_in_a_focusable_region_named_after_the_first_header_cell():
    html = render_markdown(
        "Intro\n\n| Unit | 24 mo (%) |\n|---|---:|\n| Lumora Cell 13 | 96.3 |\n\nAfter"
    )

    assert html == (
        "<p>Intro</p>\n"
        '<div class="table-scroll" role="region" aria-label="Table: Unit" tabindex="0">\n'
        "<table>\n<thead>\n<tr>\n<th>Unit</th>\n"
        '<th class="align-right">24 mo (%)</th>\n</tr>\n</thead>\n'
        "<tbody>\n<tr>\n<td>Lumora Cell 13</td>\n"
        '<td class="align-right">96.3</td>\n</tr>\n</tbody>\n</table>\n'
        "</div>\n<p>After</p>\n"
    )


def test_table_region_labels_are_unique_escaped_and_never_empty():
    html = render_markdown(
        "| *Model* `X` | a |\n|---|---|\n| 1 | 2 |\n\n"
        "| Model X | b |\n|---|---|\n| 1 | 2 |\n\n"
        "| | |\n|---|---|\n| 1 | 2 |\n\n"
        '| "Q" & <A> | c |\n|---|---|\n| 1 | 2 |'
    )

    assert re.findall(r'aria-label="([^"]*)"', html) == [
        "Table: Model X",
        "Table: Model X (2)",
        "Table: 3",
        "Table: &quot;Q&quot; &amp; &lt;A&gt;",
    ]
    assert html.count('tabindex="0"') == html.count("<table>") == 4
    assert html.count("<div") == html.count("</div>") == 4


def test_editors_cannot_make_regions_of_their_own():
    html = render_markdown('<div class="table-scroll" role="region" tabindex="0">x</div>')

    assert "<div" not in html and "&lt;div" in html


def test_block_quotes_keep_chinese_text():
    quote = "我们测试了五台混合逆变器，结果差异很大。"  # noqa: RUF001 - a Chinese comma

    html = render_markdown(f"> {quote}\n>\n> — 实验室负责人")

    assert f"<blockquote>\n<p>{quote}</p>" in html
    assert "实验室负责人" in html


def test_image_with_title_becomes_a_figure_with_caption_and_lazy_loading():
    html = render_markdown('![Bar chart of efficiency](/static/demo/x.svg "Weighted efficiency")')

    assert html.startswith("<figure><img")
    assert 'alt="Bar chart of efficiency"' in html
    assert 'loading="lazy"' in html
    assert "<figcaption>Weighted efficiency</figcaption>" in html


def test_caption_text_is_escaped():
    html = render_markdown('![x](/x.png "<script>alert(1)</script>")')

    assert "<script" not in html
    assert "&lt;script&gt;" in html


def test_plain_text_and_link_targets():
    source = "## Head\n\nSee **[the shootout](/reports/shootout/)** and `[code](/reports/no/)`."

    assert markdown_text(source) == "Head See the shootout and [code](/reports/no/)."
    assert link_targets(source) == ["/reports/shootout/"]


def test_email_fragments_style_wide_content_inline_and_keep_everything_else():
    teaser = render_markdown(
        "| Model | kW |\n|---|---:|\n| Aurel H8 | 8.0 |\n\n"
        '![Chart](/static/demo/x.svg "<pre onmouseover=alert(1)>")\n\nSee [this](https://e.example/).'
    )
    reply = render_comment("Log:\n\n```\nline\n```")

    html = email_fragment(teaser, base_url="https://site.example/reports/r/")

    assert '<table style="display:block;max-width:100%;overflow-x:auto;' in html
    assert "<div" not in html and "tabindex" not in html
    assert '<td class="align-right" style="padding:4px 8px;' in html
    assert (
        '<img src="https://site.example/static/demo/x.svg" alt="Chart"'
        ' title="&lt;pre onmouseover=alert(1)&gt;"' in html
    )
    assert 'style="max-width:100%;height:auto;"' in html
    assert "onmouseover=alert(1) style" not in html
    assert '<a href="https://e.example/" rel="noopener">this</a>' in html
    assert "<figcaption>&lt;pre onmouseover=alert(1)&gt;</figcaption>" in html
    reply_html = email_fragment(reply, base_url="https://site.example/reports/r/")
    assert reply_html.startswith('<p>Log:</p>\n<pre style="')
    assert "white-space:pre-wrap;" in reply_html
