"""Spec to IR: evaluating parameters, unrolling blocks, repeats and stages into named nodes.

This is where a spec's meaning is fixed. Calls bind arguments to a block's typed
parameters; ``$`` expressions are evaluated; each op's attributes are validated by its
registry model; branches are ordered by what they reference (a cycle is an error);
and each node gets a deterministic name from the scopes it sits in:
``<stage>_<block>_<layer>``, joined with ``_``, or exactly what a ``name`` template says.
"""

from __future__ import annotations

import math
import re
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, get_args

from pydantic import ValidationError

from archspec.errors import Loc, SpecError, did_you_mean, yaml11_hint
from archspec.ir.graph import Graph, Node, Source, gc_paused
from archspec.loader.document import first_error
from archspec.loader.yaml_source import PosDict, locate
from archspec.ops import REGISTRY, Attrs, OpDef
from archspec.ops.shapes import ShapeError, fmt
from archspec.ops.wiring import SINGLE
from archspec.spec.expr import ExprError, resolve_deep
from archspec.spec.models import (
    STEP_KEYS,
    BlockDef,
    Branch,
    DtypePolicy,
    InputDef,
    ParamDecl,
    Spec,
    StagesDef,
    Step,
    check_model_name,
)

#: Largest number of nodes an expanded graph may have.
DEFAULT_NODE_LIMIT = 100_000
#: Expansion steps allowed per node of the limit. Steps that add no layer (a switched-off
#: step, a repeated block whose layers are all off) take time too, so they are counted.
WORK_PER_NODE = 4
#: Deepest nesting of block calls. A block may call itself under an `if` (a recursive
#: U-Net); one that never stops, or a cycle of blocks, ends here with a clear message.
MAX_BLOCK_DEPTH = 64
SEPARATOR = "_"
INPUT_NAME = "input_layer"
#: the dtype of a plain keras.Input, which an input node does not record
FLOAT32 = "float32"
#: longest layer name; Keras would take more, but names become keys in saved files
MAX_NAME_CHARS = 255
#: what a layer name may not hold: Keras refuses `/`, and control characters break saving
#: (HDF5 refuses NUL) and terminals
_BAD_NAME_CHAR = re.compile(r"[/\x00-\x1f\x7f-\x9f]")


class NodeLimitError(SpecError):
    """The expanded graph would exceed the node limit."""

    def __init__(self, message: str) -> None:
        super().__init__(message, hint="raise the limit with --max-nodes if this is intended")


@dataclass
class Scope:
    """A naming scope: the names of the enclosing blocks and the local names used so far."""

    prefix: tuple[str, ...] = ()
    used: dict[str, int] = field(default_factory=dict)
    #: ``prefix`` joined once, since every node name in the scope starts with it
    _joined: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._joined = SEPARATOR.join(self.prefix)

    def local(self, base: str, explicit: bool) -> str:
        if explicit:
            return base
        count = self.used.get(base, 0)
        self.used[base] = count + 1
        return base if count == 0 else f"{base}_{count}"

    def full(self, local: str) -> str:
        if not local or not self._joined:
            return local or self._joined
        return f"{self._joined}{SEPARATOR}{local}"

    def child(self, local: str) -> Scope:
        # an empty name (`name: ""`) opens a scope for counting names but adds no level
        return Scope((*self.prefix, local) if local else self.prefix)


@dataclass(frozen=True)
class _Frame:
    """What a step sees: parameter values, its naming scope and the nodes it may name.

    ``refs`` maps names usable in merges and ``from`` (``input``, branch names) to node
    names; it is shared, so branches expanded in a graph become visible to later ones.
    """

    names: Mapping[str, Any]
    scope: Scope
    refs: dict[str, str]
    #: for each name, the top-level parameters set with ``--set`` its value came from
    #: (empty without overrides), so an out-of-range value is reported at its ``--set``
    origins: Mapping[str, frozenset[str]] = field(default_factory=dict)
    #: the nodes of the sequence being expanded so far, its start first, for the
    #: back-references `^1` (a step's input), `^2` (the node before it), ...
    back: list[str] = field(default_factory=list)

    def bind(self, **extra: Any) -> _Frame:
        return _Frame({**self.names, **extra}, self.scope, self.refs, self.origins, self.back)

    def node(self, ref: Any) -> str | None:
        """The node a reference names: a branch or input name, or `^k`, k steps back."""
        if not isinstance(ref, str):
            return None
        if ref.startswith("^"):
            k = ref[1:]
            if k.isdigit() and 1 <= int(k) <= len(self.back):
                return self.back[-int(k)]
            return None
        return self.refs.get(ref)

    def known(self) -> str:
        """The references usable here, for messages."""
        count = len(self.back)
        back = "" if not count else ", `^1`" if count == 1 else f", `^1` ... `^{count}`"
        return ", ".join(f"`{r}`" for r in self.refs) + back

    def sources(self, raw: Any) -> frozenset[str]:
        """The overridden top-level parameters an unevaluated value here depends on."""
        return _sources(raw, self.origins)


_WORD = re.compile(r"[A-Za-z_]\w*")


def _sources(raw: Any, origins: Mapping[str, frozenset[str]]) -> frozenset[str]:
    """The overridden parameters behind the names an unevaluated value mentions.

    A name is taken from any word of an expression, so a word that only looks like a
    parameter (in a text literal) may count too: the price of not evaluating twice.
    """
    if not origins:
        return frozenset()
    found: set[str] = set()
    for text in _strings(raw):
        if "$" in text:
            for word in _WORD.findall(text):
                found.update(origins.get(word, ()))
    return frozenset(found)


