"""The text part of an email from an HTML fragment (a teaser, a comment).

A reader of the text part cannot click link words, so every link keeps its address after its
words, `the method <https://example.com/method>`, the way plain-text mail has long written
them. Paragraphs, list items, quotes and preformatted blocks keep their shape; the rest is
wrapped at 72 columns, never inside an address.
"""

import textwrap
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin

WIDTH = 72

_BLOCKS = {
    "address", "blockquote", "dd", "div", "dl", "dt", "figcaption", "figure", "h1", "h2", "h3",
    "h4", "h5", "h6", "hr", "li", "ol", "p", "pre", "section", "table", "tr", "ul",
}  # fmt: skip
_SKIPPED = {"script", "style", "iframe", "template"}


@dataclass
class _Block:
    prefix: str  # the list marker or quote marks on the first line
    indent: str  # what the following lines start with
    pre: bool = False
    item: bool = False  # list items and table rows follow each other without a blank line
    parts: list[str] = field(default_factory=list)


class _TextParser(HTMLParser):
    def __init__(self, *, base_url: str) -> None:
        super().__init__(convert_charrefs=True)
        self.base_url = base_url
        self.blocks: list[_Block] = []
        self.current: _Block | None = None
        self.quote_depth = 0
        self.lists: list[list[int]] = []  # one counter per open list; [-1] for a bullet list
        self.links: list[tuple[str, int]] = []  # (address, where its words start) per open <a>
        self.skipping = 0
        self.pre = 0
        self.cells = 0  # cells written in the current table row
        self.tables = 0

    # Blocks ---------------------------------------------------------------------------------

    def _margin(self) -> str:
        return "> " * self.quote_depth + "   " * max(len(self.lists) - 1, 0)

    def _open_block(self, marker: str = "") -> None:
        self._close_block()
        margin = self._margin()
        self.current = _Block(
            prefix=margin + marker,
            indent=margin + " " * len(marker),
            pre=self.pre > 0,
            item=bool(self.lists) or self.tables > 0,
        )

    def _close_block(self) -> None:
        if self.current is not None and "".join(self.current.parts).strip():
            self.blocks.append(self.current)
        self.current = None

    def _write(self, text: str) -> None:
        if self.current is None:
            self._open_block()
        assert self.current is not None
        self.current.parts.append(text)

    # Parser callbacks ---------------------------------------------------------------------

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self.skipping += 1
            return
        attributes = dict(attrs)
        if tag == "blockquote":
            self.quote_depth += 1
        elif tag == "table":
            self.tables += 1
        elif tag in {"ul", "ol"}:
            start = attributes.get("start") or "1"
            self.lists.append([int(start) if tag == "ol" and start.isdigit() else -1])
        if tag == "pre":
            self.pre += 1
        if tag == "li":
            counter = self.lists[-1] if self.lists else [-1]
            marker = "- " if counter[0] < 0 else f"{counter[0]}. "
            if counter[0] >= 0:
                counter[0] += 1
            self._open_block(marker)
        elif tag in _BLOCKS:
            self._close_block()
            self.cells = 0
        elif tag == "br":
            self._write("\n")
        elif tag == "a":
            href = (attributes.get("href") or "").strip()
            self.links.append((urljoin(self.base_url, href) if href else "", self._written()))
        elif tag == "img" and attributes.get("alt"):
            self._write(f"[{attributes['alt']}]")
        elif tag in {"td", "th"}:
            # A table row becomes one line, its cells apart: "Aurel H8 | 3.9 | 6.1".
            self._write(" | " if self.cells else " ")
            self.cells += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self.skipping = max(self.skipping - 1, 0)
            return
        if tag == "a" and self.links:
            address, start = self.links.pop()
            words = self._written_since(start)
            if address:
                shown = address.removeprefix("mailto:")
                if " ".join(words.split()) in {shown, address}:
                    self._replace_since(start, f"<{address}>")
                else:
                    self._write(f" <{address}>")
            return
        if tag == "blockquote":
            self._close_block()
            self.quote_depth = max(self.quote_depth - 1, 0)
        elif tag == "table":
            self._close_block()
            self.tables = max(self.tables - 1, 0)
        elif tag in {"ul", "ol"}:
            self._close_block()
            if self.lists:
                self.lists.pop()
        elif tag == "pre":
            self._close_block()
            self.pre = max(self.pre - 1, 0)
        elif tag in _BLOCKS:
            self._close_block()

    def handle_data(self, data: str) -> None:
        if self.skipping:
            return
        if self.current is None and not data.strip():
            return  # whitespace between blocks
        # Outside <pre>, a line break in the source is a space; <br> is the line break.
        self._write(data if self.pre else data.replace("\n", " "))

    # The words of a link, to compare with its address -------------------------------------

    def _written(self) -> int:
        return len(self.current.parts) if self.current is not None else 0

    def _written_since(self, start: int) -> str:
        return "".join(self.current.parts[start:]) if self.current is not None else ""

    def _replace_since(self, start: int, text: str) -> None:
        assert self.current is not None
        del self.current.parts[start:]
        self.current.parts.append(text)


def _format(block: _Block) -> str:
    text = "".join(block.parts)
    if block.pre:
        lines = text.strip("\n").split("\n")
        return "\n".join(
            (block.prefix if i == 0 else block.indent) + line for i, line in enumerate(lines)
        )
    lines = []
    for i, line in enumerate(text.split("\n")):
        words = " ".join(line.split())
        if not words:
            continue
        lines.extend(
            textwrap.wrap(
                words,
                width=WIDTH,
                initial_indent=block.prefix if i == 0 and not lines else block.indent,
                subsequent_indent=block.indent,
                # An address broken across lines is no longer an address.
                break_long_words=False,
                break_on_hyphens=False,
            )
        )
    return "\n".join(lines)


def html_to_text(html: str, *, base_url: str) -> str:
    """Plain text of an HTML fragment; relative link addresses are resolved from `base_url`."""
    parser = _TextParser(base_url=base_url)
    parser.feed(html)
    parser.close()
    parser._close_block()
    text = ""
    previous: _Block | None = None
    for block in parser.blocks:
        if previous is not None:
            text += "\n" if previous.item and block.item else "\n\n"
        text += _format(block)
        previous = block
    return text
