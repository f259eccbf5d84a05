"""The ``archspec`` command line.

Every failure a person can fix ends as one ``file:line:col: spec.path: message`` line
on stderr and exit code 2, without a traceback unless ``--debug`` is given. Only
``build`` imports Keras; ``validate`` and ``schema`` stay fast and framework-free.
"""

from __future__ import annotations

import functools
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from archspec.console import (
    JSON_KEY,
    QUIET_KEY,
    emit_json,
    json_mode,
    progress,
    quiet,
    say,
    warn,
)
from archspec.errors import SpecError, printable
from archspec.safe_write import (  # noqa: F401 - the commands' modules take them from here
    Terminated,
    check_output,
    signals_raise,
    write_atomically,
)

EXIT_ERROR = 2


class _Group(click.Group):
    """The command group, with click's usage errors as one line like every other error."""

    def main(self, args: Any = None, prog_name: Any = None, **extra: Any) -> Any:
        extra["standalone_mode"] = False
        try:
            return super().main(args, prog_name, **extra)
        except click.exceptions.NoArgsIsHelpError as exc:
            click.echo(exc.ctx.get_help() if exc.ctx else "")
            sys.exit(0)
        except click.UsageError as exc:
            where = exc.ctx.command_path if exc.ctx else "archspec"
            message = printable(exc.format_message())
            click.echo(f"error: {message} (see `{where} --help`)", err=True)
            sys.exit(EXIT_ERROR)
        except click.ClickException as exc:
            click.echo(f"error: {printable(exc.format_message())}", err=True)
            sys.exit(exc.exit_code)
        except click.exceptions.Abort:
            click.echo("interrupted", err=True)
            sys.exit(130)


def _warn_plugins() -> None:
    """One warning line per installed op plugin that could not be used."""
    from archspec.ops import PLUGIN_ERRORS, REGISTRY

    REGISTRY.read_plugins()
    for error in PLUGIN_ERRORS:
        warn(f"{printable(error.message)} (its ops are not available)")


def _mode_flag(*names: str, key: str, help: str) -> Callable[[Any], Any]:
    """A flag that is no function argument: it sets ``key`` in the command's context,
    where :mod:`archspec.console` reads it."""

    def remember(ctx: click.Context, param: click.Parameter, value: Any) -> None:
        ctx.meta[key] = value

    return click.option(
        *names, is_flag=True, expose_value=False, is_eager=True, callback=remember, help=help
    )


#: ``-q``: print nothing but errors (read with :func:`archspec.console.quiet`)
quiet_option = _mode_flag("-q", "--quiet", key=QUIET_KEY, help="Print nothing but errors.")

#: ``--json``: stdout is one JSON document (read with :func:`archspec.console.json_mode`)
json_option = _mode_flag(
    "--json", key=JSON_KEY, help="Print one JSON document on stdout instead of text."
)


