"""Fenced code blocks of the READMEs, found by language, each with a stable key for skip lists."""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHELL_LANGUAGES = frozenset({"bash", "sh", "shell", "console"})
PYTHON_LANGUAGES = frozenset({"python", "py"})

# An opening fence (possibly indented under a list item), its language, the body, the matching closing fence.
_FENCE = re.compile(r"^(?P<indent> *)```(?P<language>[\w-]*)[^\n]*\n(?P<body>.*?)^(?P=indent)```[ \t]*$", re.M | re.S)


@dataclass(frozen=True)
class Snippet:
    """One fenced block: where it is, its language and its text (list indentation removed)."""

    path: Path
    line: int
    language: str
    code: str

    @property
    def first_line(self) -> str:
        return next(line.strip() for line in self.code.splitlines() if line.strip())

    @property
    def key(self) -> str:
        """`file: first line`: stays put when sections move, changes when the snippet does."""
        return f"{self.path.relative_to(ROOT).as_posix()}: {self.first_line}"

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT).as_posix()}:{self.line}"


def readmes() -> list[Path]:
    """README.md and every example's README.md."""
    return [ROOT / "README.md", *sorted((ROOT / "examples").glob("*/README.md"))]


def snippets(path: Path) -> list[Snippet]:
    text = path.read_text(encoding="utf-8")
    found = []
    for match in _FENCE.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        code = textwrap.dedent(match.group("body"))
        if code.strip():
            found.append(Snippet(path, line, match.group("language").lower(), code))
    return found


def all_snippets() -> list[Snippet]:
    return [snippet for path in readmes() for snippet in snippets(path)]