def _strings(value: Any) -> list[str]:
    """Every text leaf of a raw value (lists and mappings walked)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [t for v in value for t in _strings(v)]
    if isinstance(value, dict):
        return [t for v in value.values() for t in _strings(v)]
    return []


def _expr(value: Any, names: Mapping[str, Any], where: Source, loc: Loc | None = None) -> Any:
    try:
        return resolve_deep(value, names)
    except ExprError as exc:
        raise where.error(exc.message, exc.hint, loc) from None


def _named_nodes(op: OpDef, raw: Any) -> list[str]:
    """The node names a step's written attributes give its op's node references."""
    attributes = op.wires.attributes
    if isinstance(raw, dict):
        values = [raw.get(a) for a in attributes]
    else:
        values = [raw] if op.shorthand in attributes else []
    names: list[str] = []
    for value in values:
        items = value if isinstance(value, list) else [value]
        names.extend(i for i in items if isinstance(i, str))
    return names


def _evaluate_args(
    args: Mapping[str, Any] | None,
    names: Mapping[str, Any],
    where: Source,
    *,
    skip: tuple[str, ...] = STEP_KEYS,
) -> dict[str, tuple[Any, Loc | None]]:
    """Evaluate a call's arguments (``skip``: the step keys), keeping each one's position."""
    if not args:
        return {}
    given: dict[str, tuple[Any, Loc | None]] = {}
    locs = args.value_locs if isinstance(args, PosDict) else {}
    for key, value in args.items():
        if key in skip:
            continue
        loc = locs.get(key, where.loc)
        # literals are by far the commonest arguments: no need to walk them
        if (isinstance(value, str) and "$" in value) or isinstance(value, list | dict):
            value = _expr(value, names, where, loc)
        given[key] = (value, loc)
    return given


def _frozen(value: Any) -> Hashable:
    """A hashable key telling apart every value validation could treat differently.

    Types are part of the key: ``1``, ``1.0`` and ``true`` are equal in Python but not
    to a strict integer field. A value Python cannot hash (a set) leaves the key
    unhashable.
    """
    if isinstance(value, dict):
        return (dict, *[(k, _frozen(v)) for k, v in value.items()])
    if isinstance(value, list | tuple):
        return (type(value) is tuple, *[_frozen(v) for v in value])
    return (value.__class__, value)


def bind_params(
    decls: Mapping[str, ParamDecl],
    given: Mapping[str, tuple[Any, Loc | None]],
    where: Source,
    *,
    what: str,
    base_names: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Check given values against declared parameters and fill in defaults (in order)."""
    for name, (_, loc) in given.items():
        if name not in decls:
            known = ", ".join(f"`{p}`" for p in decls) or "none"
            hint = did_you_mean(name, decls) or f"its parameters: {known}"
            raise where.error(f"{what} has no parameter `{name}`", hint, loc)
    values: dict[str, Any] = {}
    for name, decl in decls.items():
        ptype = decl.param_type
        if name in given:
            value, loc = given[name]
        elif decl.required:
            raise where.error(f"{what} needs a value for its parameter `{name}` ({ptype})")
        else:
            value, loc = decl.default, where.loc
            value = _expr(value, {**(base_names or {}), **values}, where)
        try:
            values[name] = None if value is None and not decl.required else ptype.check(value)
        except ValueError as exc:
            raise where.error(f"parameter `{name}` of {what}: {exc}", loc=loc) from None
        problem = decl.not_a_choice(values[name])
        if problem is not None:
            raise where.error(f"parameter `{name}` of {what} {problem}", loc=loc)
    return values


