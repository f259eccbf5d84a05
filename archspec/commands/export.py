"""``archspec export``: a spec or a Keras model file as a SavedModel, TFLite or ONNX artefact."""

from __future__ import annotations

import click

from archspec.cli import (
    SPEC,
    json_option,
    limit_option,
    parse_overrides,
    report,
    root_option,
    set_option,
    signals_raise,
)
from archspec.console import emit_json, json_mode, progress, say, warn
from archspec.export import FORMATS


@click.command("export")
@click.argument("source", metavar="SPEC_OR_MODEL", type=SPEC)
@click.option(
    "-f",
    "--format",
    "fmt",
    required=True,
    type=click.Choice(list(FORMATS), case_sensitive=False),
    help="savedmodel: a TensorFlow SavedModel directory; tflite: a .tflite file; "
    "onnx: a .onnx file (needs `pip install 'archspec[export]'`).",
)
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(),
    help="Where to write: a directory for savedmodel (an earlier export there is "
    "replaced), else a file with the format's suffix.",
)
@set_option
@root_option
@limit_option
@json_option
@report
def export(
    source: str,
    fmt: str,
    output: str,
    sets: tuple[str, ...],
    include_roots: tuple[str, ...],
    max_nodes: int,
) -> None:
    """Write SPEC_OR_MODEL as a SavedModel, a TFLite file or an ONNX file.

    SPEC_OR_MODEL is a spec (a file, `-` for standard input, or a bundled spec's name),
    built with fresh weights, or a Keras model file (.keras, legacy .h5), exported with
    its own. The output is written whole or not at all. Outputs keep the Keras model's
    order in every format (`output_0`, `output_1`, ... in the serving signature).

    \b
    Examples:
      archspec export specs/lenet5.yaml --format tflite -o lenet5.tflite
      archspec export trained.keras --format onnx -o trained.onnx --json
    """
    from archspec.export import export as run_export

    debug = bool(click.get_current_context().meta.get("archspec.debug"))
    with signals_raise():
        result = run_export(
            source,
            output,
            fmt.lower(),
            parse_overrides(sets),
            node_limit=max_nodes,
            include_roots=include_roots,
            quiet=not debug,
            progress=progress,
        )
    if result.batch_of_one:
        warn(
            "the TFLite model takes batches of one: some of its layers convert to TFLite's "
            "built-in ops only at a fixed batch size"
        )
    if json_mode():
        emit_json(result.to_json())
    else:
        say(f"wrote {result.output} ({result.format}, {result.bytes:,} bytes)")
