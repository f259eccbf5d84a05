"""Safe arithmetic over spec parameters.

A string value that starts with ``$`` is an expression (``$filters``, ``$4 * width``,
``$filters[2]``); ``${...}`` embeds one in text (``conv${stage + 1}``) and ``$$`` is a
literal dollar. Expressions are parsed with :mod:`ast` and walked by a small
interpreter that knows numbers, strings, booleans, lists, ``+ - * / // % **``,
comparisons, ``and``/``or``/``not``, ``x if c else y``, indexing, slicing, list
comprehensions with one ``for`` and a short list of pure functions. There is no
attribute access and no other call. Evaluation is bounded to :data:`MAX_STEPS` steps.

Every value is bounded before it is built: integers to :data:`MAX_INT_BITS` bits,
text to :data:`MAX_SEQUENCE` characters, lists to :data:`MAX_SEQUENCE` items counting
the items of nested lists (``[[0] * 100] * 100`` holds 10,100) and to
:data:`MAX_NESTING` levels. The size of a repetition or concatenation is worked out
from its operands first, so an expression can neither run code nor exhaust memory or
time, and whatever goes wrong is an :class:`ExprError`.
"""

from __future__ import annotations

import ast
import functools
import math
import operator
import re
import reprlib
from collections import ChainMap
from collections.abc import Callable, Mapping
from typing import Any

from archspec.errors import did_you_mean

MAX_EXPR_CHARS = 500
MAX_INT_BITS = 64
#: most items in a list (those of nested lists included) and characters in text
MAX_SEQUENCE = 10_000
#: most levels of lists within lists an expression may build
MAX_NESTING = 32
#: deepest expression syntax tree walked
MAX_DEPTH = 50
#: syntax-tree nodes one expression may evaluate, comprehensions' repeats included:
#: `[sum([b for b in x]) for a in x]` over 10,000 items is refused, not run 10^8 times
MAX_STEPS = 200_000
#: longest text ``int`` and ``float`` convert (a 64-bit number needs at most 20 digits)
MAX_NUMBER_TEXT = 100
#: most decimal places ``round`` takes (either way); 64-bit numbers have at most 20 digits
MAX_ROUND_DIGITS = 20


class ExprError(Exception):
    """An expression that cannot be evaluated; the caller adds the position."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


def int_fits(value: int) -> bool:
    """True when ``value`` is within the :data:`MAX_INT_BITS`-bit range archspec accepts."""
    return value.bit_length() <= MAX_INT_BITS


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float)


def _checked(value: Any) -> Any:
    """``value`` when it is within bounds and of a kind expressions know; else ExprError."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        if value.bit_length() > MAX_INT_BITS:  # int_fits, inlined: this runs for every node
            raise ExprError(f"integer result exceeds {MAX_INT_BITS} bits")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ExprError("result is not a finite number")
    elif isinstance(value, list | str):
        if len(value) > MAX_SEQUENCE:
            raise ExprError(f"result is longer than {MAX_SEQUENCE:,} items")
    elif isinstance(value, complex):  # `(-8) ** 0.5`
        raise ExprError("the result is a complex number; expressions work with real numbers")
    return value


# --------------------------------------------------------------------------- sizes

#: id of a list or mapping -> (items, levels, the object itself, so that its id stays its own)
_Sizes = dict[int, tuple[int, int, Any]]


