"""What a command prints, and where: results on stdout, progress and warnings on stderr.

Every command shares three conventions, kept here so each command only says *what* to
print:

- ``-q`` / ``--quiet``: nothing but errors is printed (results, warnings, progress).
- ``--json``: stdout holds exactly one JSON document and nothing else.
- Progress (a spinner with what Keras is doing) goes to stderr, and only when stderr is
  a terminal, so pipes, files and CI logs never see it.

The state lives in the click context of the running command, so the functions work
from any module without being handed options.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import Any

import click

#: where the running command's ``-q`` and ``--json`` are kept (in its click context's meta)
QUIET_KEY = "archspec.quiet"
JSON_KEY = "archspec.json"


def _meta() -> dict[str, Any]:
    ctx = click.get_current_context(silent=True)
    return ctx.meta if ctx is not None else {}


def quiet() -> bool:
    """Whether ``-q`` was given: print nothing but errors."""
    return bool(_meta().get(QUIET_KEY))


def json_mode() -> bool:
    """Whether ``--json`` was given: stdout is one JSON document."""
    return bool(_meta().get(JSON_KEY))


def say(text: str) -> None:
    """A human-readable result line on stdout; silent under ``-q`` and ``--json``."""
    if not quiet() and not json_mode():
        click.echo(text)


def warn(text: str) -> None:
    """A warning line on stderr; silent under ``-q``."""
    if not quiet():
        click.echo(f"warning: {text}", err=True)


def emit_json(data: dict[str, Any]) -> None:
    """The command's JSON document on stdout (under ``--json``; silent under ``-q``)."""
    if quiet():
        return
    from archspec.jsonout import dumps

    click.echo(dumps(data))


def _interactive() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


@contextlib.contextmanager
def progress(message: str) -> Iterator[None]:
    """A spinner on stderr saying ``message`` while the block runs, for a person at a terminal.

    Nothing is shown under ``-q``, or when stderr is not a terminal (a pipe, a file, a
    test), so machine-read output never holds spinner frames.
    """
    if quiet() or not _interactive():
        yield
        return
    from rich.console import Console

    # a descriptor of its own: Keras's import points fd 2 at a file for a while (see
    # archspec.emit.keras_emitter.import_keras), and the spinner must go on meanwhile
    sys.stderr.flush()
    with (
        os.fdopen(os.dup(sys.stderr.fileno()), "w") as terminal,
        Console(file=terminal).status(message, spinner="dots"),
    ):
        yield
