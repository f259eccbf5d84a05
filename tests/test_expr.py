"""The expression sandbox: arithmetic that works, and everything else refused."""

from __future__ import annotations

import math
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archspec.spec.expr import ExprError, _Evaluator, evaluate, resolve, resolve_deep

NAMES = {"width": 64, "filters": [64, 128, 256], "ratio": 0.5, "on": True, "act": "relu"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$width", 64),
        ("$4 * width", 256),
        ("$filters[2]", 256),
        ("$filters[-1] // 2", 128),
        ("$width * ratio", 32.0),
        ("$max(filters) + min(3, 4)", 259),
        ("$int(width * 1.5)", 96),
        ("$width if on else 0", 64),
        ("$not on", False),
        ("$[width, width * 2]", [64, 128]),
        ("$filters[:2]", [64, 128]),
        ("$width > 32 and act == 'relu'", True),
        ("$make_divisible(width * 0.75)", 48),
        ("conv${width // 32}", "conv2"),
        ("${width}", 64),
        ("price: $$5", "price: $5"),
        ("${on}_x", "true_x"),
        ("plain text", "plain text"),
    ],
)
def test_values(text, expected):
    assert resolve(text, NAMES) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("$widht", "unknown name `widht`"),
        ("$width / 0", "division by zero"),
        ("$width % 0", "division by zero"),
        ("$filters[3]", "out of range"),
        ("$filters['a']", "index must be a whole number"),
        ("$width + act", "cannot apply"),
        ("$width[0]", "cannot index"),
        ("$2 ** 1000", "exponent is too large"),
        ("$(2 ** 60) * (2 ** 60)", "exceeds 64 bits"),
        ("$[1] * 100000", "longer than"),
        ("$open('x')", "not a function expressions may call"),
        ("$__import__('os')", "not a function expressions may call"),
        ("$width.bit_length()", "not a function expressions may call"),
        ("$width.real", "not allowed"),
        ("$().__class__.__bases__", "not allowed"),
        ("$(x for x in filters)", "not allowed"),
        ("$lambda: 1", "not allowed"),
        ("$(x := 3)", "not allowed"),
        ("$max(filters, key=len)", "positional arguments only"),
        ("$", "empty expression"),
        ("$width +", "cannot parse"),
        ("a $ b", "stray `$`"),
        ("${filters}x", "only numbers, text and booleans"),
    ],
)
def test_refusals(text, message):
    with pytest.raises(ExprError) as info:
        resolve(text, NAMES)
    assert message in info.value.message


def test_unknown_name_hint():
    with pytest.raises(ExprError) as info:
        evaluate("filter * 2", NAMES)
    assert info.value.hint == "did you mean `filters`?"


def test_long_expressions_are_refused():
    with pytest.raises(ExprError, match="longer than"):
        evaluate("1 + " * 300 + "1", {})


@given(st.integers(-(2**31), 2**31), st.integers(-(2**31), 2**31))
def test_arithmetic_agrees_with_python(a, b):
    names = {"a": a, "b": b}
    assert evaluate("a + b * 2 - a", names) == a + b * 2 - a
    if b != 0:
        assert evaluate("a // b", names) == a // b
        assert evaluate("a % b", names) == a % b


@given(st.text(max_size=60))
def test_arbitrary_text_never_escapes_the_sandbox(text):
    """Any text either evaluates to plain data or fails with ExprError, nothing else."""
    try:
        value = resolve("$" + text, NAMES)
    except ExprError:
        return
    assert value is None or isinstance(value, bool | int | float | str | list)


