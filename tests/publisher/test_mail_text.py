"""Text parts made from HTML keep what a reader of plain text needs: every link's address."""

from publisher.mail.text import html_to_text

BASE = "https://research.example/reports/heat-pumps/"


def test_a_link_keeps_its_target_after_its_words():
    html = '<p>We used <a href="https://m.example/x">the method</a>.</p>'

    text = html_to_text(html, base_url=BASE)

    assert text == "We used the method <https://m.example/x>."


def test_relative_links_become_absolute_from_the_base_address():
    html = '<p><a href="/methods/">methods</a>, <a href="#findings">findings</a></p>'

    assert html_to_text(html, base_url=BASE) == (
        "methods <https://research.example/methods/>, "
        "findings\n<https://research.example/reports/heat-pumps/#findings>"
    )


def test_a_link_whose_words_are_its_address_is_written_once():
    html = (
        '<p>See <a href="https://m.example/">https://m.example/</a>'
        ' or <a href="mailto:ed@m.example">ed@m.example</a></p>'
    )

    assert html_to_text(html, base_url=BASE) == "See <https://m.example/> or <mailto:ed@m.example>"


def test_entities_become_characters_and_paragraphs_lists_quotes_keep_their_shape():
    html = (
        "<p>5 V &amp; 3 A, so &lt;15 W.</p><ul><li>one</li><li>two</li></ul>"
        '<ol start="3"><li>three</li></ol><blockquote><p>quoted</p></blockquote>'
        "<pre><code>x = 1\n  y = 2\n</code></pre>"
    )

    assert html_to_text(html, base_url=BASE) == (
        "5 V & 3 A, so <15 W.\n\n- one\n- two\n3. three\n\n> quoted\n\nx = 1\n  y = 2"
    )


def test_long_lines_wrap_at_72_columns_but_never_inside_an_address():
    address = "https://m.example/" + "a" * 80
    html = f"<p>{'word ' * 30}<a href='{address}'>link</a> end</p>"

    lines = html_to_text(html, base_url=BASE).split("\n")

    assert f"<{address}>" in lines
    assert all(len(line) <= 72 for line in lines if address not in line)


def test_a_table_row_is_one_line_and_a_source_line_break_is_a_space():
    html = (
        "<p>Eight\nmodels<br>tested.</p><table>\n<thead>\n<tr>\n<th>Model</th>\n<th>SCOP</th>\n"
        "</tr>\n</thead>\n<tbody>\n<tr>\n<td>Aurel H8</td>\n<td>3.9</td>\n</tr>\n</tbody>\n</table>"
    )

    assert html_to_text(html, base_url=BASE) == (
        "Eight models\ntested.\n\nModel | SCOP\nAurel H8 | 3.9"
    )