class Expander:
    """Turns one validated spec into an IR graph."""

    def __init__(
        self,
        spec: Spec,
        *,
        node_limit: int = DEFAULT_NODE_LIMIT,
        raw: Any = None,
        overridden: frozenset[str] = frozenset(),
    ) -> None:
        self.spec = spec
        #: top-level parameters given on the command line or through the API
        self.overridden = overridden
        self.file = getattr(getattr(raw, "loc", None), "file", None)
        #: the raw document, for positions of top-level fields (input shapes, outputs)
        self.raw = raw
        self.node_limit = node_limit
        self.graph = Graph(spec.name)
        #: steps expanded so far, bounded by ``work_limit``
        self.work = 0
        self.work_limit = WORK_PER_NODE * node_limit
        #: copy counts of the enclosing repeats and stages still expanding their first copy:
        #: what is built now will be built that many times over
        self._copies: list[int] = []
        #: the block calls being expanded, outermost first: name, arguments, input shape
        self._calls: list[tuple[str, dict[str, Any], list[Any]]] = []
        self._plans: dict[int, list[tuple[str, Loc | None]]] = {}
        self._attrs: dict[Hashable, Attrs] = {}
        #: the layer settings in force (`trainable`, `dtype`), innermost last
        self._settings: list[_Settings] = [_Settings(dtype=_policy(spec.dtype_policy))]
        #: with `auto_names: keras`, unnamed layers are counted over the whole model by
        #: their Keras name, as Keras's own counters do in a fresh session
        self._keras_names: Scope | None = Scope() if spec.auto_names == "keras" else None
        #: the nested Sequential models made so far (`sequential`), by name
        self._models: dict[str, Source] = {}
        #: Keras's counter of unnamed input layers (a nested Sequential makes one)
        self._input_names = self._keras_names or Scope()

    # ------------------------------------------------------------------ entry point

    def run(self, params: Mapping[str, Any]) -> Graph:
        spec = self.spec
        self.graph.name = model_name(spec, params, self.raw)
        refs: dict[str, str] = {}
        top = Source(None, "")
        origins = self._top_origins()
        top_frame = _Frame(params, Scope(), refs, origins)
        shapes = {INPUT_NAME: spec.input} if spec.input is not None else dict(spec.inputs or {})
        for name, given in shapes.items():
            key = ("input",) if spec.input is not None else ("inputs", name)
            settings: dict[str, str] = {}
            shape = given
            if isinstance(given, InputDef):
                shape = given.shape
                if given.dtype != FLOAT32:  # what a plain keras.Input holds
                    settings["dtype"] = given.dtype
                key = (*key, "shape")
            where = Source(locate(self.raw, key), ".".join(key))
            value = _expr(shape, params, where)
            if (
                not isinstance(value, list)
                or not value
                or not all(
                    v is None or (isinstance(v, int) and not isinstance(v, bool) and v > 0)
                    for v in value
                )
            ):
                raise self._overridden(
                    where.error(f"an input shape is a list of positive sizes, got {value!r}"),
                    top_frame.sources(shape),
                )
            shape = tuple(value)
            _check_name(name, where)
            source = Source(None, where.path)
            attrs = {"shape": shape, **settings}
            self._add(Node(name, "input", attrs, [], source, shape=shape))
            if name == INPUT_NAME:  # the name Keras gives an unnamed input, counted
                self._input_names.local(INPUT_NAME, False)
            self.graph.inputs.append(name)
            refs[name] = name
            refs.setdefault("input", name)  # `input` is the (first) model input
        first = self.graph.inputs[0]
        # the model's branch names stay in `refs`, where `outputs` looks them up
        frame = top_frame
        if spec.layers is not None:
            out = self._sequence(spec.layers, first, frame, "layers")
        else:
            out = self._graph(spec.graph or {}, frame, "graph", top)
        outputs = []
        if spec.outputs is None:
            outputs.append(out)
        else:
            for i, output in enumerate(spec.outputs):
                where = Source(locate(self.raw, ("outputs", i)), f"outputs[{i}]")
                if output.if_ is not None and not self._condition(output.if_, params, where):
                    continue
                if output.from_ not in refs:
                    raise where.error(
                        f"no node `{output.from_}` to output",
                        did_you_mean(output.from_, refs),
                    )
                outputs.append(refs[output.from_])
            if not outputs:
                raise top.error("every output is switched off by its `if`; a model needs one")
        self.graph.outputs = outputs
        self._check_all_used()
        return self.graph

    def _top_origins(self) -> dict[str, frozenset[str]]:
        """Which overridden parameters each top-level parameter's value came from."""
        origins: dict[str, frozenset[str]] = {}
        if not self.overridden:
            return origins
        for name, decl in self.spec.params.items():
            if name in self.overridden:
                origins[name] = frozenset({name})
            else:  # a default computed from overridden parameters
                origins[name] = _sources(decl.default, origins)
        return origins

    def _overridden(self, exc: SpecError, sources: frozenset[str]) -> SpecError:
        """``exc`` reported at the ``--set`` its value came from, naming where it was used.

        A value out of range is the command line's fault, not the spec's; pointing at
        the layer alone would send the reader to a line that is correct.
        """
        if not sources or isinstance(exc, NodeLimitError):
            return exc
        used = ", ".join(str(p) for p in (exc.loc, exc.path) if p)
        error = SpecError(
            exc.message, path=f"--set {sorted(sources)[0]}", file=self.file, hint=exc.hint
        )
        error.context = f"used at {used}" if used else None
        return error

    def _blame(self, exc: SpecError, step: Step, frame: _Frame, where: Source) -> SpecError:
        """The ``--set`` behind an error at this step's own values, if one is behind it."""
        if not frame.origins or exc.path != where.path:
            return exc
        args = step.args
        raw: Any = None
        if isinstance(args, PosDict):
            raw = next((args[k] for k, loc in args.value_locs.items() if loc == exc.loc), None)
        elif args is not None and not isinstance(args, dict):
            raw = args  # a shorthand value
        return self._overridden(exc, frame.sources(raw))

    def _check_all_used(self) -> None:
        """Every layer must lead to an output: a dangling branch is a mistake, not a no-op."""
        used = set(self.graph.outputs)
        for node in reversed(self.graph.nodes.values()):
            if node.name in used:
                used.update(node.inputs)
        for node in self.graph.nodes.values():
            if node.name not in used and node.op != "input":
                raise SpecError(
                    f"layer `{node.name}` does not lead to any output",
                    loc=node.source.loc,
                    path=node.source.path,
                    hint="a block's output is its `output` branch (default: the last); merge "
                    "this branch into it or list it in `outputs`",
                )

    # ------------------------------------------------------------------ structure

    def _sequence(self, steps: list[Step], x: str, frame: _Frame, path: str) -> str:
        # each call adds its output to `back`, a repeat once per copy (see `_Frame.node`)
        frame = _Frame(frame.names, frame.scope, frame.refs, frame.origins, [x])
        for i, step in enumerate(steps):
            x = self._step(step, x, frame, f"{path}[{i}]")
        return x

    def _step(self, step: Step, x: str, frame: _Frame, path: str) -> str:
        where = Source(step.loc, path)
        try:
            return self._step_in(step, x, frame, where)
        except NodeLimitError as exc:
            if frame.scope.prefix:
                raise
            # the whole model is too big: point at the top-level step that overflows it
            raise exc.located(where.loc, where.path) from None
        except SpecError as exc:
            raise self._blame(exc, step, frame, where) from None

    def _step_in(self, step: Step, x: str, frame: _Frame, where: Source) -> str:
        self._tick()
        frame = frame.bind(in_shape=list(self.graph.nodes[x].shape))
        if step.if_ is not None and not self._condition(step.if_, frame.names, where):
            return x
        if step.trainable is None and step.dtype is None:
            return self._step_body(step, x, frame, where)
        trainable = (
            None if step.trainable is None else self._trainable(step.trainable, frame, where)
        )
        dtype = None if step.dtype is None else self._dtype(step.dtype, frame, where)
        op = REGISTRY.get(step.call or "")
        if op is not None and not op.layer and (dtype is not None or trainable is not None):
            key = "dtype" if dtype is not None else "trainable"
            raise where.error(
                f"`{op.name}` is a tensor operation, not a layer: it has no `{key}` "
                "(it has no weights and computes in its inputs' type)"
            )
        self._settings.append(self._settings[-1].within(trainable, dtype))
        try:
            return self._step_body(step, x, frame, where)
        finally:
            self._settings.pop()

    def _trainable(self, expr: Any, frame: _Frame, where: Source) -> bool:
        value = _expr(expr, frame.names, where)
        if not isinstance(value, bool):
            raise where.error(f"`trainable` needs true or false, got {value!r}")
        return value

    def _dtype(self, expr: Any, frame: _Frame, where: Source) -> str:
        value = _expr(expr, frame.names, where)
        if value not in get_args(DtypePolicy):
            choices = ", ".join(f"`{c}`" for c in get_args(DtypePolicy))
            raise where.error(f"`dtype` is a Keras dtype policy ({choices}), got {value!r}")
        return value

    def _step_body(self, step: Step, x: str, frame: _Frame, where: Source) -> str:
        if step.kind == "stages":
            assert step.stages is not None
            return self._stages(step.stages, x, frame, where)
        if step.repeat is None:
            return self._grouped(step, x, frame, where)
        count = self._count(step.repeat, frame, where, "repeat")
        before = self._mark()
        self._copies.append(count)
        for index in range(1, count + 1):
            shape = list(self.graph.nodes[x].shape)
            x = self._grouped(step, x, frame.bind(index=index, in_shape=shape), where)
            if index == 1:
                self._copies.pop()
                self._project(before, count)
        return x

    def _grouped(self, step: Step, x: str, frame: _Frame, where: Source) -> str:
        """One call, counted for back-references; with ``sequential``, its layers are
        marked as one nested Sequential."""
        if step.sequential is None:
            out = self._call(step, x, frame, where)
        else:
            out = self._nested(step, x, frame, where)
        frame.back.append(out)
        return out

    def _nested(self, step: Step, x: str, frame: _Frame, where: Source) -> str:
        """A call whose layers form the nested Sequential ``step.sequential`` names."""
        name = self._name(step.sequential, frame.names, where) or ""
        _check_name(name, where)
        if name in self.graph.nodes or name in self._models:
            raise where.error(
                f"`sequential` name `{name}` is already used by a layer or another model",
                hint="a nested model is a layer of the outer one: give it a name of its own",
            )
        first = len(self.graph.nodes)
        out = self._call(step, x, frame, where)
        members = [self.graph.nodes[n] for n in list(self.graph.nodes)[first:]]
        _check_sequential(name, members, x, out, where)
        for node in members:
            node.model = name
            # a nested model is a scope of its own, as the importer reads it
            node.scopes = (*frame.scope.prefix, name)
        self._models[name] = where
        self.graph.models[name] = self._input_names.local(INPUT_NAME, False)
        return out

    def _mark(self) -> tuple[int, int]:
        """Nodes and steps so far, to measure what one repeat costs."""
        return len(self.graph.nodes), self.work

    def _project(self, before: tuple[int, int], copies: int) -> None:
        """Refuse at once a repeat whose copies would pass the node or work limit.

        Called after the first copy, so the cost of a copy is known; later copies are
        taken to cost the same. Enclosing repeats still in their first copy multiply it:
        a repeat inside a repeat is refused after one inner copy, not one outer copy, and
        copies of a block that adds no layer are refused as fast as copies that do.
        """
        factor = copies * math.prod(self._copies) - 1
        nodes, work = before
        if len(self.graph.nodes) + (len(self.graph.nodes) - nodes) * factor > self.node_limit:
            raise NodeLimitError(f"the model would expand to more than {self.node_limit:,} layers")
        if self.work + (self.work - work) * factor > self.work_limit:
            raise self._work_error()

    def _tick(self) -> None:
        self.work += 1
        if self.work > self.work_limit:
            raise self._work_error()

    def _work_error(self) -> NodeLimitError:
        return NodeLimitError(
            f"expanding the model takes more than {self.work_limit:,} steps "
            f"({WORK_PER_NODE} per layer of the limit); repeats of steps that add few or no "
            "layers count too"
        )

    def _condition(self, expr: Any, names: Mapping[str, Any], where: Source) -> bool:
        value = _expr(expr, names, where)
        if not isinstance(value, bool):
            raise where.error(f"`if` needs true or false, got {value!r}")
        return value

    def _count(self, expr: Any, frame: _Frame, where: Source, what: str, raw: Any = None) -> int:
        """A repeat count; one out of range because of a ``--set`` is reported there."""
        value = _expr(expr, frame.names, where)
        problem, hint = None, None
        if not isinstance(value, int) or isinstance(value, bool):
            problem = f"`{what}` needs a whole number, got {value!r}"
        elif value < 1:
            problem = f"`{what}` must be at least 1, got {value}"
            hint = "use `if` to leave a step out"
        if problem is not None:
            sources = frame.sources(expr if raw is None else raw)
            raise self._overridden(where.error(problem, hint), sources)
        if value > self.work_limit:  # every copy is at least one step
            raise NodeLimitError(
                f"`{what}` of {value:,} is more than the {self.work_limit:,} expansion steps "
                f"allowed ({WORK_PER_NODE} per layer of the limit of {self.node_limit:,})"
            ).located(where.loc, where.path)
        return value

    def _call(self, step: Step, x: str, frame: _Frame, where: Source) -> str:
        callee = step.call or ""
        op = REGISTRY.get(callee)
        if op is not None:
            return self._op(op, step, x, frame, where)
        block = self.spec.blocks.get(callee)
        if block is None:
            choices = [*REGISTRY.names(), *self.spec.blocks, "stages"]
            raise where.error(f"unknown op or block `{callee}`", did_you_mean(callee, choices))
        if step.args is not None and not isinstance(step.args, dict):
            if len(block.params) != 1:
                raise where.error(
                    f"block `{callee}` takes its arguments as a mapping, e.g. `{callee}: {{...}}`"
                )
            (only,) = block.params
            given = {only: (_expr(step.args, frame.names, where), where.loc)}
            origins = {only: frame.sources(step.args)}
        else:
            given = _evaluate_args(step.args, frame.names, where)
            origins = (
                {k: frame.sources(v) for k, v in step.args.items()}
                if frame.origins and step.args
                else {}
            )
        nodes = self._block_inputs(callee, block, given, frame, where)
        local = self._name(step.name, frame.names, where)
        return self._invoke(callee, given, x, frame.scope, local, where, origins, nodes)

    def _block_inputs(
        self,
        callee: str,
        block: BlockDef,
        given: dict[str, tuple[Any, Loc | None]],
        frame: _Frame,
        where: Source,
    ) -> dict[str, str]:
        """The nodes a call names for the block's further inputs (taken out of ``given``)."""
        nodes: dict[str, str] = {}
        for name in block.inputs:
            if name not in given:
                raise where.error(
                    f"block `{callee}` takes the input `{name}`: name a node for it, e.g. "
                    f"`{callee}: {{{name}: other_branch}}`"
                )
            ref, loc = given.pop(name)
            node = frame.node(ref)
            if node is None:
                raise where.error(
                    f"input `{name}` of block `{callee}` is {ref!r}, which is not a node here "
                    f"(known: {frame.known()})",
                    did_you_mean(str(ref), frame.refs),
                    loc,
                )
            nodes[name] = node
        return nodes

    def _name(self, template: str | None, names: Mapping[str, Any], where: Source) -> str | None:
        if template is None or "$" not in template:
            return template
        value = _expr(template, names, where)
        if not isinstance(value, str | int) or isinstance(value, bool):
            raise where.error(f"a name template must give text, got {value!r}")
        return str(value)

    # ------------------------------------------------------------------ ops

    def _op(self, op: OpDef, step: Step, x: str, frame: _Frame, where: Source) -> str:
        args = step.args
        if args is None or isinstance(args, dict):
            given = _evaluate_args(args, frame.names, where)
        elif op.shorthand is not None:
            given = {op.shorthand: (_expr(args, frame.names, where), where.loc)}
        else:
            raise where.error(
                f"`{op.name}` takes a mapping of attributes, e.g. `{op.name}: {{...}}`"
            )
        model = self._validated(op, given, where)
        inputs = [x] if op.wiring is SINGLE else self._op_inputs(op, model, x, frame, given, where)
        scope = frame.scope
        local = self._name(step.name, frame.names, where)
        if local is None and self._keras_names is not None:
            name = self._keras_names.local(op.keras_name, False)
        else:
            default = op.node_name
            name = scope.full(
                scope.local(local if local is not None else default, local is not None)
            )
        shape = self._shape(op, model, inputs, where)
        return self._add(Node(name, op.name, model, inputs, where, scope.prefix, shape))

    def _op_inputs(
        self,
        op: OpDef,
        model: Attrs,
        x: str,
        frame: _Frame,
        given: Mapping[str, tuple[Any, Loc | None]],
        where: Source,
    ) -> list[str]:
        """The nodes an op's attributes name (merges, attention, operands), in call order."""
        inputs = []
        for attr, ref in op.wires.refs(model):
            if ref is None:
                inputs.append(x)
                continue
            node = frame.node(ref)
            if node is None:
                raise where.error(
                    f"`{op.name}` refers to `{ref}`, which is not a node here "
                    f"(known: {frame.known()})",
                    did_you_mean(ref, frame.refs),
                    given[attr][1] if attr in given else None,
                )
            inputs.append(node)
        return inputs

    def _validated(
        self, op: OpDef, given: Mapping[str, tuple[Any, Loc | None]], where: Source
    ) -> Attrs:
        """The op's attribute model for these values; equal values share one (frozen) model.

        A block repeated a thousand times passes the same values a thousand times, so
        each distinct set is validated once.
        """
        values = {k: v for k, (v, _) in given.items()}
        key: Hashable | None = (op.name, _frozen(values))
        try:
            model = self._attrs.get(key)
        except TypeError:  # an unhashable value, such as a set given with --set
            key, model = None, None
        if model is None:
            try:
                model = op.attrs.model_validate(values)
            except ValidationError as exc:
                raise self._attr_error(
                    exc, op, where, {k: loc for k, (_, loc) in given.items()}
                ) from None
            if key is not None:
                self._attrs[key] = model
        return model

    def _shape(self, op: OpDef, attrs: Any, inputs: list[str], where: Source) -> tuple:
        nodes = [self.graph.nodes[i] for i in inputs]
        try:
            return op.shape(attrs, [n.shape for n in nodes])
        except ShapeError as exc:
            message = f"`{op.name}`: {exc}"
            if len(nodes) > 1:
                origins = "; ".join(
                    f"`{n.name}` {fmt(n.shape)}" + (f" from {n.source.loc}" if n.source.loc else "")
                    for n in nodes
                )
                message += f" [{origins}]"
            elif nodes:
                message += f" (input `{nodes[0].name}` is {fmt(nodes[0].shape)})"
            raise where.error(message) from None

    def _attr_error(
        self, exc: ValidationError, op: OpDef, where: Source, locs: Mapping[str, Loc | None]
    ) -> SpecError:
        err = first_error(exc)
        attr = next((k for k in err["loc"] if isinstance(k, str)), None)
        loc = locs.get(attr) if attr else None
        if err["type"] == "extra_forbidden":
            fields = list(op.attrs.model_fields)
            hint = did_you_mean(str(attr), fields) or "its attributes: " + ", ".join(
                f"`{f}`" for f in fields
            )
            return where.error(f"`{op.name}` has no attribute `{attr}`", hint, loc)
        if err["type"] == "missing":
            return where.error(f"`{op.name}` needs the attribute `{attr}`")
        if err["type"] == "literal_error":
            choices = re.findall(r"'([^']*)'", str(err.get("ctx", {}).get("expected", "")))
            given = err.get("input")
            if len(choices) > 4:
                return where.error(
                    f"`{op.name}` attribute `{attr}`: {given!r} is not one of its "
                    f"{len(choices)} accepted values",
                    did_you_mean(str(given), choices) or "see `archspec schema` for the list",
                    loc,
                )
        message = err["msg"].removeprefix("Value error, ")
        if attr is None:  # a rule between attributes: the step is at fault
            return where.error(f"`{op.name}`: {message}")
        return where.error(
            f"`{op.name}` attribute `{attr}`: {message}, got {err.get('input')!r}",
            yaml11_hint(err),
            loc,
        )

    # ------------------------------------------------------------------ blocks

    def _invoke(
        self,
        block_name: str,
        given: Mapping[str, tuple[Any, Loc | None]],
        x: str,
        scope: Scope,
        local: str | None,
        where: Source,
        origins: Mapping[str, frozenset[str]],
        nodes: Mapping[str, str] | None = None,
    ) -> str:
        block: BlockDef = self.spec.blocks[block_name]
        self._tick()
        nodes = nodes or {}
        if len(self._calls) >= MAX_BLOCK_DEPTH:
            raise where.error(self._depth_message(block_name))
        in_shape = list(self.graph.nodes[x].shape)
        try:
            values = bind_params(
                block.params,
                given,
                where,
                what=f"block `{block_name}`",
                base_names={"in_shape": in_shape},
            )
        except SpecError as exc:
            culprit = next((n for n, (_, loc) in given.items() if loc == exc.loc), None)
            if culprit not in block.params:
                raise
            raise self._overridden(exc, origins.get(culprit, frozenset())) from None
        inner_origins: dict[str, frozenset[str]] = {}
        if any(origins.values()):
            for name, decl in block.params.items():
                default = None if name in given else decl.default
                inner_origins[name] = origins.get(name) or _sources(default, inner_origins)
        shapes = {f"<{n}>": list(self.graph.nodes[node].shape) for n, node in nodes.items()}
        self._check_recursion(block_name, {**values, **shapes}, in_shape, where)
        inner = scope.child(
            scope.local(local if local is not None else block_name, local is not None)
        )
        # a block body sees its parameters and the shape of its input
        frame = _Frame(
            {**values, "in_shape": in_shape}, inner, {"input": x, **nodes}, inner_origins
        )
        path = f"{where.path}.{block_name}"
        self._calls.append((block_name, {**values, **shapes}, in_shape))
        try:
            if block.layers is not None:
                return self._sequence(block.layers, x, frame, f"{path}.layers")
            return self._graph(block.graph or {}, frame, path, where, block.output)
        except SpecError as exc:
            # the innermost call is the one whose arguments most likely caused the error
            if (
                where.loc is not None
                and exc.context is None
                and not isinstance(exc, NodeLimitError)
                and not (exc.path or "").startswith("--set")
            ):
                exc.context = f"in block `{block_name}` called at {where.loc}"
            raise
        finally:
            self._calls.pop()

    def _depth_message(self, block_name: str) -> str:
        message = f"block calls nest more than {MAX_BLOCK_DEPTH} deep"
        cycle = self._cycle(block_name)
        if cycle:
            message += f" ({cycle}); make sure an `if` ends the recursion"
        return message

    def _cycle(self, block_name: str) -> str:
        """``a -> b -> a`` from the innermost active call of ``block_name``, or ''."""
        names = [name for name, _, _ in self._calls]
        if block_name not in names:
            return ""
        start = len(names) - 1 - names[::-1].index(block_name)
        return " -> ".join([*names[start:], block_name])

    def _check_recursion(
        self, block_name: str, values: dict[str, Any], in_shape: list[Any], where: Source
    ) -> None:
        """Refuse a call that repeats an active one exactly: it could never stop.

        A block body depends only on its arguments and its input's shape, so a call
        equal to one of its own ancestors would expand forever.
        """
        for name, old_values, old_shape in self._calls:
            if name == block_name and old_values == values and old_shape == in_shape:
                raise where.error(
                    f"block `{block_name}` calls itself with the same arguments and input "
                    f"shape ({self._cycle(block_name)}), so its expansion would never end",
                    "an `if` on the call, on a parameter that changes, ends a recursion",
                )

    def _graph(
        self,
        branches: Mapping[str, Branch],
        frame: _Frame,
        path: str,
        where: Source,
        output: str | None = None,
    ) -> str:
        """Expand branches in dependency order; each adds its name to ``frame.refs``."""
        refs = frame.refs
        # the order and positions depend only on the definition: work them out once
        plan = self._plans.get(id(branches))
        if plan is None:
            order = self._branch_order(branches, path, where)
            plan = self._plans[id(branches)] = [(n, branches[n]._loc) for n in order]
        for name, loc in plan:
            branch = branches[name]
            bwhere = Source(loc or where.loc, f"{path}.{name}")
            if branch.from_ not in refs:
                raise bwhere.error(
                    f"branch `{name}` starts from `{branch.from_}`, which is not a node here",
                    did_you_mean(branch.from_, refs),
                )
            steps = branch.layers
            if branch.if_ is not None and not self._condition(branch.if_, frame.names, bwhere):
                steps = branch.else_
            refs[name] = self._sequence(steps, refs[branch.from_], frame, bwhere.path)
        return refs[output or list(branches)[-1]]

    def _branch_order(self, branches: Mapping[str, Branch], path: str, where: Source) -> list[str]:
        """Branches ordered so each follows those it reads; otherwise in declaration order."""
        deps: dict[str, list[str]] = {}
        for name, branch in branches.items():
            wanted = [branch.from_]
            for step in (*branch.layers, *branch.else_):
                op = REGISTRY.get(step.call or "")
                block = self.spec.blocks.get(step.call or "")
                if op is not None:
                    wanted.extend(_named_nodes(op, step.args))
                elif block is not None and block.inputs and isinstance(step.args, dict):
                    wanted.extend(
                        str(step.args[n]) for n in block.inputs if isinstance(step.args.get(n), str)
                    )
            deps[name] = [d for d in wanted if d in branches]
        order: list[str] = []
        done: set[str] = set()
        # depth-first with an explicit stack: a graph may have thousands of branches
        for root in branches:
            if root in done:
                continue
            trail = [root]
            stack = [iter(deps[root])]
            while stack:
                dep = next(stack[-1], None)
                if dep is None:
                    stack.pop()
                    name = trail.pop()
                    done.add(name)
                    order.append(name)
                elif dep in trail:
                    cycle = " -> ".join([*trail[trail.index(dep) :], dep])
                    raise SpecError(
                        f"branches form a cycle: {cycle}",
                        loc=branches[dep]._loc or where.loc,
                        path=f"{path}.{dep}",
                    )
                elif dep not in done:
                    trail.append(dep)
                    stack.append(iter(deps[dep]))
        return order

    # ------------------------------------------------------------------ stages

    def _stages(self, sd: StagesDef, x: str, frame: _Frame, where: Source) -> str:
        names = frame.names
        block_name = _expr(sd.block, names, where)
        if block_name not in self.spec.blocks:
            raise where.error(
                f"`stages` names the block `{block_name}`, which is not defined",
                did_you_mean(str(block_name), self.spec.blocks),
            )
        repeats_value = _expr(sd.repeats, names, where)
        if not isinstance(repeats_value, list) or not repeats_value:
            raise where.error(
                f"`repeats` needs a list of counts, one per stage, got {repeats_value!r}"
            )
        counts = [self._count(r, frame, where, "repeats", sd.repeats) for r in repeats_value]
        origins: dict[str, frozenset[str]] = {}
        for raw in (sd.args, sd.first, sd.last):
            for key, value in raw.items():
                origins[key] = origins.get(key, frozenset()) | frame.sources(value)
        frozen = self._stage_trainable(sd, frame, where, len(counts))
        dtype = None if sd.dtype is None else self._dtype(sd.dtype, frame, where)
        before = self._mark()
        for s, count in enumerate(counts, start=1):
            self._settings.append(self._settings[-1].within(frozen[s - 1], dtype))
            try:
                x = self._stage(sd, block_name, s, count, counts, x, frame, where, origins, before)
                if sd.between and s < len(counts):
                    x = self._sequence(
                        sd.between, x, frame.bind(stage=s), f"{where.path}.stages.between"
                    )
            finally:
                self._settings.pop()
        return x

    def _stage_trainable(
        self, sd: StagesDef, frame: _Frame, where: Source, n: int
    ) -> list[bool | None]:
        """Whether each stage is trainable: one value for all, or one per stage."""
        if sd.trainable is None:
            return [None] * n
        value = _expr(sd.trainable, frame.names, where)
        if isinstance(value, bool):
            return [value] * n
        if isinstance(value, list) and len(value) == n and all(isinstance(v, bool) for v in value):
            return value
        raise where.error(
            f"`trainable` needs true or false, or a list of {n} of them (one per stage), "
            f"got {value!r}"
        )

    def _stage(
        self,
        sd: StagesDef,
        block_name: str,
        s: int,
        count: int,
        counts: list[int],
        x: str,
        frame: _Frame,
        where: Source,
        origins: dict[str, frozenset[str]],
        before: tuple[int, int],
    ) -> str:
        """One stage: ``count`` calls of the block in the stage's scope."""
        names, scope = frame.names, frame.scope
        block = self.spec.blocks[block_name]
        stage_template = "stage${stage}" if sd.name is None else sd.name
        block_template = "block${index}" if sd.block_name is None else sd.block_name
        stage_names = {**names, "stage": s}
        stage_scope = scope.child(
            scope.local(self._name(stage_template, stage_names, where) or "", True)
        )
        for index in range(1, count + 1):
            here = {**stage_names, "index": index}
            rwhere = Source(where.loc, f"{where.path}.stages[{s - 1}].blocks[{index - 1}]")
            given = self._stage_args(sd.args, block, here, len(counts), s, rwhere)
            if index == 1:
                given.update(self._stage_args(sd.first, block, here, len(counts), s, rwhere))
            if index == count:
                given.update(self._stage_args(sd.last, block, here, len(counts), s, rwhere))
            nodes = self._block_inputs(block_name, block, given, frame, rwhere)
            local = self._name(block_template, here, rwhere) or ""
            first = s == 1 and index == 1
            if first:
                self._copies.append(sum(counts))
            x = self._invoke(block_name, given, x, stage_scope, local, rwhere, origins, nodes)
            frame.back.append(x)
            if first:
                self._copies.pop()
                self._project(before, sum(counts))
        return x

    def _stage_args(
        self,
        args: Mapping[str, Any],
        block: BlockDef,
        names: Mapping[str, Any],
        n: int,
        stage: int,
        where: Source,
    ) -> dict[str, tuple[Any, Loc | None]]:
        """Arguments of one stage: a list of ``n`` values, where the type allows, is spread."""
        # every key is an argument here; bind_params reports the ones that are not
        given = _evaluate_args(args, names, where, skip=())
        for key, (value, loc) in given.items():
            decl = block.params.get(key)
            if decl is None or decl.param_type.matches(value):
                continue
            if isinstance(value, list) and len(value) == n:
                given[key] = (value[stage - 1], loc)
            else:
                raise where.error(
                    f"`{key}` needs {decl.param_type}, or a list of {n} such values "
                    f"(one per stage), got {value!r}",
                    loc=loc,
                )
        return given

    # ------------------------------------------------------------------ nodes

    def _add(self, node: Node) -> str:
        _check_name(node.name, node.source)
        if node.name in self._models:
            raise node.source.error(
                f"layer name `{node.name}` is already the name of a `sequential` model",
                hint="give one of them a different name",
            )
        if node.name in self.graph.nodes:
            first = self.graph.nodes[node.name].source
            where = f" at {first.loc}" if first.loc else f" ({first.path})"
            raise SpecError(
                f"layer name `{node.name}` is already used by another layer{where}",
                loc=node.source.loc,
                path=node.source.path,
                hint="give one of them a different `name`",
            )
        if len(self.graph.nodes) >= self.node_limit:
            raise NodeLimitError(f"the model expands to more than {self.node_limit:,} layers")
        settings = self._settings[-1]
        # a keras.ops operation has no weights, so no `trainable` and no `dtype`
        if settings != _DEFAULT and node.op != "input" and REGISTRY[node.op].layer:
            node.trainable = settings.trainable
            node.dtype = _policy(settings.dtype)
        self.graph.nodes[node.name] = node
        return node.name