@pytest.mark.parametrize(
    "text",
    [
        "$().__class__.__bases__[0].__subclasses__()",
        "$[c for c in ().__class__.__bases__]",
        "${open('/etc/passwd')}",
        "conv${__import__('os').system('true')}",
        "$__builtins__",
        "$globals()",
        "$eval('1')",
        "$exec('import os')",
        "$getattr(1, 'real')",
        "$'{0.__class__}'.format(1)",
        "$f'{width}'",
        "$(lambda: 1)()",
        "$[*filters]",
        "${'a' * 10 ** 9}",
        "$[0] * 10 ** 9",
        "$2 ** 10 ** 10",
        "$9 ** 9 ** 9",
        "$" + "[" * 120 + "1" + "]" * 120,
        "$" + "-" * 400 + "1",
        "$filters[::0]",
        "$max([1] * 20000)",
    ],
)
def test_escape_attempts_fail_cleanly(text):
    with pytest.raises(ExprError):
        resolve(text, NAMES)


# --------------------------------------------------------------------------- bounds

BIG = {"xs": list(range(5000)), "digits": "9" * 5000, "n": 3, "z": 0, "f": 0.0}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("$'%999999999d' % 1", "`%` is the remainder of a division and takes numbers"),
        ("$'%s' % 'x'", "takes numbers, not text and text"),
        ("$[1] % 2", "takes numbers, not a list"),
        ("$'ab' * 6000", "longer than 10,000 items"),
        ("$6000 * 'ab'", "longer than 10,000 items"),
        ("$[[0] * 10000] * 10000", "longer than 10,000 items"),
        ("$[[0] * 100] * 100", "longer than 10,000 items"),
        ("$[xs, xs, xs]", "longer than 10,000 items"),
        ("$xs + xs + xs", "longer than 10,000 items"),
        ("$digits + digits + '!'", "longer than 10,000 items"),
        ("$" + "[" * 33 + "]" * 33, "nest lists deeper than 32 levels"),
        ("$sum([[1], [2]])", "`sum` adds a list of numbers"),
        ("$sum([[1] * 100] * 99, [])", "`sum` adds a list of numbers"),
        ("$sum(['a', 'b'])", "`sum` adds a list of numbers"),
        ("$int(digits)", "text longer than 100 characters is not a number"),
        ("$int('9' * 101)", "text longer than 100 characters is not a number"),
        ("$float('1' * 400)", "text longer than 100 characters is not a number"),
        ("$float('1e400')", "not a finite number"),
        ("$0.0 ** -1", "cannot be raised to a negative power"),
        ("$0 ** -1", "cannot be raised to a negative power"),
        ("$f ** -1", "cannot be computed"),
        ("$4294967296.0 ** 64", "the result is too large"),
        ("$(-8) ** 0.5", "complex number"),
        ("$make_divisible(1, 0)", "`make_divisible` failed"),
        ("$make_divisible(1e308 * 10)", "not a finite number"),
        ("$round(1.0, 10 ** 18)", "`round` takes a whole number of digits from -20 to 20"),
        ("$round(5, -10 ** 18)", "`round` takes a whole number of digits"),
        ("$round(1.5, true)", "`round` takes a whole number of digits"),
        ("$round(1e308 * 10)", "not a finite number"),
        ("$ceil(1e300)", "exceeds 64 bits"),
        ("$int(1e300)", "exceeds 64 bits"),
        ("$1 / 1e-320", "not a finite number"),
        ("$z // 0.0", "division by zero"),
        ("$max()", "`max` failed"),
        ("$min([])", "`min` failed"),
        ("$~n", "operator `~` is not allowed"),
        ("$n << 2", "operator `<<` is not allowed"),
        ("$n >> 1", "operator `>>` is not allowed"),
        ("$n & 1", "operator `&` is not allowed"),
        ("$n | 1", "operator `|` is not allowed"),
        ("$n ^ 1", "operator `^` is not allowed"),
        ("$n @ n", "operator `@` is not allowed"),
        ("$n is 3", "`is` is not allowed"),
        ("$n is not 3", "`is` is not allowed"),
        ("$(1, 2)", "write a list as `[a, b]`"),
        ("$xs[1, 2]", "write a list as `[a, b]`"),
        ("$ {1: 2}", "not allowed"),
        ("$ {1}", "not allowed"),
        ("$...", "not allowed"),
        ("$1j", "not allowed"),
        ("$b'x'", "not allowed"),
        ("$-True", "cannot negate a boolean"),
        ("$'a' < 1", "cannot compare text with a whole number"),
        ("${'x' * 9000}${'x' * 9000}", "the text would be longer than 10,000 characters"),
        pytest.param("a" * 10_000 + "${n}", "the text would be longer", id="long-text-then-embed"),
        pytest.param("${n}" + "a" * 10_000, "the text would be longer", id="embed-then-long-text"),
    ],
)
def test_values_are_bounded_before_they_are_built(text, message):
    start = time.perf_counter()
    with pytest.raises(ExprError) as info:
        resolve(text, BIG)
    assert message in info.value.message
    assert time.perf_counter() - start < 0.5


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$[[0] * 99] * 99", [[0] * 99] * 99),
        ("$sum([1.5, 2])", 3.5),
        ("$sum([1, 2], 3)", 6),
        ("$round(2.675, 2)", 2.67),
        ("$round(1234, -2)", 1200),
        ("$-n + +n", 0),
        ("$int('ff', 16)", 255),
        ("$float(' 2.5 ')", 2.5),
        ("$3 in [1, 2, 3]", True),
        ("$'%d' if n else 0", "%d"),
        ("$2 ** 63 + (2 ** 63 - 1)", 2**64 - 1),
        ("$len(xs + [1])", 5001),
        ("$'a' * 10000", "a" * 10000),
    ],
)
def test_values_within_bounds_still_work(text, expected):
    assert resolve(text, BIG) == expected


