"""The fenced code blocks of a markdown doc: what they are, which file of the example
plugin a block shows, and running a doc's python blocks.

A block shows a file when the last line of text before its fence is the file's path in
backticks and a colon (`` `pkg/mod.py`: ``, or `` `pkg/mod.py`, continued: `` for the next
piece of the same file). As a script, ``python doc_blocks.py DOC.md`` runs DOC's python
blocks in order in one namespace, in the current directory; tracebacks show the doc's lines.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

FENCE = re.compile(r"^```(\S*)\s*$")
FILE_LABEL = re.compile(r"^`([\w./-]+)`(?:, continued)?:$")


@dataclass(frozen=True)
class Block:
    """One fenced block: its language tag, the doc line of its first code line, its text
    (ending with a newline), and the file it shows, if any."""

    language: str
    line: int
    text: str
    path: str | None


def blocks(markdown: str) -> list[Block]:
    """Every fenced block of `markdown`, in order."""
    lines = markdown.splitlines()
    found = []
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        end = next((j for j in range(index + 1, len(lines)) if lines[j].startswith("```")), None)
        if end is None:
            raise ValueError(f"line {index + 1}: a code block is never closed")
        above = [line for line in lines[:index] if line.strip()]
        label = FILE_LABEL.match(above[-1]) if above else None
        text = "".join(line + "\n" for line in lines[index + 1:end])
        found.append(Block(opening.group(1), index + 2, text, label and label.group(1)))
        index = end + 1
    return found


def files(found: list[Block]) -> dict[str, str]:
    """The files the blocks show: pieces of one file joined by a blank line."""
    pieces: dict[str, list[str]] = {}
    for block in found:
        if block.path is not None:
            pieces.setdefault(block.path, []).append(block.text)
    return {path: "\n".join(texts) for path, texts in pieces.items()}


def run(doc: Path) -> int:
    """Run the python blocks of `doc` in order in one fresh namespace; return how many."""
    namespace: dict[str, object] = {"__name__": "__main__"}
    python = [b for b in blocks(doc.read_text()) if b.language == "python"]
    for block in python:
        code = compile("\n" * (block.line - 1) + block.text, str(doc), "exec")
        exec(code, namespace)  # noqa: S102 - running the docs is the point
    return len(python)


if __name__ == "__main__":
    print(f"ran {run(Path(sys.argv[1]))} python blocks")
