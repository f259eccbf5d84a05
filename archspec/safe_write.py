"""Writing output files so that nothing half-written is ever left behind.

Every command that writes (``build``, ``export``, ``draw``, ``schema -o``) checks its
output path before any work, writes beside the target and renames, and turns SIGTERM and
SIGHUP into an exception so the temporary file is removed on the way out. The Python API
(:mod:`archspec.export`) writes the same way, so these live outside the command line.
"""

from __future__ import annotations

import contextlib
import os
import signal
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from archspec.errors import SpecError

#: signals that end a build cleanly: the temporary model file is removed first
_CLEAN_EXIT_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


class Terminated(BaseException):
    """A termination signal arrived; raised where the process was, so cleanup runs."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


@contextlib.contextmanager
def signals_raise() -> Iterator[None]:
    """While inside, SIGTERM and SIGHUP raise :class:`Terminated` instead of killing."""

    def handler(signum: int, frame: Any) -> None:
        raise Terminated(signum)

    previous = {s: signal.signal(s, handler) for s in _CLEAN_EXIT_SIGNALS}
    try:
        yield
    finally:
        for s, old in previous.items():
            signal.signal(s, old)


def check_output(out: Path, what: str, suffix: str | None = None) -> None:
    """Refuse, before any work, an output path that cannot take a new file.

    A FIFO would block the write, a device would swallow it, a symbolic-link loop or a
    NUL byte would fail late: each is one line now, and nothing is built first.
    """
    if suffix is not None and out.suffix != suffix:
        raise SpecError(f"the output file must end in `{suffix}`, got `{out.name}`", file=str(out))
    from archspec.loader.files import path_problem

    problem = path_problem(out, kind=what)
    if problem is not None:
        raise SpecError(f"cannot write {what} there: the path {problem}", file=str(out))
    parent = out.parent
    if not parent.is_dir():
        raise SpecError(f"cannot write {what}: folder `{parent}` does not exist", file=str(out))
    if not os.access(parent, os.W_OK) or (out.exists() and not os.access(out, os.W_OK)):
        raise SpecError(f"cannot write {what}: permission denied", file=str(out))


def write_atomically(write: Callable[[str], None], out: Path) -> None:
    """``write(path)`` to a temporary file beside ``out``, then rename: never a half file.

    The file is flushed to disk before the rename, and the folder after it, so a crash
    leaves the old file or the whole new one. Any exception (an interrupt, a signal
    turned into :class:`Terminated`) removes the temporary file. Signals are held back
    while it is created, so none can arrive between its creation and the cleanup's
    knowing its name.
    """
    held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, *_CLEAN_EXIT_SIGNALS})
    tmp: str | None = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{out.stem}.", suffix=out.suffix, dir=out.parent)
        os.close(fd)
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
        write(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        fsync(tmp)
        os.replace(tmp, out)
        fsync(out.parent)
    except BaseException:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        raise
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)


def fsync(path: str | Path) -> None:
    """Flush a file's (or a folder's entries') data to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