def test_resolve_deep_bounds_the_lists_its_expressions_give_together():
    names = {"xs": list(range(1000)), "n": 1}
    assert resolve_deep(["$xs"] * 10, names) == [names["xs"]] * 10
    assert resolve_deep({"a": ["$n"] * 20_000}, names) == {"a": [1] * 20_000}
    with pytest.raises(ExprError, match="more than 10,000 list items in all"):
        resolve_deep({"a": ["$xs"] * 11}, names)


def test_a_list_that_contains_itself_is_refused():
    looped: list = [1]
    looped.append(looped)
    with pytest.raises(ExprError, match="contains itself"):
        evaluate("[x]", {"x": looped})


def test_every_syntax_node_the_evaluator_takes_is_in_the_documented_grammar():
    """Methods named after ast nodes are what expressions may contain; nothing else."""
    accepted = {name[1:] for name in vars(_Evaluator) if name[1:2].isupper()}
    grammar = {
        "Expression", "Constant", "Name", "List", "BinOp", "UnaryOp", "BoolOp", "Compare",
        "IfExp", "Subscript", "Call", "ListComp",
        "Tuple",  # refused with a hint to write a list
    }  # fmt: skip
    assert accepted == grammar


# --------------------------------------------------------------------------- generated

GENERATED_NAMES = {
    "w": 64, "xs": [1, 2, 3], "big": list(range(3000)), "s": "ab", "on": True, "f": 0.5,
}  # fmt: skip
_ATOMS = st.sampled_from(
    ["0", "1", "-1", "3", "64", "2 ** 62", "10 ** 18", "0.0", "1e308", "0.5", "-0.0",
     "'ab'", "''", "'%d'", "'%999999999d'", "'9' * 90", "true", "null",
     "w", "xs", "big", "s", "on", "f", "[]", "[1, [2, 3]]"]
)  # fmt: skip
_BINARY = ["+", "-", "*", "/", "//", "%", "**", "==", "!=", "<", "<=", ">", ">=", "in",
           "not in", "and", "or", "<<", "&", "|", "^", "is", "@"]  # fmt: skip
_FUNCTIONS = ["min", "max", "abs", "int", "float", "round", "len", "sum", "ceil", "floor",
              "make_divisible", "print", "open"]  # fmt: skip