def report(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn SpecError (and any unexpected crash) into one message and exit code 2.

    Also gives the command ``--debug`` and ``-q``.
    """

    @click.option("--debug", is_flag=True, help="Show a traceback on errors.")
    @quiet_option
    @functools.wraps(func)
    def wrapper(*args: Any, debug: bool = False, **kwargs: Any) -> Any:
        click.get_current_context().meta["archspec.debug"] = debug
        if not debug:
            # TensorFlow's C++ start-up chatter (CUDA probing, CPU features) is noise here
            os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        try:
            _warn_plugins()
            return func(*args, **kwargs)
        except SpecError as exc:
            if debug:
                raise
            _print_error(exc)
            if json_mode():
                emit_json({"error": exc.to_json()})
            sys.exit(EXIT_ERROR)
        except BrokenPipeError:
            # the reader went away (`archspec list | head`): stop quietly, as cat does
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            sys.exit(141)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)
        except Terminated as exc:
            click.echo(f"terminated by {signal.Signals(exc.signum).name}", err=True)
            sys.exit(128 + exc.signum)
        except Exception as exc:  # noqa: BLE001 - the last line of defence for users
            if debug:
                raise
            click.echo(
                f"error: internal error: {type(exc).__name__}: {printable(str(exc))} (rerun "
                "with --debug for a traceback)",
                err=True,
            )
            sys.exit(EXIT_ERROR)

    return wrapper


def _print_error(exc: SpecError) -> None:
    click.echo(f"error: {exc.format()}", err=True)


def parse_override(text: str) -> tuple[str, Any]:
    """``NAME=VALUE`` from the command line; VALUE is YAML, under a spec file's limits."""
    from archspec.loader.yaml_source import parse_value

    if "=" not in text:
        raise SpecError(f"`--set {text}` needs the form NAME=VALUE", path="--set")
    name, _, value = text.partition("=")
    name = name.strip()
    if not value.strip():
        return name, ""
    return name, parse_value(value, what=f"--set {name}")


def parse_overrides(values: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for text in values:
        name, value = parse_override(text)
        if name in out:
            raise SpecError(f"`{name}` is set twice", path=f"--set {name}")
        out[name] = value
    return out


def limit_option(func: Callable[..., Any]) -> Callable[..., Any]:
    from archspec.expand.expander import DEFAULT_NODE_LIMIT

    return click.option(
        "--max-nodes",
        type=click.IntRange(min=1),
        default=DEFAULT_NODE_LIMIT,
        show_default=True,
        help="Refuse specs that expand to more layers than this.",
    )(func)


class SpecArg(click.ParamType):
    """A spec: a path, ``-`` for standard input, or a bundled spec's name.

    Only completion is special: the shell offers the bundled names that match and,
    beside them, the files that match; with no name matching, the shell's own file
    completion takes over (bash would otherwise drop the names for the files).
    """

    name = "spec"

    def shell_complete(
        self, ctx: click.Context, param: click.Parameter, incomplete: str
    ) -> list[Any]:
        import glob

        from click.shell_completion import CompletionItem

        from archspec.zoo import bundled

        names = [n for n in bundled() if n.startswith(incomplete)]
        if not names:
            return [CompletionItem(incomplete, type="file")]
        files = sorted(
            path + ("/" if os.path.isdir(path) else "")
            for path in glob.glob(glob.escape(incomplete) + "*")
        )
        return [CompletionItem(item) for item in dict.fromkeys([*files, *names])]


#: the type of every argument that names a spec
SPEC = SpecArg()

root_option = click.option(
    "--include-root",
    "include_roots",
    multiple=True,
    type=click.Path(file_okay=False),
    metavar="DIR",
    help="Also allow `imports`/`extends` from this folder tree (repeatable).",
)

set_option = click.option(
    "--set",
    "sets",
    multiple=True,
    metavar="NAME=VALUE",
    help="Override a top-level parameter (repeatable), e.g. --set classes=10.",
)

allow_import_option = click.option(
    "--allow-import",
    is_flag=True,
    help="Let an import path import and run any Python code (your own module, a "
    "keras.Model subclass, a function returning a model); without it only "
    "keras.applications model functions run.",
)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(
    package_name="archspec",
    # another package installs the same `archspec` module and command (Spack's library
    # of CPU architectures, which conda depends on); say which one this is
    message="%(prog)s %(version)s: the compiler of YAML neural-network architecture "
    "specs into Keras 3 models (not Spack's CPU-architecture library of the same name)",
)
def main() -> None:
    """Compile YAML architecture specs into Keras 3 models."""


@main.command()
@click.argument("specs", nargs=-1, required=True, metavar="SPEC...", type=SPEC)
@set_option
@json_option
@root_option
@limit_option
@report
def validate(
    specs: tuple[str, ...], sets: tuple[str, ...], include_roots: tuple[str, ...], max_nodes: int
) -> None:
    """Check specs without importing TensorFlow; exit 0 when all are valid, 2 otherwise.

    A SPEC is a file, `-` for standard input, or a bundled spec's name.

    \b
    Examples:
      archspec validate specs/*.yaml
      archspec validate my_net.yaml --set classes=10 --json
    """
    from archspec.api import load

    values = parse_overrides(sets)
    results: list[dict[str, Any]] = []
    for path in specs:
        try:
            result = load(path, values, node_limit=max_nodes, include_roots=include_roots)
        except SpecError as exc:
            if click.get_current_context().meta.get("archspec.debug"):
                raise
            _print_error(exc)
            results.append({"spec": printable(path), "ok": False, "error": exc.to_json()})
            continue
        graph = result.graph()
        # counted as Keras counts `model.layers`: input layers included
        say(printable(f"{path}: ok ({result.name}, {len(graph)} layers)"))
        results.append(
            {"spec": printable(path), "ok": True, "model": result.name, "layers": len(graph)}
        )
    ok = all(r["ok"] for r in results)
    if json_mode():
        emit_json({"ok": ok, "specs": results})
    if not ok:
        sys.exit(EXIT_ERROR)


@main.command()
@click.argument("spec", metavar="SPEC", type=SPEC)
@set_option
@click.option("-o", "--output", type=click.Path(), help="Where to save (default: NAME.keras).")
@click.option("--no-save", is_flag=True, help="Build and summarise only.")
@click.option("--summary", is_flag=True, help="Print the Keras layer-by-layer summary.")
@click.option(
    "--weights",
    "weights",
    metavar="SOURCE",
    help="Fill the model from trained weights where they fit: a .keras or legacy .h5 "
    "model file, or a weights file (.weights.h5) with --weights-model; a report says "
    "what moved.",
)
@click.option(
    "--weights-model",
    metavar="MODEL",
    help="The model a weights file belongs to: a spec, a .keras file or an import path "
    "such as keras.applications.ResNet50.",
)
@click.option("--strict", is_flag=True, help="With --weights: fail unless every layer was filled.")
@allow_import_option
@json_option
@root_option
@limit_option
@report
def build(
    spec: str,
    sets: tuple[str, ...],
    output: str | None,
    no_save: bool,
    summary: bool,
    weights: str | None,
    weights_model: str | None,
    strict: bool,
    allow_import: bool,
    include_roots: tuple[str, ...],
    max_nodes: int,
) -> None:
    """Validate and compile SPEC into a Keras model, then save it as a .keras file.

    SPEC is a file, `-` for standard input, or a bundled spec's name (`archspec list`).

    \b
    Examples:
      archspec build specs/googlenet.yaml --set aux=true
      archspec build resnet50 --set classes=10 --weights trained_resnet50.keras
    """
    with signals_raise():
        from archspec.api import load
        from archspec.export import interface, quiet_output

        result = load(
            spec, parse_overrides(sets), node_limit=max_nodes, include_roots=include_roots
        )
        out = Path(output) if output else Path(f"{result.name}.keras")
        if not no_save:
            check_output(out, "the model", ".keras")
        debugging = bool(click.get_current_context().meta.get("archspec.debug"))
        if weights_model is not None and weights is None:
            raise SpecError(
                "--weights-model names the model of a --weights file", path="--weights-model"
            )
        if allow_import and weights_model is None:
            raise SpecError(
                "--allow-import lets --weights-model name an import path; there is none",
                path="--allow-import",
            )
        with progress(f"building {result.name} with Keras"):
            model = result.build(
                quiet=not debugging,
                weights=weights,
                weights_model=weights_model,
                allow_import=allow_import,
            )
        if summary and not json_mode() and not quiet():
            model.summary()
        trainable = sum(int(w.numpy().size) for w in model.trainable_weights)
        total = model.count_params()
        say(
            f"{result.name}: {len(model.layers)} layers, {total:,} parameters "
            f"({trainable:,} trainable, {total - trainable:,} non-trainable)"
        )
        report = result.transfer_report
        if report is not None:
            from archspec.weights import render_text

            say(render_text(report))
            # the report is shown first, so a person sees what did not fit
            error = report.unfilled_error() if strict else None
            if error is not None:
                raise error
        if not no_save:
            try:
                # under JAX or PyTorch, Keras imports TensorFlow while saving: its start-up
                # lines are held back as they are at build time
                with progress(f"saving {out}"), quiet_output(not debugging):
                    write_atomically(model.save, out)
            except OSError as exc:
                raise SpecError(
                    f"cannot write the model: {exc.strerror or exc}", file=str(out)
                ) from None
            say(f"saved {out}")
        if json_mode():
            emit_json(
                {
                    "model": result.name,
                    "layers": len(model.layers),
                    "params": total,
                    "trainable_params": trainable,
                    "non_trainable_params": total - trainable,
                    **{k: [t.to_json() for t in v] for k, v in interface(model).items()},
                    "output": None if no_save else str(out),
                    "weights": report.to_json() if report is not None else None,
                }
            )


@main.command()
@click.argument("spec", metavar="SPEC", type=SPEC)
@set_option
@click.option(
    "--depth",
    type=click.IntRange(min=1),
    help="Collapse the hierarchy below this depth (1: stages only).",
)
@json_option
@root_option
@limit_option
@report
def info(
    spec: str,
    sets: tuple[str, ...],
    depth: int | None,
    include_roots: tuple[str, ...],
    max_nodes: int,
) -> None:
    """Shapes, parameters and MACs per layer and per block, without TensorFlow.

    \b
    Examples:
      archspec info specs/resnet50.yaml --depth 1
      archspec info mobilenet_v2 --set alpha=0.5 --json
    """
    from archspec.analysis.stats import analyse
    from archspec.api import load

    loaded = load(spec, parse_overrides(sets), node_limit=max_nodes, include_roots=include_roots)
    analysis = analyse(loaded.graph())
    if json_mode():
        emit_json(analysis.to_json())
        return
    if quiet():
        return
    from archspec.analysis.report import render_table

    click.echo(render_table(analysis, depth), nl=False)


EXIT_DIFFERENT = 1


@main.command()
@click.argument("a", metavar="A", type=SPEC)
@click.argument("b", metavar="B", type=SPEC)
@set_option
@click.option("--set-a", "sets_a", multiple=True, metavar="NAME=VALUE", help="Override for A only.")
@click.option("--set-b", "sets_b", multiple=True, metavar="NAME=VALUE", help="Override for B only.")
@json_option
@allow_import_option
@root_option
@limit_option
@report
def diff(
    a: str,
    b: str,
    sets: tuple[str, ...],
    sets_a: tuple[str, ...],
    sets_b: tuple[str, ...],
    allow_import: bool,
    include_roots: tuple[str, ...],
    max_nodes: int,
) -> None:
    """What differs between A and B: each a spec, a Keras model file (.keras, legacy .h5)
    or an import path.

    Exit code 0 when identical, 1 when different, 2 on error (as diff(1)); with -q
    only the exit code tells. Keras is imported only for a Keras model.

    \b
    Examples:
      archspec diff resnet50 resnet101
      archspec diff specs/mobilenet_v2.yaml keras.applications.MobileNetV2 --json
    """
    from archspec.compare.diff import diff as compare
    from archspec.compare.sources import is_spec, load_graph

    shared = parse_overrides(sets)
    graphs = []
    for ref, own in ((a, sets_a), (b, sets_b)):
        overrides = {**shared, **parse_overrides(own)} if is_spec(ref) else parse_overrides(own)
        graphs.append(
            load_graph(
                ref,
                overrides,
                max_nodes,
                allow_import=allow_import,
                include_roots=include_roots,
            )
        )
    (graph_a, label_a), (graph_b, label_b) = graphs
    result = compare(graph_a, graph_b, a_label=label_a, b_label=label_b)
    if json_mode():
        emit_json(result.to_json())
    elif not quiet():
        from rich.console import Console

        from archspec.compare.render import render

        console = Console() if sys.stdout.isatty() else Console(width=200)
        console.print(render(result))
    sys.exit(0 if result.identical else EXIT_DIFFERENT)


@main.command()
@click.option("-o", "--output", type=click.Path(), help="Write to a file instead of stdout.")
@report
def schema(output: str | None) -> None:
    """Print the JSON Schema of spec files (for editors and CI checks).

    \b
    Examples:
      archspec schema -o archspec.schema.json
      check-jsonschema --schemafile archspec.schema.json my_net.yaml
    """
    from archspec.spec.schema import schema_text

    text = schema_text()
    if not output:
        if not quiet():
            click.echo(text, nl=False)
        return
    out = Path(output)
    check_output(out, "the schema")
    try:
        write_atomically(lambda path: Path(path).write_text(text, encoding="utf-8"), out)
    except OSError as exc:
        raise SpecError(f"cannot write the schema: {exc.strerror or exc}", file=output) from None


from archspec.commands.list_specs import list_specs as _list_specs  # noqa: E402

main.add_command(_list_specs)

from archspec.commands.export import export as _export  # noqa: E402

main.add_command(_export)

from archspec.commands.draw import draw as _draw  # noqa: E402

main.add_command(_draw)

if __name__ == "__main__":  # pragma: no cover
    main()
