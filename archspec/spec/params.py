"""Typed parameters: ``int``, ``float``, ``bool``, ``str``, ``any`` and lists of them.

A list type is written ``int[3]`` (exactly three) or ``int[]`` (any length), and can
nest (``int[3][]``). Types are what let ``stages`` tell a per-stage list from a value
meant for every stage: ``filters: [64, 128]`` spreads over the stages when
``filters`` is an ``int``, and applies to every stage when it is an ``int[2]``.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

SCALARS = ("int", "float", "bool", "str", "any")
_TYPE_RE = re.compile(r"^(int|float|bool|str|any)((?:\[\d*\])*)$")


@dataclass(frozen=True, slots=True)
class ParamType:
    """A parameter type: a scalar name and the lengths of its list dimensions (None = any)."""

    scalar: str
    dims: tuple[int | None, ...] = ()

    @classmethod
    def parse(cls, text: str) -> ParamType:
        return _parse_type(text)

    @classmethod
    def _parse_uncached(cls, text: str) -> ParamType:
        match = _TYPE_RE.match(text.replace(" ", ""))
        if not match:
            raise ValueError(
                f"unknown type `{text}`; types are int, float, bool, str, any, and lists "
                "of them such as int[3] or int[]"
            )
        dims = tuple(int(d) if d else None for d in re.findall(r"\[(\d*)\]", match.group(2)))
        return cls(match.group(1), dims)

    @classmethod
    def infer(cls, value: Any) -> ParamType:
        """The type a literal default implies (``1`` is int, ``[1, 2]`` is int[])."""
        if isinstance(value, bool):
            return cls("bool")
        if isinstance(value, int):
            return cls("int")
        if isinstance(value, float):
            return cls("float")
        if isinstance(value, str):
            return cls("str")
        if isinstance(value, list) and value:
            inner = {cls.infer(v) for v in value}
            if len(inner) == 1:
                (t,) = inner
                return cls(t.scalar, (None, *t.dims))
            if {t.dims for t in inner} == {()} and {t.scalar for t in inner} <= {"int", "float"}:
                return cls("float", (None,))
            return cls("any", (None,))
        return cls("any")

    @property
    def element(self) -> ParamType:
        return ParamType(self.scalar, self.dims[1:])

    def __str__(self) -> str:
        return self.scalar + "".join(f"[{'' if d is None else d}]" for d in self.dims)

    def check(self, value: Any) -> Any:
        """Return ``value`` (ints widened to float where a float is wanted) or raise ValueError."""
        if self.dims:
            if not isinstance(value, list):
                raise ValueError(f"expected {self}, a list, got {_show(value)}")
            want = self.dims[0]
            if want is not None and len(value) != want:
                raise ValueError(f"expected {self}, a list of {want}, got {len(value)} items")
            inner = self.element
            return [inner.check(v) for v in value]
        if self.scalar == "any":
            return value
        if self.scalar == "int" and isinstance(value, int) and not isinstance(value, bool):
            return value
        if (
            self.scalar == "float"
            and isinstance(value, int | float)
            and not isinstance(value, bool)
        ):
            return float(value) if isinstance(value, int) else value
        if self.scalar == "bool" and isinstance(value, bool):
            return value
        if self.scalar == "str" and isinstance(value, str):
            return value
        raise ValueError(f"expected {self}, got {_show(value)}")

    def matches(self, value: Any) -> bool:
        try:
            self.check(value)
        except ValueError:
            return False
        return True


@functools.lru_cache(maxsize=256)
def _parse_type(text: str) -> ParamType:
    return ParamType._parse_uncached(text)


def _show(value: Any) -> str:
    text = repr(value) if not isinstance(value, str) else f'"{value}"'
    return text if len(text) <= 40 else text[:37] + "..."