def _compound(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    pair = st.tuples(inner, inner)
    return st.one_of(
        st.builds(lambda a, op, b: f"({a}) {op} ({b})", inner, st.sampled_from(_BINARY), inner),
        st.builds(lambda op, a: f"{op}({a})", st.sampled_from(["-", "+", "not ", "~"]), inner),
        st.builds(
            lambda f, args: f"{f}({', '.join(args)})",
            st.sampled_from(_FUNCTIONS),
            st.lists(inner, max_size=3),
        ),  # fmt: skip
        st.builds(lambda items: f"[{', '.join(items)}]", st.lists(inner, max_size=4)),
        st.builds(lambda p, c: f"({p[0]}) if ({c}) else ({p[1]})", pair, inner),
        st.builds(lambda a, i: f"({a})[{i}]", inner, inner),
        st.builds(lambda a, p: f"({a})[{p[0]}:{p[1]}]", inner, pair),
    )


EXPRESSIONS = st.recursive(_ATOMS, _compound, max_leaves=12)


def _items_and_levels(value) -> tuple[int, int]:
    if not isinstance(value, list):
        return 0, 0
    inner = [_items_and_levels(v) for v in value]
    return len(value) + sum(i for i, _ in inner), 1 + max((lv for _, lv in inner), default=0)


@settings(max_examples=1500, deadline=None)
@given(EXPRESSIONS)
def test_generated_expressions_give_a_bounded_value_or_expr_error(text):
    """Whatever the expression, it answers quickly with a bounded value or an ExprError."""
    start = time.perf_counter()
    try:
        value = evaluate(text, GENERATED_NAMES)
    except ExprError as exc:
        assert exc.message
        value = None
    assert time.perf_counter() - start < 1.0, text
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, int):
        assert value.bit_length() <= 64
    elif isinstance(value, float):
        assert math.isfinite(value)
    elif isinstance(value, str):
        assert len(value) <= 10_000
    else:
        assert isinstance(value, list), type(value)
        items, levels = _items_and_levels(value)
        assert items <= 10_000 and levels <= 32


@settings(max_examples=300, deadline=None)
@given(st.lists(EXPRESSIONS, min_size=1, max_size=4), st.text(max_size=10))
def test_generated_text_with_embedded_expressions(parts, glue):
    """Text built with `${...}` is bounded in length and fails only with ExprError."""
    text = glue.join("${" + p + "}" for p in parts if "{" not in p and "}" not in p)
    try:
        value = resolve(text, GENERATED_NAMES)
    except ExprError:
        return
    if isinstance(value, str):
        assert len(value) <= 10_000


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[ceil(1.2 * n) for n in xs]", [2, 3, 4]),
        ("[n for n in xs if n > 1]", [2, 3]),
        ("[[n, m] for n in xs if n < 2]", [[1, 5]]),
        ("[n for n in []]", []),
        ("sum([n * n for n in xs])", 14),
    ],
)
def test_list_comprehensions(text, expected):
    assert evaluate(text, {"xs": [1, 2, 3], "m": 5}) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[a for a in xs for b in xs]", "takes one `for`"),
        ("[a for a, b in xs]", "names one item"),
        ("[a for a in 3]", "goes over a list, not a whole number"),
        ("[a for a in xs if a]", "`if` needs true or false"),
        ("[sum([b for b in big]) for a in big]", "more than 200,000 steps"),
        ("[[0 for b in big] for a in big]", "longer than 10,000 items"),
        ("[[0] * 10000 for a in xs]", "longer than 10,000 items"),
    ],
)
def test_list_comprehension_refusals(text, message):
    start = time.perf_counter()
    with pytest.raises(ExprError, match=message):
        evaluate(text, {"xs": [1, 2, 3], "big": list(range(5_000))})
    assert time.perf_counter() - start < 2


def test_a_comprehension_is_refused_before_its_list_grows_past_the_bounds():
    """Each item is within bounds, but together they would hold 10^8: refused at once."""
    import tracemalloc

    tracemalloc.start()
    try:
        with pytest.raises(ExprError, match="longer than 10,000 items"):
            evaluate("[[0] * 9000 for a in xs]", {"xs": list(range(10_000))})
        assert tracemalloc.get_traced_memory()[1] < 50_000_000
    finally:
        tracemalloc.stop()
