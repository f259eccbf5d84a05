"""The spec language as pydantic v2 models.

These models check the *structure* of a spec: which keys exist, what kind of value
each holds, that names are well formed and that nothing unknown slips through.
Attribute values may be ``$`` expressions, so an op's attribute types are checked
again during expansion, once every expression has a value (``archspec.expand``).

Raw YAML is normalised before validation (``"relu"`` -> a call with no arguments,
``{conv2d: {...}, name: x}`` -> one :class:`Step`), and each step keeps the raw
mapping it came from so later stages can point at its line and column.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    PrivateAttr,
    StrictBool,
    StrictInt,
    Tag,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from archspec.errors import did_you_mean
from archspec.spec.params import ParamType

IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
#: what a step may call: a block or op name; ops may have a namespace (`ops.add`)
CALLEE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")
#: longest model name: `NAME.keras` must stay a valid file name (255 bytes)
MAX_NAME_CHARS = 200
#: keys a call may carry besides its arguments
STEP_KEYS = ("name", "if", "repeat", "trainable", "dtype", "sequential")
#: names bound by archspec itself inside repeats and stages
BUILTIN_NAMES = ("index", "stage", "in_shape")
RESERVED_PARAM_NAMES = (*STEP_KEYS, *BUILTIN_NAMES, "input")

Expr = Annotated[str, Field(pattern=r"^\$", description="An expression such as `$filters * 4`.")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, defer_build=True)


def _format_version(value: Any) -> Any:
    # `true` and `1.0` equal 1 in Python, and a lax Literal[1] would take them
    if type(value) is not int:
        raise ValueError("the format version is the whole number 1 (`archspec: 1`)")
    return value


FormatVersion = Annotated[
    Literal[1], BeforeValidator(_format_version), Field(description="Version of the spec format.")
]


# --------------------------------------------------------------------------- params


class ParamDecl(_Model):
    """A declared parameter: its type, and its default unless it is required."""

    # a mapping may leave `type` out when it gives a default, whose type is then taken
    type: str = Field(
        default="any",
        description="int, float, bool, str, any, or a list such as int[3] / int[] (default: "
        "the type of `default`).",
    )
    default: Any = Field(default=None, description="Value used when the caller gives none.")
    required: StrictBool = Field(default=False, description="True when a caller must give a value.")
    doc: str | None = Field(default=None, description="What the parameter means.")
    choices: list[Any] | None = Field(
        default=None,
        description="The only values the parameter may take (`[null, avg, max]`).",
    )

    @model_validator(mode="before")
    @classmethod
    def _from_shorthand(cls, raw: Any) -> Any:
        # `int` declares a required int; any other plain value is a default whose type is
        # inferred; a mapping is the long form {type, default, doc}.
        if isinstance(raw, str) and raw.startswith("$"):
            return {"type": "any", "default": raw}  # an expression default: any type
        if isinstance(raw, str):
            try:
                ParamType.parse(raw)
            except ValueError:
                return {"type": str(ParamType.infer(raw)), "default": raw}
            return {"type": raw, "required": True}
        if isinstance(raw, dict):
            data = dict(raw)
            if "type" not in data:
                if "default" not in data:
                    raise ValueError("a parameter mapping needs `type`, `default` or both")
                default = data["default"]
                data["type"] = "any" if _is_expr(default) else str(ParamType.infer(default))
            data.setdefault("required", "default" not in raw)
            return data
        return {"type": str(ParamType.infer(raw)), "default": raw}

    @model_validator(mode="after")
    def _default_fits(self) -> ParamDecl:
        ptype = self.param_type
        if not self.required and self.default is not None and not _is_expr(self.default):
            try:
                self.default = ptype.check(self.default)
            except ValueError as exc:
                raise ValueError(f"default does not fit its type: {exc}") from None
        if self.choices is not None:
            for choice in self.choices:
                if choice is not None and not _is_expr(choice):
                    try:
                        ptype.check(choice)
                    except ValueError as exc:
                        raise ValueError(
                            f"choice {choice!r} does not fit the type: {exc}"
                        ) from None
            if not self.required and not _is_expr(self.default):
                problem = self.not_a_choice(self.default)
                if problem:
                    raise ValueError(f"the default: {problem}")
        return self

    def not_a_choice(self, value: Any) -> str | None:
        """What is wrong with ``value`` given the parameter's ``choices``, or None."""
        if self.choices is None or any(type(value) is type(c) and value == c for c in self.choices):
            return None
        listed = ", ".join("null" if c is None else repr(c) for c in self.choices)
        return f"must be one of {listed}, got {'null' if value is None else repr(value)}"

    @field_validator("type")
    @classmethod
    def _type_parses(cls, value: str) -> str:
        ParamType.parse(value)
        return value

    @property
    def param_type(self) -> ParamType:
        return ParamType.parse(self.type)