def _measure(value: Any, memo: _Sizes) -> tuple[int, int]:
    """Items and levels of nesting in ``value``: every item at every level, a list that
    appears twice counted twice. Each distinct list is walked once, so the cost is that of
    the memory the value holds, not of its expanded size. Scalars are (0, 0)."""
    if not isinstance(value, list | dict):
        return 0, 0
    pending: list[tuple[Any, bool]] = [(value, False)]
    while pending:
        node, children_done = pending.pop()
        key = id(node)
        if not children_done:
            if key in memo:
                continue
            memo[key] = (-1, -1, node)  # open: met again below it, it contains itself
            pending.append((node, True))
            pending.extend(
                (child, False)
                for child in _children(node)
                if isinstance(child, list | dict) and id(child) not in memo
            )
            continue
        items, levels = len(node), 0
        for child in _children(node):
            if isinstance(child, list | dict):
                child_items, child_levels, _ = memo[id(child)]
                if child_items < 0:
                    raise ExprError("a list contains itself")
                items += child_items
                levels = max(levels, child_levels)
        memo[key] = (items, levels + 1, node)
    items, levels, _ = memo[id(value)]
    return items, levels


def _children(node: list[Any] | dict[Any, Any]) -> Any:
    return node.values() if isinstance(node, dict) else node


def _within_bounds(items: int, levels: int) -> None:
    if items > MAX_SEQUENCE:
        raise ExprError(
            f"result would be longer than {MAX_SEQUENCE:,} items (counting those of nested lists)"
        )
    if levels > MAX_NESTING:
        raise ExprError(f"result would nest lists deeper than {MAX_NESTING} levels")


# --------------------------------------------------------------------------- operators


def _pow(a: Any, b: Any) -> Any:
    if isinstance(b, int) and abs(b) > 64:
        raise ExprError("exponent is too large (at most 64)")
    if isinstance(a, int | float) and abs(a) > 2**32 and b > 1:
        raise ExprError("base is too large for a power")
    return operator.pow(a, b)


def _div(a: Any, b: Any) -> Any:
    if _is_number(b) and b == 0:
        raise ExprError("division by zero")
    return a / b


def _floordiv(a: Any, b: Any) -> Any:
    if _is_number(b) and b == 0:
        raise ExprError("division by zero")
    return a // b


def _mod(a: Any, b: Any) -> Any:
    if not (_is_number(a) and _is_number(b)):
        # on text, `%` would be printf-style formatting, which can build any length of text
        raise ExprError(
            f"`%` is the remainder of a division and takes numbers, not {_type_name(a)} "
            f"and {_type_name(b)}"
        )
    if b == 0:
        raise ExprError("division by zero")
    return a % b


_BINOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: _div,
    ast.FloorDiv: _floordiv,
    ast.Mod: _mod,
    ast.Pow: _pow,
}
_SYMBOLS = {
    ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//",
    ast.Mod: "%", ast.Pow: "**",
}  # fmt: skip
_UNARY: dict[type, Callable[[Any], Any]] = {ast.USub: operator.neg, ast.UAdd: operator.pos}
#: operators Python has and expressions do not, for messages
_REFUSED_SYMBOLS = {
    ast.LShift: "<<", ast.RShift: ">>", ast.BitAnd: "&", ast.BitOr: "|", ast.BitXor: "^",
    ast.MatMult: "@", ast.Invert: "~",
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


def _arithmetic_reason(exc: Exception) -> str:
    if isinstance(exc, OverflowError):
        return "the result is too large"
    return str(exc)


# --------------------------------------------------------------------------- functions


def _round(x: Any, n: Any = None) -> Any:
    if n is None:
        return round(x)
    if not isinstance(n, int) or isinstance(n, bool) or abs(n) > MAX_ROUND_DIGITS:
        raise ExprError(
            f"`round` takes a whole number of digits from -{MAX_ROUND_DIGITS} to {MAX_ROUND_DIGITS}"
        )
    return round(x, n)


def _number_text(value: Any, name: str) -> None:
    if isinstance(value, str) and len(value.strip()) > MAX_NUMBER_TEXT:
        raise ExprError(f"`{name}`: text longer than {MAX_NUMBER_TEXT} characters is not a number")


def _int(value: Any, *base: Any) -> int:
    _number_text(value, "int")
    return int(value, *base)


def _float(value: Any) -> float:
    _number_text(value, "float")
    return float(value)


def _sum(values: Any, start: Any = 0) -> Any:
    if (
        not isinstance(values, list)
        or not all(_is_number(v) for v in values)
        or not _is_number(start)
    ):
        raise ExprError("`sum` adds a list of numbers")
    return sum(values, start)


def _make_divisible(value: float, divisor: int = 8) -> int:
    """Round a channel count to a multiple of ``divisor`` (the MobileNet rule)."""
    new = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return new + divisor if new < 0.9 * value else new


def _fixed(value: Any, digits: Any) -> str:
    """A number as text with ``digits`` decimals: `fixed(1, 2)` is "1.00", as model names
    such as `mobilenet_1.00_224` spell a width multiplier."""
    if not _is_number(value) or isinstance(digits, bool) or not isinstance(digits, int):
        raise ExprError("`fixed` takes a number and a whole number of decimals")
    if not 0 <= digits <= 20:
        raise ExprError(f"`fixed` takes 0 to 20 decimals, got {digits}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ExprError(f"`fixed` needs a finite number, got {value}")
    return f"{value:.{digits}f}"


def _str(value: Any) -> str:
    """A number, boolean or text as text (`str(index - 1)` for a `str` parameter)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    raise ExprError(f"`str` takes a number, a boolean or text, not {_type_name(value)}")


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "min": min,
    "max": max,
    "abs": abs,
    "int": _int,
    "float": _float,
    "round": _round,
    "len": len,
    "sum": _sum,
    "ceil": math.ceil,
    "floor": math.floor,
    "make_divisible": _make_divisible,
    "fixed": _fixed,
    "str": _str,
}


# --------------------------------------------------------------------------- evaluator


class _Evaluator:
    """Walks one expression's syntax tree; a node kind without a method is not allowed."""

    def __init__(self, names: Mapping[str, Any]) -> None:
        self.names = names
        self.sizes: _Sizes = {}
        self.steps = 0

    def eval(self, node: ast.AST, depth: int = 0) -> Any:
        if depth > MAX_DEPTH:
            raise ExprError("expression is nested too deeply")
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise ExprError(f"expression takes more than {MAX_STEPS:,} steps to evaluate")
        method = getattr(self, f"_{type(node).__name__}", None)
        if method is None:
            raise ExprError(f"`{_describe(node)}` is not allowed in an expression")
        return _checked(method(node, depth + 1))

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
        values: list[Any] = []
        size = [0, 0]
        for element in node.elts:
            self._append(values, self.eval(element, d), size)
        return values

    def _append(self, values: list[Any], value: Any, size: list[int]) -> None:
        """Add ``value`` to a list being built, whose items and levels so far are ``size``;
        refused as soon as the list would pass the bounds, before it grows further."""
        value_items, value_levels = _measure(value, self.sizes)
        size[0] += 1 + value_items
        size[1] = max(size[1], value_levels)
        _within_bounds(size[0], size[1] + 1)
        values.append(value)

    def _ListComp(self, node: ast.ListComp, d: int) -> list[Any]:
        """`[ceil(depth * n) for n in repeats]`: one `for` over a list, optional `if`s."""
        if len(node.generators) != 1:
            raise ExprError("a list comprehension takes one `for`")
        (loop,) = node.generators
        if not isinstance(loop.target, ast.Name):
            raise ExprError("a list comprehension names one item: `[... for x in values]`")
        items = self.eval(loop.iter, d)
        if not isinstance(items, list):
            raise ExprError(f"a list comprehension goes over a list, not {_type_name(items)}")
        saved, values, size = self.names, [], [0, 0]
        try:
            for item in items:
                self.names = ChainMap({loop.target.id: item}, saved)
                keep = True
                for condition in loop.ifs:
                    test = self.eval(condition, d)
                    if not isinstance(test, bool):
                        raise ExprError(
                            f"a comprehension's `if` needs true or false, got {_type_name(test)}"
                        )
                    keep = keep and test
                if keep:
                    self._append(values, self.eval(node.elt, d), size)
        finally:
            self.names = saved
        return values

    def _Tuple(self, node: ast.Tuple, d: int) -> Any:
        raise ExprError(
            f"`{_describe(node)}` is not allowed in an expression; write a list as `[a, b]`"
        )

    def _BinOp(self, node: ast.BinOp, d: int) -> Any:
        op = _BINOPS.get(type(node.op))
        if op is None:
            raise ExprError(f"operator `{_REFUSED_SYMBOLS.get(type(node.op), '?')}` is not allowed")
        left, right = self.eval(node.left, d), self.eval(node.right, d)
        symbol = _SYMBOLS[type(node.op)]
        self._bound_result(symbol, left, right)
        try:
            return op(left, right)
        except ExprError:
            raise
        except TypeError:
            raise ExprError(
                f"cannot apply `{symbol}` to {_type_name(left)} ({_short(left)}) and "
                f"{_type_name(right)} ({_short(right)})"
            ) from None
        except (ArithmeticError, ValueError) as exc:
            raise ExprError(
                f"`{_short(left)} {symbol} {_short(right)}` cannot be computed: "
                f"{_arithmetic_reason(exc)}"
            ) from None

    def _bound_result(self, symbol: str, left: Any, right: Any) -> None:
        """Refuse a concatenation or repetition whose result would pass the bounds, unbuilt."""
        if symbol == "+":
            if isinstance(left, str) and isinstance(right, str):
                _within_bounds(len(left) + len(right), 0)
            elif isinstance(left, list) and isinstance(right, list):
                (li, ll), (ri, rl) = _measure(left, self.sizes), _measure(right, self.sizes)
                _within_bounds(li + ri, max(ll, rl))
        elif symbol == "*" and (isinstance(left, list | str) or isinstance(right, list | str)):
            seq, times = (left, right) if isinstance(left, list | str) else (right, left)
            if not isinstance(times, int) or isinstance(times, bool):
                raise ExprError("a list or text can only be repeated a whole number of times")
            items, levels = (len(seq), 0) if isinstance(seq, str) else _measure(seq, self.sizes)
            _within_bounds(items * max(times, 0), levels)

    def _UnaryOp(self, node: ast.UnaryOp, d: int) -> Any:
        if isinstance(node.op, ast.Not):
            return not self.eval(node.operand, d)
        op = _UNARY.get(type(node.op))
        if op is None:
            raise ExprError(f"operator `{_REFUSED_SYMBOLS.get(type(node.op), '?')}` is not allowed")
        value = self.eval(node.operand, d)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ExprError(f"cannot negate {_type_name(value)}")
        return op(value)

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
            compare = _CMPOPS.get(type(op))
            if compare is None:
                raise ExprError(f"`{_describe(node)}`: `is` is not allowed; compare with `==`")
            right = self.eval(comp, d)
            try:
                if not compare(left, right):
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
        except TypeError as exc:
            raise ExprError(f"`{node.func.id}` failed: {exc}") from None
        except (ArithmeticError, ValueError) as exc:
            raise ExprError(f"`{node.func.id}` failed: {_arithmetic_reason(exc)}") from None


def _describe(node: ast.AST) -> str:
    try:
        return ast.unparse(node) or type(node).__name__
    except Exception:  # noqa: BLE001 - only used to word an error message
        return type(node).__name__


_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = 30


def _short(value: Any) -> str:
    text = _REPR.repr(value)  # bounded work, whatever the size of the value
    return text if len(text) <= 30 else text[:27] + "..."


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "a whole number"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, complex):
        return "a complex number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
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
    try:
        return _Evaluator(names).eval(_parse(text))
    except RecursionError:  # comparing values nested deeper than Python recurses
        raise ExprError("the values in this expression are nested too deeply") from None


@functools.lru_cache(maxsize=4096)
def _parse(text: str) -> ast.Expression:
    # specs repeat the same few expressions in every block call; parsing dominates otherwise
    try:
        return ast.parse(text, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        reason = exc.msg if isinstance(exc, SyntaxError) else "it is nested too deeply"
        raise ExprError(f"cannot parse expression `{text}`: {reason}") from None


_EMBED = re.compile(r"\$\$|\$\{([^{}]*)\}")


def is_expression(value: Any) -> bool:
    """True for strings that archspec evaluates rather than takes literally."""
    return isinstance(value, str) and "$" in value and value != "$$"


def resolve(value: Any, names: Mapping[str, Any]) -> Any:
    """Resolve ``$`` expressions in a string value; any other value is returned as is.

    ``"$expr"`` gives the expression's value with its type; ``"a${expr}b"`` gives text
    of at most :data:`MAX_SEQUENCE` characters; ``"${expr}"`` alone also keeps the
    value's type.
    """
    if not isinstance(value, str) or "$" not in value:
        return value
    if value.startswith("$") and not value.startswith(("${", "$$")):
        return evaluate(value[1:], names)
    whole = re.fullmatch(r"\$\{([^{}]*)\}", value)
    if whole:
        return evaluate(whole.group(1), names)
    return _embed(value, names)


def _embed(value: str, names: Mapping[str, Any]) -> str:
    """Text with each ``${expr}`` replaced by its value, its length counted as it grows."""
    pieces: list[str] = []
    length = 0
    done = 0
    for match in _EMBED.finditer(value):
        literal = value[done : match.start()]
        if match.group(0) == "$$":
            piece = "$"
        else:
            result = evaluate(match.group(1), names)
            if isinstance(result, list | dict):
                raise ExprError("only numbers, text and booleans can be embedded in text")
            piece = str(result).lower() if isinstance(result, bool) else str(result)
        length += len(literal) + len(piece)
        if length > MAX_SEQUENCE:
            raise ExprError(f"the text would be longer than {MAX_SEQUENCE:,} characters")
        pieces += (literal, piece)
        done = match.end()
    pieces.append(value[done:])
    if "$" in _EMBED.sub("", value):
        raise ExprError(
            f"stray `$` in `{value}`",
            "write `$name` for a whole value, `${expr}` inside text, `$$` for a literal $",
        )
    if length + len(pieces[-1]) > MAX_SEQUENCE:
        raise ExprError(f"the text would be longer than {MAX_SEQUENCE:,} characters")
    return "".join(pieces)


def resolve_deep(value: Any, names: Mapping[str, Any]) -> Any:
    """:func:`resolve` applied through lists and mappings.

    Each expression's value is bounded on its own; within one list or mapping, the lists
    the expressions give are bounded together too (to :data:`MAX_SEQUENCE` items), so a
    thousand ``$big`` entries cannot stand for ten million items.
    """
    if not isinstance(value, list | dict):
        return resolve(value, names)
    tally = _Tally()
    return _resolve_within(value, names, tally)


class _Tally:
    """Items of the lists the expressions inside one value give, counted together."""

    def __init__(self) -> None:
        self.items = 0
        self.sizes: _Sizes = {}

    def add(self, result: Any) -> Any:
        items, _ = _measure(result, self.sizes)
        self.items += items
        if self.items > MAX_SEQUENCE:
            raise ExprError(
                f"the expressions in this value give more than {MAX_SEQUENCE:,} list items in all"
            )
        return result


def _resolve_within(value: Any, names: Mapping[str, Any], tally: _Tally) -> Any:
    if isinstance(value, list):
        return [_resolve_within(v, names, tally) for v in value]
    if isinstance(value, dict):
        return {k: _resolve_within(v, names, tally) for k, v in value.items()}
    if isinstance(value, str) and "$" in value:
        return tally.add(resolve(value, names))
    return value