@dataclass(frozen=True)
class _Settings:
    """Layer settings that a step passes to everything it calls."""

    #: False inside any frozen step: Keras's frozen container freezes all it holds
    trainable: bool = True
    #: the innermost dtype policy given (None: Keras's default)
    dtype: str | None = None

    def within(self, trainable: bool | None, dtype: str | None) -> _Settings:
        return _Settings(
            self.trainable and trainable is not False, self.dtype if dtype is None else dtype
        )


#: the settings of a layer no step changes
_DEFAULT = _Settings()


def _policy(dtype: str | None) -> str | None:
    """None for Keras's default policy, which a layer's config does not tell apart."""
    return None if dtype == FLOAT32 else dtype


def _check_name(name: str, where: Source) -> None:
    """Refuse a layer name that Keras, a saved file or a terminal cannot take."""
    bad = _BAD_NAME_CHAR.search(name)
    problem = None
    if not name:
        problem = "a layer needs a name that is not empty"
    elif bad is not None:
        what = "`/`" if bad.group() == "/" else "a control character"
        problem = f"layer name `{name}` contains {what}, which a layer name may not hold"
    elif len(name) > MAX_NAME_CHARS:
        problem = (
            f"layer name `{name[:40]}...` is {len(name):,} characters long, more than "
            f"the limit of {MAX_NAME_CHARS}"
        )
    if problem is not None:
        raise where.error(problem)


