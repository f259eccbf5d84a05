"""Reading files named by people who may not be trusted, without blocking or overreading.

A path may name anything: a FIFO that blocks whoever opens it, a device that never
ends (``/dev/zero``), a directory, a symbolic link that loops, or text no operating
system accepts as a path (a NUL byte, a name over 255 bytes). :func:`path_problem`
says what is wrong with a path without opening it, and works for a path that does not
exist yet (an output file); :func:`read_bounded` reads a regular file without ever
blocking and never more than a given number of bytes.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from archspec.errors import SpecError

#: what a path of each non-regular kind is, for messages
_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)
#: operating-system failures a person can act on, in words
_ERRNO_PROBLEMS = {
    errno.ELOOP: "loops through symbolic links",
    errno.ENAMETOOLONG: "is too long to be a path",
    errno.ENOTDIR: "runs through something that is not a folder",
    errno.EACCES: "is not accessible (permission denied)",
    errno.EPERM: "is not accessible (permission denied)",
}
_READ_CHUNK = 1 << 16


def _mode_problem(mode: int, kind: str) -> str | None:
    if stat.S_ISREG(mode):
        return None
    for test, what in _KINDS:
        if test(mode):
            return f"is {what}, not {kind}"
    return f"is not a regular file, so not {kind}"


def _os_problem(exc: OSError) -> str:
    known = _ERRNO_PROBLEMS.get(exc.errno or 0)
    return known or f"cannot be used: {exc.strerror or 'error ' + str(exc.errno)}"


def path_problem(path: str | Path, *, kind: str = "a regular file") -> str | None:
    """What is wrong with ``path``, as a predicate (``is a directory, not a spec file``), or
    None; never opens it, so it cannot block.

    A path that does not exist is no problem here (it may name a file about to be
    written); its absence is for the caller to judge. A NUL byte, a name too long, a
    loop of symbolic links, a link to nowhere and anything but a regular file are
    problems. ``kind`` names what the path should be, for the message.
    """
    text = os.fspath(path)
    if "\x00" in text:
        return "contains a NUL byte"
    try:
        mode = os.stat(text).st_mode
    except FileNotFoundError:
        if os.path.islink(text):
            return "is a symbolic link to a file that does not exist"
        return None
    except OSError as exc:
        return _os_problem(exc)
    except ValueError:  # a name the operating system cannot take (an unencodable one)
        return "cannot be used as a path on this system"
    return _mode_problem(mode, kind)


def _too_big(size: int | None, max_bytes: int) -> str:
    if size is None:  # known only to be past the limit: a file that grew, a /proc file
        return f"the file is more than the limit of {max_bytes:,} bytes"
    return f"the file is {size:,} bytes, more than the limit of {max_bytes:,}"


def read_bounded(path: str | Path, max_bytes: int, *, kind: str = "a spec file") -> bytes:
    """The bytes of the regular file ``path``, at most ``max_bytes`` of them.

    Anything else is a SpecError naming the file: a missing file, a directory, a FIFO
    or a device (opened non-blocking, so a FIFO cannot stall the read), a file over
    the limit (refused from its size, and read with a bound in case it grows).
    """
    file = os.fspath(path)
    problem = path_problem(file, kind=kind)
    if problem is not None:
        raise SpecError(problem, file=file)
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(file, flags)
    except FileNotFoundError:
        raise SpecError("no such file", file=file) from None
    except OSError as exc:
        raise SpecError(_os_problem(exc), file=file) from None
    try:
        info = os.fstat(fd)
        # the path may have been swapped between the check above and the open
        problem = _mode_problem(info.st_mode, kind)
        if problem is not None:
            raise SpecError(problem, file=file)
        if info.st_size > max_bytes:
            raise SpecError(_too_big(info.st_size, max_bytes), file=file)
        chunks: list[bytes] = []
        total = 0
        while total <= max_bytes:
            chunk = os.read(fd, min(_READ_CHUNK, max_bytes + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    except OSError as exc:
        raise SpecError(f"cannot read the file: {exc.strerror or exc}", file=file) from None
    finally:
        os.close(fd)
    if total > max_bytes:
        raise SpecError(_too_big(None, max_bytes), file=file)
    return b"".join(chunks)


#: how a spec read from standard input is named in messages
STDIN_NAME = "<stdin>"


def read_stdin(max_bytes: int) -> bytes:
    """Standard input up to its end, at most ``max_bytes`` of it (``archspec info -``).

    Read in chunks with a bound, as a file is, so an endless pipe is refused once it has
    given more than ``max_bytes``, not read until memory runs out.
    """
    import sys

    stream = sys.stdin.buffer
    chunks: list[bytes] = []
    total = 0
    try:
        while total <= max_bytes:
            chunk = stream.read1(min(_READ_CHUNK, max_bytes + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    except OSError as exc:
        message = f"cannot read standard input: {exc.strerror or exc}"
        raise SpecError(message, file=STDIN_NAME) from None
    if total > max_bytes:
        raise SpecError(
            f"standard input is more than the limit of {max_bytes:,} bytes", file=STDIN_NAME
        )
    return b"".join(chunks)
