"""What changed between two versions of a body, paragraph by paragraph.

Paragraphs are the Markdown blocks separated by blank lines: a table, a list or a quote is
one block, so a change inside it shows the whole block as it was and as it is. Whitespace
inside a block does not count as a change (re-wrapping a paragraph changes nothing a
reader sees)."""

import difflib
from dataclasses import dataclass


@dataclass(frozen=True)
class Change:
    """One place where the body changed: the blocks removed there and those added (Markdown
    source; either list may be empty)."""

    removed: tuple[str, ...]
    added: tuple[str, ...]


def paragraphs(source: str) -> list[str]:
    blocks, current = [], []
    for line in source.replace("\r\n", "\n").split("\n"):
        if line.strip():
            current.append(line)
        elif current:
            blocks.append("\n".join(current))
            current = []
    if current:
        blocks.append("\n".join(current))
    return blocks


def _normalised(block: str) -> str:
    return " ".join(block.split())


def paragraph_changes(old: str, new: str) -> list[Change]:
    """The changed blocks from `old` to `new`, in the order of the text."""
    before, after = paragraphs(old), paragraphs(new)
    matcher = difflib.SequenceMatcher(
        a=[_normalised(block) for block in before],
        b=[_normalised(block) for block in after],
        autojunk=False,
    )
    return [
        Change(removed=tuple(before[i1:i2]), added=tuple(after[j1:j2]))
        for tag, i1, i2, j1, j2 in matcher.get_opcodes()
        if tag != "equal"
    ]
