"""``archspec list``: the bundled specs, with what each one is and costs."""

from __future__ import annotations

import json
import shutil
import sys
from typing import Any

import click

from archspec.cli import json_option, report
from archspec.console import emit_json, json_mode, quiet
from archspec.errors import SpecError, did_you_mean
from archspec.table import Column, aligned, human


def _params_text(entry: dict[str, Any]) -> str:
    """``depths=[3, 4, 6, 3], pooling=null``: values as they are written in YAML and --set."""
    return ", ".join(f"{p['name']}={json.dumps(p['default'])}" for p in entry["params"]) or "-"


@click.command("list")
@click.argument("names", nargs=-1, metavar="[NAME...]")
@click.option("--long", "long_form", is_flag=True, help="Show each spec's parameters.")
@json_option
@report
def list_specs(names: tuple[str, ...], long_form: bool) -> None:
    """The bundled specs: name, description, parameters, weights and MACs.

    Every name works wherever a spec path does (`archspec build resnet50`). The figures
    are computed from the specs with their defaults, without TensorFlow.

    \b
    Examples:
      archspec list
      archspec list resnet50 mobilenet_v2 --json
    """
    from archspec.zoo import bundled, catalogue

    known = bundled()
    for name in names:
        if name not in known:
            raise SpecError(
                "no bundled spec has this name", file=name, hint=did_you_mean(name, known)
            )
    entries = catalogue(list(dict.fromkeys(names)) or None)
    if json_mode():
        emit_json({"specs": entries})
        return
    if quiet():
        return
    rows = [
        (
            entry["name"],
            human(entry.get("weights")),
            human(entry.get("macs")),
            f"error: {entry['error']}"
            if "error" in entry
            else (_params_text(entry) if long_form else entry["description"]),
        )
        for entry in entries
    ]
    columns = (
        Column("name"),
        Column("weights", right=True),
        Column("MACs", right=True),
        Column("parameters" if long_form else "description"),
    )
    # a terminal gets one line per spec, cut at its edge; a pipe gets whole lines to grep
    width = shutil.get_terminal_size().columns if sys.stdout.isatty() and not long_form else 0
    for line in aligned(columns, rows):
        click.echo(line[: width - 1] + "…" if 0 < width < len(line) else line)