def _is_expr(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("$")


def _check_param_names(params: dict[str, ParamDecl]) -> dict[str, ParamDecl]:
    for name in params:
        if not isinstance(name, str) or not IDENT.match(name):
            raise ValueError(f"parameter name `{name}` is not an identifier")
        if name in RESERVED_PARAM_NAMES:
            raise ValueError(f"`{name}` is reserved and cannot name a parameter")
    return params


Params = Annotated[
    dict[str, ParamDecl],
    Field(
        default_factory=dict,
        description="Parameters: `name: int` (required), `name: 3` (default), or "
        "`name: {type, default, doc}`.",
    ),
]


# --------------------------------------------------------------------------- steps


def _mapping(value: Any) -> Any:
    # the mapping itself is kept (not copied) so its YAML positions survive
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise ValueError("expected a mapping of parameter names to values")
    return value


ArgMap = Annotated[Any, AfterValidator(_mapping), WithJsonSchema({"type": "object"})]


#: Keras's dtype policies: the type of a layer's weights and of its computation
DtypePolicy = Literal[
    "float16", "bfloat16", "float32", "float64", "mixed_float16", "mixed_bfloat16"
]


class StagesDef(_Model):
    """A block repeated in stages, each stage with its own repeat count and arguments."""

    block: str = Field(description="The block each repeat calls.")
    repeats: list[StrictInt | Expr] | Expr = Field(
        description="Repeat count of each stage; its length is the number of stages."
    )
    args: ArgMap = Field(
        default_factory=dict,
        description="Arguments for every repeat. A list with one entry per stage, where the "
        "parameter is not itself that list, gives each stage its own value.",
    )
    first: ArgMap = Field(
        default_factory=dict,
        description="Arguments that override `args` for the first repeat of each stage.",
    )
    last: ArgMap = Field(
        default_factory=dict,
        description="Arguments that override `args` (and `first`) for the last repeat of "
        "each stage (ResNet v2's stride).",
    )
    name: str | None = Field(
        default=None, description="Scope name of each stage (default `stage${stage}`)."
    )
    block_name: str | None = Field(
        default=None,
        description="Scope name of each repeat within a stage (default `block${index}`).",
    )
    trainable: StrictBool | list[StrictBool] | Expr | None = Field(
        default=None,
        description="`false` freezes every stage, or one value per stage (`[false, true]`).",
    )
    dtype: DtypePolicy | Expr | None = Field(
        default=None, description="Keras dtype policy of every layer of the stages."
    )
    between: list[Step] = Field(
        default_factory=list,
        description="Steps applied after each stage but the last (DenseNet's transitions), "
        "in the scope around the stages; `stage` is the stage just done.",
    )

    @model_validator(mode="wrap")
    @classmethod
    def _locs(cls, raw: Any, handler: Any) -> StagesDef:
        stages = handler(raw)
        _attach_locs(stages.between, raw.get("between") if isinstance(raw, dict) else None)
        return stages


class Step(_Model):
    """One item of a sequence: a call of an op or block, or a `stages` construct."""

    kind: Literal["call", "stages"]
    call: str | None = None
    args: Any = None
    name: str | None = None
    if_: Any = Field(default=None, alias="if")
    repeat: StrictInt | Expr | None = None
    trainable: StrictBool | Expr | None = Field(
        default=None,
        description="`false` freezes the layer, or every layer of the block or stages called.",
    )
    dtype: DtypePolicy | Expr | None = Field(
        default=None,
        description="Keras dtype policy of the layer, or of every layer of the block called "
        "(`float32` keeps a classifier head exact under `mixed_float16`).",
    )
    sequential: str | None = Field(
        default=None,
        description="Emit the layers of this call as one nested `keras.Sequential` model "
        "of this name (ConvNeXt's stem); they must form a chain.",
    )
    stages: StagesDef | None = None
    # where the step came from. A plain field rather than a private attribute, which
    # pydantic reads through a slow __getattr__; a step's raw YAML is normalised into a
    # fresh dict first, so a spec cannot set it
    loc: Any = Field(default=None, exclude=True, repr=False)

    @model_validator(mode="wrap")
    @classmethod
    def _keep_loc(cls, raw: Any, handler: Any) -> Step:
        step = handler(_normalise_step(raw))
        step.loc = getattr(raw, "loc", None)
        return step


def _normalise_step(raw: Any) -> Any:
    if isinstance(raw, Step):
        return raw
    if isinstance(raw, str):
        if not CALLEE.match(raw):
            raise ValueError(f"`{raw}` is not an op or block name")
        return {"kind": "call", "call": raw, "args": None}
    if not isinstance(raw, dict) or not raw:
        raise ValueError(
            "a step is an op or block name, or a one-key mapping such as "
            "`conv2d: {filters: 64, kernel_size: 3}`"
        )
    calls = [k for k in raw if k not in STEP_KEYS]
    if len(calls) != 1:
        if not calls:
            raise ValueError("this step names no op or block")
        raise ValueError(
            "a step calls one op or block, but this one names "
            + ", ".join(f"`{c}`" for c in calls)
            + " (start each with its own `- `)"
        )
    callee = calls[0]
    if not isinstance(callee, str) or not CALLEE.match(callee):
        raise ValueError(f"`{callee}` is not an op or block name")
    extra = {k: raw[k] for k in STEP_KEYS if k in raw}
    if callee == "stages":
        if not isinstance(raw[callee], dict):
            raise ValueError(
                "`stages` takes a mapping: `{block: ..., repeats: [...], args: {...}}`"
            )
        if "sequential" in extra:
            raise ValueError(
                "`sequential` groups the layers of one call; put it on a block call "
                "inside the stage's block instead of on `stages`"
            )
        inside = [k for k in ("repeat", "name", "trainable", "dtype") if k in extra]
        if inside:
            raise ValueError(
                f"`stages` takes `{inside[0]}` inside its mapping, e.g. "
                "`stages: {block: ..., repeats: [...], trainable: false}`"
            )
        out = {"kind": "stages", "stages": raw[callee]}
        if "if" in extra:
            out["if"] = extra["if"]
        return out
    args = raw[callee]
    if isinstance(args, dict):
        # YAML reads `102: 3` as a number key; arguments and attributes are named
        unnamed = [k for k in args if not isinstance(k, str)]
        if unnamed:
            raise ValueError(f"`{unnamed[0]}` is not a name: `{callee}` takes named arguments")
        inner = {k: args[k] for k in STEP_KEYS if k in args}
        clash = set(inner) & set(extra)
        if clash:
            raise ValueError(f"`{sorted(clash)[0]}` is given twice, inside and beside `{callee}`")
        extra.update(inner)
    return {"kind": "call", "call": callee, "args": args, **extra}


class Branch(_Model):
    """A named path through a graph: a sequence starting from another node."""

    from_: str = Field(
        default="input",
        alias="from",
        description="The node this branch starts from (default: the block's input).",
    )
    if_: Any = Field(
        default=None,
        alias="if",
        description="Condition; when false the branch is `else` (default: passes its input on).",
    )
    layers: list[Step] = Field(default_factory=list, description="The branch's sequence.")
    else_: list[Step] = Field(default_factory=list, alias="else")
    _loc: Any = PrivateAttr(default=None)

    @model_validator(mode="wrap")
    @classmethod
    def _normalise(cls, raw: Any, handler: Any) -> Branch:
        data = raw
        if isinstance(raw, list):
            data = {"layers": raw}
        elif isinstance(raw, dict) and "then" in raw:
            if "layers" in raw:
                raise ValueError("give a branch `then` or `layers`, not both")
            data = {("layers" if k == "then" else k): v for k, v in raw.items()}
        branch = handler(data)
        branch._loc = getattr(raw, "loc", None)
        _attach_locs(branch.layers, data.get("layers") if isinstance(data, dict) else None)
        _attach_locs(branch.else_, data.get("else") if isinstance(data, dict) else None)
        return branch

    @model_validator(mode="after")
    def _else_needs_if(self) -> Branch:
        if "else_" in self.model_fields_set and self.if_ is None:
            raise ValueError("`else` needs an `if` on the same branch")
        return self


def _attach_locs(steps: list[Step] | None, raw: Any) -> None:
    """Give each step the position of its list item (plain-string steps have no other)."""
    item_locs = getattr(raw, "item_locs", None)
    if not steps or not item_locs:
        return
    for step, loc in zip(steps, item_locs, strict=False):
        step.loc = loc


Sequence = Annotated[list[Step], Field(description="Steps applied one after another.")]
Graph = Annotated[
    dict[str, Branch],
    Field(description="Named branches, merged by name; the last branch is the output."),
]


def _check_graph(graph: dict[str, Branch] | None) -> dict[str, Branch] | None:
    if graph is None:
        return None
    if not graph:
        raise ValueError("a graph needs at least one branch")
    for name in graph:
        if not isinstance(name, str) or not IDENT.match(name):
            raise ValueError(f"branch name `{name}` is not an identifier")
        if name == "input":
            raise ValueError("`input` names the block's input and cannot name a branch")
    return graph


# --------------------------------------------------------------------------- blocks


class BlockDef(_Model):
    """A named, parameterised block: a sequence (`layers`) or a graph of branches."""

    doc: str | None = Field(default=None, description="What the block is.")
    params: Params
    inputs: list[str] = Field(
        default_factory=list,
        description="Names of further input nodes, besides `input` (the step before): a "
        "call names a node for each, e.g. `cell: {filters: 32, prev: stem}`.",
    )
    layers: Sequence | None = None
    graph: Graph | None = None
    output: str | None = Field(
        default=None,
        description="The branch of `graph` that is the block's output (default: the last).",
    )

    _check_params = field_validator("params")(_check_param_names)
    _check_graph = field_validator("graph")(_check_graph)

    @field_validator("inputs")
    @classmethod
    def _input_names(cls, names: list[str], info: ValidationInfo) -> list[str]:
        params = info.data.get("params") or {}
        for name in names:
            if not IDENT.match(name) or name in RESERVED_PARAM_NAMES:
                raise ValueError(f"`{name}` cannot name a block input (use an identifier)")
            if name in params:
                raise ValueError(f"`{name}` is both a parameter and an input of the block")
        if len(set(names)) < len(names):
            raise ValueError("an input is named twice")
        return names

    @model_validator(mode="after")
    def _output_is_a_branch(self) -> BlockDef:
        if self.output is not None:
            if self.graph is None:
                raise ValueError("`output` names a branch of `graph`; this block has none")
            if self.output not in self.graph:
                hint = did_you_mean(self.output, self.graph)
                raise ValueError(
                    f"`output` names `{self.output}`, which is not a branch of the graph"
                    + (f" ({hint})" if hint else "")
                )
        return self

    @model_validator(mode="after")
    def _branches_are_not_block_inputs(self) -> BlockDef:
        for name in self.graph or {}:
            if name in self.inputs:
                raise ValueError(f"branch `{name}` has the name of a block input; rename one")
        return self

    @model_validator(mode="wrap")
    @classmethod
    def _locs(cls, raw: Any, handler: Any) -> BlockDef:
        block = handler(raw)
        _attach_locs(block.layers, raw.get("layers") if isinstance(raw, dict) else None)
        return block

    @model_validator(mode="after")
    def _one_body(self) -> BlockDef:
        if (self.layers is None) == (self.graph is None):
            raise ValueError("a block has either `layers` (a sequence) or `graph` (branches)")
        return self


# --------------------------------------------------------------------------- spec

Shape = Annotated[
    list[StrictInt | None | Expr] | Expr,
    Field(description="Input shape without the batch axis, e.g. [224, 224, 3]."),
]
#: the element types an input may hold, as Keras names them
InputDtype = Literal[
    "float16", "bfloat16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8",
    "uint16", "uint32", "uint64", "bool",
]  # fmt: skip


class InputDef(_Model):
    """An input with settings besides its shape: token ids are `{shape: [128], dtype: int32}`."""

    shape: Shape
    dtype: InputDtype = Field(
        default="float32", description="Element type (integers for token ids, e.g. `int32`)."
    )


#: an input: its shape, or a mapping of its shape and dtype
InputSpec = Annotated[
    Annotated[Shape, Tag("(shape)")] | Annotated[InputDef, Tag("(settings)")],
    # a mapping is settings, anything else a shape: errors then come from that form only
    Discriminator(lambda v: "(settings)" if isinstance(v, dict | InputDef) else "(shape)"),
    Field(
        description="Input shape without the batch axis (e.g. [224, 224, 3]), or "
        "`{shape: [...], dtype: ...}`."
    ),
]


class OutputDef(_Model):
    """A model output: a node name, kept only while its condition holds."""

    from_: str = Field(alias="from")
    if_: Any = Field(default=None, alias="if")

    @model_validator(mode="before")
    @classmethod
    def _from_name(cls, raw: Any) -> Any:
        return {"from": raw} if isinstance(raw, str) else raw


#: an expression embedded in text (`${...}`), or a literal dollar (`$$`)
_TEMPLATE_PART = re.compile(r"\$\$|\$\{[^}]*\}")


def check_model_name(value: str) -> str | None:
    """What is wrong with a model name, or None: it names the Keras model and its file."""
    if not re.match(r"^[A-Za-z0-9_.-]+$", value):
        return "a model name uses letters, digits, `_`, `.` and `-` only"
    if len(value) > MAX_NAME_CHARS:
        return (
            f"a model name has at most {MAX_NAME_CHARS} characters, as it names the saved "
            f"`NAME.keras` file; this one has {len(value):,}"
        )
    return None


class Spec(_Model):
    """A whole architecture."""

    archspec: FormatVersion
    name: str = Field(
        description=f"Model name (also the Keras model's name and its file's): letters, "
        f"digits, `_`, `.` and `-`, at most {MAX_NAME_CHARS} characters. It may embed "
        "expressions over the top-level parameters (`mobilenet_${fixed(alpha, 2)}`).",
        json_schema_extra={"maxLength": MAX_NAME_CHARS},
    )
    description: str | None = None
    extends: str | None = Field(
        default=None, description="Base spec this file refines (path relative to this file)."
    )
    imports: list[str] = Field(
        default_factory=list, description="Block library files whose blocks this spec uses."
    )
    params: Params
    auto_names: Literal["scoped", "keras"] = Field(
        default="scoped",
        description="How layers the spec leaves unnamed are named: `scoped` (after the op, "
        "counted in their scope and prefixed by it) or `keras` (after the Keras class, "
        "counted over the whole model, as Keras names them in a fresh session).",
    )
    dtype_policy: DtypePolicy | None = Field(
        default=None,
        description="Keras dtype policy of every layer that sets none (e.g. `mixed_float16`).",
    )
    input: InputSpec | None = Field(default=None, description="The single input's shape.")
    inputs: dict[str, InputSpec] | None = Field(
        default=None,
        min_length=1,
        description="Named inputs and their shapes, for several inputs.",
    )
    blocks: dict[str, BlockDef] = Field(default_factory=dict, description="Named blocks.")
    layers: Sequence | None = None
    graph: Graph | None = None
    outputs: list[OutputDef] | None = Field(
        default=None, description="Output nodes (default: the end of `layers` / last branch)."
    )

    _check_params = field_validator("params")(_check_param_names)
    _check_graph = field_validator("graph")(_check_graph)

    @field_validator("name")
    @classmethod
    def _name_ok(cls, value: str) -> str:
        # a name that embeds expressions is checked whole once the parameters are known
        problem = check_model_name(_TEMPLATE_PART.sub("x", value))
        if problem is not None:
            raise ValueError(problem)
        return value

    @field_validator("graph")
    @classmethod
    def _branches_are_not_inputs(
        cls, graph: dict[str, Branch] | None, info: ValidationInfo
    ) -> dict[str, Branch] | None:
        # `from: image` would be a guess between the input and the branch
        inputs = info.data.get("inputs") or {}
        for name in graph or {}:
            if name in inputs:
                raise ValueError(
                    f"branch `{name}` has the name of a model input; rename the branch"
                )
        return graph

    @field_validator("blocks")
    @classmethod
    def _block_names(cls, blocks: dict[str, BlockDef]) -> dict[str, BlockDef]:
        from archspec.ops import REGISTRY

        for name in blocks:
            if not isinstance(name, str) or not IDENT.match(name):
                raise ValueError(f"block name `{name}` is not an identifier")
            if name in REGISTRY or name == "stages":
                raise ValueError(f"block `{name}` would hide the built-in `{name}`; rename it")
        return blocks

    @model_validator(mode="wrap")
    @classmethod
    def _locs(cls, raw: Any, handler: Any) -> Spec:
        spec = handler(raw)
        _attach_locs(spec.layers, raw.get("layers") if isinstance(raw, dict) else None)
        return spec

    @model_validator(mode="after")
    def _shape(self) -> Spec:
        if (self.input is None) == (self.inputs is None):
            raise ValueError("give exactly one of `input` (one shape) or `inputs` (named shapes)")
        if (self.layers is None) == (self.graph is None):
            raise ValueError("give the model's body as either `layers` or `graph`")
        return self


class BlockLibrary(_Model):
    """A file of blocks that specs import."""

    archspec: FormatVersion
    description: str | None = None
    imports: list[str] = Field(default_factory=list)
    blocks: dict[str, BlockDef]