def _check_sequential(name: str, members: list[Node], x: str, out: str, where: Source) -> None:
    """A nested ``keras.Sequential`` holds a chain of layers: each takes the one before."""
    if not members:
        raise where.error(f"`sequential` model `{name}` would hold no layer")
    previous = x
    for node in members:
        if node.model is not None:
            raise where.error(
                f"`sequential` models do not nest: `{node.name}` is already in `{node.model}`"
            )
        if not REGISTRY[node.op].layer:
            raise where.error(
                f"`{node.name}` is a tensor operation (`{node.op}`); a `sequential` model "
                "holds layers only"
            )
        if node.inputs != [previous]:
            raise where.error(
                f"the layers of `sequential` model `{name}` must form a chain, each taking "
                f"the one before; `{node.name}` takes " + ", ".join(f"`{i}`" for i in node.inputs)
            )
        previous = node.name
    if previous != out:
        raise where.error(f"the chain of `sequential` model `{name}` does not end at its output")


def model_name(spec: Spec, params: Mapping[str, Any], raw: Any = None) -> str:
    """The Keras model's name: the spec's ``name`` with its expressions evaluated."""
    if "$" not in spec.name:
        return spec.name
    where = Source(locate(raw, ("name",)), "name")
    value = _expr(spec.name, params, where)
    problem = check_model_name(str(value))
    if problem is not None:
        raise where.error(f"{problem}; this name gives {str(value)!r}")
    return str(value)


