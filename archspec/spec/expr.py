"""Safe arithmetic over spec parameters.

A string value that starts with ``$`` is an expression (``$filters``, ``$4 * width``,
``$filters[2]``); ``${...}`` embeds one in text (``conv${stage + 1}``) and ``$$`` is a
literal dollar. Expressions are parsed with :mod:`ast` and walked by a small
interpreter that knows numbers, strings, booleans, lists, arithmetic, comparisons,
``and``/``or``/``not``, ``x if c else y``, indexing and a short list of pure
functions. There is no attribute access, no other call, no comprehension, and
integers and sequences are bounded, so an expression can neither run code nor
exhaust memory.
"""

from __future__ import annotations

import ast
import functools
import math
import operator
import re
from collections.abc import Callable, Mapping
from typing import Any

from archspec.errors import did_you_mean

MAX_EXPR_CHARS = 500
MAX_INT_BITS = 64
MAX_SEQUENCE = 10_000
MAX_DEPTH = 50


class ExprError(Exception):
    """An expression that cannot be evaluated; the caller adds the position."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


def _check_number(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise ExprError(f"integer result exceeds {MAX_INT_BITS} bits")
    if isinstance(value, float) and not math.isfinite(value):
        raise ExprError("result is not a finite number")
    if isinstance(value, list | str) and len(value) > MAX_SEQUENCE:
        raise ExprError(f"result is longer than {MAX_SEQUENCE} items")
    return value


def _pow(a: Any, b: Any) -> Any:
    if isinstance(b, int) and abs(b) > 64:
        raise ExprError("exponent is too large (at most 64)")
    if isinstance(a, int | float) and abs(a) > 2**32 and b > 1:
        raise ExprError("base is too large for a power")
    return operator.pow(a, b)


def _div(a: Any, b: Any) -> Any:
    if b == 0:
        raise ExprError("division by zero")
    return a / b


def _floordiv(a: Any, b: Any) -> Any:
    if b == 0:
        raise ExprError("division by zero")
    return a // b


def _mod(a: Any, b: Any) -> Any:
    if b == 0:
        raise ExprError("division by zero")
    return a % b


def _mul(a: Any, b: Any) -> Any:
    if isinstance(a, list | str) or isinstance(b, list | str):
        n = b if isinstance(a, list | str) else a
        if not isinstance(n, int) or isinstance(n, bool):
            raise ExprError("a list or text can only be repeated a whole number of times")
        if n * len(a if isinstance(a, list | str) else b) > MAX_SEQUENCE:
            raise ExprError(f"result is longer than {MAX_SEQUENCE} items")
    return a * b


_BINOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: _mul,
    ast.Div: _div,
    ast.FloorDiv: _floordiv,
    ast.Mod: _mod,
    ast.Pow: _pow,
}
_SYMBOLS = {
    ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//",
    ast.Mod: "%", ast.Pow: "**",
}  # fmt: skip
_CMPOPS: dict[type, Callable[[Any, Any], bool]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
}


def _round(x: Any, n: int | None = None) -> Any:
    return round(x) if n is None else round(x, n)


def _make_divisible(value: float, divisor: int = 8) -> int:
    """Round a channel count to a multiple of ``divisor`` (the MobileNet rule)."""
    new = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return new + divisor if new < 0.9 * value else new


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "min": min,
    "max": max,
    "abs": abs,
    "int": int,
    "float": float,
    "round": _round,
    "len": len,
    "sum": sum,
    "ceil": math.ceil,
    "floor": math.floor,
    "make_divisible": _make_divisible,
}


class _Evaluator:
    def __init__(self, names: Mapping[str, Any]) -> None:
        self.names = names

    def eval(self, node: ast.AST, depth: int = 0) -> Any:
        if depth > MAX_DEPTH:
            raise ExprError("expression is nested too deeply")
        method = getattr(self, f"_{type(node).__name__}", None)
        if method is None:
            raise ExprError(f"`{_describe(node)}` is not allowed in an expression")
        return _check_number(method(node, depth + 1))

    def _Expression(self, node: ast.Expression, d: int) -> Any:
        return self.eval(node.body, d)

    def _Constant(self, node: ast.Constant, d: int) -> Any:
        if node.value is None or isinstance(node.value, bool | int | float | str):
            return node.value
        raise ExprError(f"constant {node.value!r} is not allowed")

    def _Name(self, node: ast.Name, d: int) -> Any:
        if node.id in self.names:
            return self.names[node.id]
        if node.id in ("true", "True"):
            return True
        if node.id in ("false", "False"):
            return False
        if node.id in ("null", "None"):
            return None
        raise ExprError(f"unknown name `{node.id}`", did_you_mean(node.id, self.names))

    def _List(self, node: ast.List, d: int) -> list[Any]:
        return [self.eval(e, d) for e in node.elts]

    _Tuple = _List

    def _BinOp(self, node: ast.BinOp, d: int) -> Any:
        op = _BINOPS.get(type(node.op))
        if op is None:
            raise ExprError(f"operator `{_describe(node.op)}` is not allowed")
        left, right = self.eval(node.left, d), self.eval(node.right, d)
        try:
            return op(left, right)
        except ExprError:
            raise
        except (TypeError, ValueError, OverflowError):
            symbol = _SYMBOLS.get(type(node.op), type(node.op).__name__)
            raise ExprError(
                f"cannot apply `{symbol}` to {_type_name(left)} ({_short(left)}) and "
                f"{_type_name(right)} ({_short(right)})"
            ) from None

    def _UnaryOp(self, node: ast.UnaryOp, d: int) -> Any:
        value = self.eval(node.operand, d)
        if isinstance(node.op, ast.Not):
            return not value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ExprError(f"cannot negate {_type_name(value)}")
        return -value if isinstance(node.op, ast.USub) else +value

    def _BoolOp(self, node: ast.BoolOp, d: int) -> Any:
        if isinstance(node.op, ast.And):
            result: Any = True
            for v in node.values:
                result = self.eval(v, d)
                if not result:
                    return result
            return result
        result = False
        for v in node.values:
            result = self.eval(v, d)
            if result:
                return result
        return result

    def _Compare(self, node: ast.Compare, d: int) -> bool:
        left = self.eval(node.left, d)
        for op, comp in zip(node.ops, node.comparators, strict=True):
            right = self.eval(comp, d)
            try:
                if not _CMPOPS[type(op)](left, right):
                    return False
            except TypeError:
                raise ExprError(
                    f"cannot compare {_type_name(left)} with {_type_name(right)}"
                ) from None
            left = right
        return True

    def _IfExp(self, node: ast.IfExp, d: int) -> Any:
        return self.eval(node.body if self.eval(node.test, d) else node.orelse, d)

    def _Subscript(self, node: ast.Subscript, d: int) -> Any:
        value = self.eval(node.value, d)
        if not isinstance(value, list | str):
            raise ExprError(f"cannot index {_type_name(value)}")
        if isinstance(node.slice, ast.Slice):
            parts = [
                None if p is None else self.eval(p, d)
                for p in (node.slice.lower, node.slice.upper, node.slice.step)
            ]
            if any(
                p is not None and (not isinstance(p, int) or isinstance(p, bool)) for p in parts
            ):
                raise ExprError("slice bounds must be whole numbers")
            if parts[2] == 0:
                raise ExprError("slice step cannot be zero")
            return value[slice(*parts)]
        index = self.eval(node.slice, d)
        if not isinstance(index, int) or isinstance(index, bool):
            raise ExprError(f"index must be a whole number, not {_type_name(index)}")
        if not -len(value) <= index < len(value):
            raise ExprError(f"index {index} is out of range for a list of {len(value)}")
        return value[index]

    def _Call(self, node: ast.Call, d: int) -> Any:
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            name = node.func.id if isinstance(node.func, ast.Name) else _describe(node.func)
            raise ExprError(
                f"`{name}` is not a function expressions may call; they may call "
                + ", ".join(f"`{f}`" for f in FUNCTIONS),
                did_you_mean(name, FUNCTIONS),
            )
        if node.keywords:
            raise ExprError("functions in expressions take positional arguments only")
        args = [self.eval(a, d) for a in node.args]
        try:
            return FUNCTIONS[node.func.id](*args)
        except ExprError:
            raise
        except (TypeError, ValueError, OverflowError) as exc:
            raise ExprError(f"`{node.func.id}` failed: {exc}") from None


def _describe(node: ast.AST) -> str:
    try:
        return ast.unparse(node) or type(node).__name__
    except Exception:  # noqa: BLE001 - only used to word an error message
        return type(node).__name__


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 30 else text[:27] + "..."


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "a whole number"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "null"
    return type(value).__name__


def evaluate(source: str, names: Mapping[str, Any]) -> Any:
    """Evaluate one expression (without its leading ``$``) over ``names``."""
    text = source.strip()
    if not text:
        raise ExprError("empty expression after `$`")
    if len(text) > MAX_EXPR_CHARS:
        raise ExprError(f"expression is longer than {MAX_EXPR_CHARS} characters")
    return _Evaluator(names).eval(_parse(text))


@functools.lru_cache(maxsize=4096)
def _parse(text: str) -> ast.Expression:
    # specs repeat the same few expressions in every block call; parsing dominates otherwise
    try:
        return ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise ExprError(f"cannot parse expression `{text}`: {exc.msg}") from None


_EMBED = re.compile(r"\$\$|\$\{([^{}]*)\}")


def is_expression(value: Any) -> bool:
    """True for strings that archspec evaluates rather than takes literally."""
    return isinstance(value, str) and "$" in value and value != "$$"


def resolve(value: Any, names: Mapping[str, Any]) -> Any:
    """Resolve ``$`` expressions in a string value; any other value is returned as is.

    ``"$expr"`` gives the expression's value with its type; ``"a${expr}b"`` gives text;
    ``"${expr}"`` alone also keeps the value's type.
    """
    if not isinstance(value, str) or "$" not in value:
        return value
    if value.startswith("$") and not value.startswith(("${", "$$")):
        return evaluate(value[1:], names)
    whole = re.fullmatch(r"\$\{([^{}]*)\}", value)
    if whole:
        return evaluate(whole.group(1), names)

    def embed(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        result = evaluate(match.group(1), names)
        if isinstance(result, list | dict):
            raise ExprError("only numbers, text and booleans can be embedded in text")
        return str(result).lower() if isinstance(result, bool) else str(result)

    out = _EMBED.sub(embed, value)
    rest = _EMBED.sub("", value)
    if "$" in rest:
        raise ExprError(
            f"stray `$` in `{value}`",
            "write `$name` for a whole value, `${expr}` inside text, `$$` for a literal $",
        )
    return out


def resolve_deep(value: Any, names: Mapping[str, Any]) -> Any:
    """:func:`resolve` applied through lists and mappings."""
    if isinstance(value, list):
        return [resolve_deep(v, names) for v in value]
    if isinstance(value, dict):
        return {k: resolve_deep(v, names) for k, v in value.items()}
    return resolve(value, names)
