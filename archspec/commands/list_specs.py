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


def _human(count: int | None) -> str:
    """``25,557,032`` -> ``25.6M``; None (a MAC count no rule knows) -> ``?``."""
    if count is None:
        return "?"
    for unit, size in (("G", 10**9), ("M", 10**6), ("k", 10**3)):
        if count >= size:
            return f"{count / size:.1f}{unit}"
    return str(count)


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
            _human(entry.get("weights")),
            _human(entry.get("macs")),
            f"error: {entry['error']}"
            if "error" in entry
            else (_params_text(entry) if long_form else entry["description"]),
        )
        for entry in entries
    ]
    heads = ("name", "weights", "MACs", "parameters" if long_form else "description")
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(heads[:3])]
    # a terminal gets one line per spec, cut at its edge; a pipe gets whole lines to grep
    room = shutil.get_terminal_size().columns - sum(widths) - 6 if sys.stdout.isatty() else 0
    for name, weights, macs, detail in (heads, *rows):
        if 0 < room < len(detail) and not long_form:
            detail = detail[: max(room, 20) - 1] + "…"
        line = f"{name:<{widths[0]}}  {weights:>{widths[1]}}  {macs:>{widths[2]}}  {detail}"
        click.echo(line.rstrip())