def resolve_top_params(
    spec: Spec, overrides: Mapping[str, Any], *, file: str | None = None
) -> dict[str, Any]:
    """Top-level parameter values: declared defaults replaced by ``--set`` / API overrides."""
    given: dict[str, tuple[Any, Loc | None]] = {}
    for name, value in overrides.items():
        if name not in spec.params:
            known = ", ".join(f"`{p}`" for p in spec.params) or "none"
            # a name computed from the parameters (`resnet${depth}`) is not known yet
            whose = "the spec" if "${" in spec.name else f"`{spec.name}`"
            raise SpecError(
                f"{whose} has no parameter `{name}`",
                path=f"--set {name}",
                hint=did_you_mean(name, spec.params) or f"its parameters: {known}",
                file=file,
            )
        decl = spec.params[name]
        try:
            # null fits an optional parameter, as in a block call (`pooling: null`)
            checked = None if value is None and not decl.required else decl.param_type.check(value)
            given[name] = (checked, None)
            problem = decl.not_a_choice(checked)
            if problem is not None:
                raise ValueError(problem)
        except ValueError as exc:
            raise SpecError(
                f"`{name}` of `{spec.name}`: {exc}", path=f"--set {name}", file=file
            ) from None
    where = Source(None, "params")
    try:
        return bind_params(spec.params, given, where, what=f"`{spec.name}`")
    except SpecError as exc:
        if exc.file is None:
            exc.file = file
        raise


def expand(
    spec: Spec,
    params: Mapping[str, Any],
    *,
    node_limit: int = DEFAULT_NODE_LIMIT,
    raw: Any = None,
    overridden: Iterable[str] = (),
) -> Graph:
    """The IR graph of ``spec`` for top-level parameter values from :func:`resolve_top_params`.

    ``raw`` is the loaded document, if at hand, so errors in top-level fields get a line.
    ``overridden`` names the parameters set by the caller, whose out-of-range values
    are then reported at their ``--set``.
    """
    with gc_paused():
        expander = Expander(spec, node_limit=node_limit, raw=raw, overridden=frozenset(overridden))
        return expander.run(params)


__all__ = ["Expander", "Scope", "expand", "model_name", "resolve_top_params"]
