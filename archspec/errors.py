"""The one error type archspec raises for anything wrong with a spec or a command.

Every stage of the pipeline reports problems as a :class:`SpecError` carrying the
source position and the path inside the spec, so the command line can print a
single ``file:line:col: spec.path: message`` line and exit with code 2.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

#: paths longer than this (blocks nested dozens deep) keep their start and end only
MAX_PATH_CHARS = 200
_SHORT_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def printable(text: str) -> str:
    """``text`` with every character Python does not call printable written as an escape.

    Names and messages come from spec and model files, which anyone may write. Control
    characters would break the one-line format or drive the terminal (``\\x1b[2J``
    clears it), and format characters (bidirectional overrides) reorder what it shows,
    so they are shown as escapes (``\\x1b``, ``\\u202e``), never obeyed.
    """
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else _escape(c) for c in text)


def exception_line(exc: BaseException, *, last: bool = False, limit: int = 300) -> str:
    """One line of a library's message for a one-line error: the first non-blank line
    (or the ``last``, where Keras puts the cause after its own preamble), at most
    ``limit`` characters, made printable; the exception's type when it says nothing."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = (lines[-1] if last else lines[0]) if lines else type(exc).__name__
    return printable(text[:limit])


def _escape(char: str) -> str:
    if char in _SHORT_ESCAPES:
        return _SHORT_ESCAPES[char]
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def short_path(path: str) -> str:
    """A spec path shortened in the middle when it is too long to read."""
    if len(path) <= MAX_PATH_CHARS:
        return path
    keep = MAX_PATH_CHARS // 2 - 2
    return f"{path[:keep]} ... {path[-keep:]}"


@dataclass(frozen=True, slots=True)
class Loc:
    """A position in a source file; line and column count from 1, as editors do."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


class SpecError(Exception):
    """A problem a person can fix in their spec, their command line or their files."""

    def __init__(
        self,
        message: str,
        *,
        loc: Loc | None = None,
        path: str | None = None,
        hint: str | None = None,
        file: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.loc = loc
        self.path = path
        self.hint = hint
        self.file = file if file is not None else (loc.file if loc else None)
        #: where the failing block was called from, shown after the hint
        self.context: str | None = None

    def located(self, loc: Loc | None, path: str | None) -> SpecError:
        """Fill in a position and path if this error does not have them yet."""
        if self.loc is None and loc is not None:
            self.loc = loc
            self.file = loc.file
        if self.path is None and path:
            self.path = path
        return self

    def format(self) -> str:
        parts = []
        if self.loc is not None:
            parts.append(str(self.loc))
        elif self.file:
            parts.append(self.file)
        if self.path:
            parts.append(short_path(self.path))
        text = self.message
        if self.hint:
            text = f"{text} ({self.hint})"
        if self.context:
            text = f"{text} ({self.context})"
        parts.append(text)
        # one line, always: a spec's own text (a key, a path) may hold line breaks
        return printable(": ".join(parts))

    def to_json(self) -> dict[str, object]:
        """The error as the ``error`` member of a command's ``--json`` document."""
        return {
            "file": printable(self.file) if self.file else None,
            "line": self.loc.line if self.loc else None,
            "col": self.loc.col if self.loc else None,
            "path": printable(self.path) if self.path else None,
            "message": printable(self.message),
            "hint": printable(self.hint) if self.hint else None,
            "text": self.format(),
        }

    def __str__(self) -> str:
        return self.format()


#: plain words YAML 1.1 read as booleans and YAML 1.2 (which archspec reads) reads as text
_YAML11_BOOLEANS = {"yes": True, "no": False, "on": True, "off": False, "y": True, "n": False}


def yaml11_hint(err: Mapping[str, Any]) -> str | None:
    """For a pydantic error on a YAML 1.1 boolean word (``use_bias: no``), what to write.

    Older YAML tools read ``no`` as false; archspec and editors read it as text, so the
    message alone ("Input should be a valid boolean, got 'no'") would puzzle.
    """
    given = err.get("input")
    if not str(err.get("type", "")).startswith("bool") or not isinstance(given, str):
        return None
    value = _YAML11_BOOLEANS.get(given.lower())
    if value is None:
        return None
    return f"YAML 1.2 reads `{given}` as text; write `{str(value).lower()}`"


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """A ``did you mean `x`?`` hint for a misspelt name, or None when nothing is close."""
    close = difflib.get_close_matches(word, sorted(set(choices)), n=1, cutoff=0.6)
    return f"did you mean `{close[0]}`?" if close else None
