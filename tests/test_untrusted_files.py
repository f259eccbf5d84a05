"""Files named by a spec, or given as one, may be anything: confinement and special files.

`imports` and `extends` reach only the spec's folder, the bundled specs and the folders a
caller allows; a FIFO, a device, a directory, a loop of links or an impossible path gives
one line at once; and no message ever quotes a file that is not an archspec file.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archspec.errors import SpecError
from archspec.loader import document, files
from archspec.loader.document import load_raw, load_spec
from archspec.loader.files import path_problem, read_bounded
from archspec.loader.yaml_source import NodeBudget
from tests.conftest import SPECS
from tests.helpers import write

SECRET = "S3CR3T-T0KEN-9f8e"
LIBRARY = """
    archspec: 1
    blocks:
      head:
        params: {classes: int}
        layers: [flatten, {dense: {units: $classes, name: fc}}]
"""
SPEC = "archspec: 1\nname: s\ninput: [8, 8, 3]\nlayers: [flatten]\n"


@contextlib.contextmanager
def _no_longer_than(seconds: int) -> Iterator[None]:
    """Fail instead of hanging when a read blocks."""

    def stop(signum: int, frame: object) -> None:
        raise TimeoutError("blocked")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _error(path: Path | str, **kwargs: object) -> SpecError:
    start = time.perf_counter()
    with _no_longer_than(5), pytest.raises(SpecError) as info:
        load_spec(path, **kwargs)  # type: ignore[arg-type]
    assert time.perf_counter() - start < 1.0
    assert "\n" not in info.value.format()
    return info.value


def _spec_with(tmp_path: Path, key: str, target: str, name: str = "s.yaml") -> Path:
    value = f"[{json.dumps(target)}]" if key == "imports" else json.dumps(target)
    text = f"archspec: 1\nname: s\n{key}: {value}\ninput: [8, 8, 3]\nlayers: [flatten]\n"
    return write(tmp_path, name, text)


# --------------------------------------------------------------------------- path_problem


def test_path_problem_describes_without_opening(tmp_path):
    regular = write(tmp_path, "a.yaml", "a: 1\n")
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    (tmp_path / "loop1").symlink_to(tmp_path / "loop2")
    (tmp_path / "loop2").symlink_to(tmp_path / "loop1")
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    cases = {
        regular: None,
        tmp_path / "new.keras": None,  # may be about to be written
        tmp_path / "missing" / "new.keras": None,
        tmp_path: "is a directory, not a regular file",
        fifo: "is a named pipe (FIFO), not a regular file",
        Path("/dev/zero"): "is a character device, not a regular file",
        tmp_path / "loop1": "loops through symbolic links",
        tmp_path / "dangling": "is a symbolic link to a file that does not exist",
        tmp_path / "a\x00b": "contains a NUL byte",
        tmp_path / ("n" * 300): "is too long to be a path",
        Path("/" + "d/" * 3000 + "x"): "is too long to be a path",
        regular / "inside": "runs through something that is not a folder",
    }
    with _no_longer_than(5):
        for path, expected in cases.items():
            assert path_problem(path) == expected, path
            assert path_problem(str(path)) == expected, path
    assert path_problem(tmp_path, kind="a model file") == "is a directory, not a model file"


def test_read_bounded_never_blocks_on_a_fifo_swapped_in_after_the_check(tmp_path, monkeypatch):
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    monkeypatch.setattr(files, "path_problem", lambda *args, **kwargs: None)
    with _no_longer_than(5), pytest.raises(SpecError) as info:
        read_bounded(fifo, 100)
    assert info.value.format() == f"{fifo}: is a named pipe (FIFO), not a spec file"
    with _no_longer_than(5), pytest.raises(SpecError) as info:
        read_bounded("/dev/zero", 100)
    assert info.value.format() == "/dev/zero: is a character device, not a spec file"


def test_read_bounded_reads_at_most_one_byte_past_the_limit(tmp_path, monkeypatch):
    """A file whose size says nothing (it grows, or lives in /proc) is read with a bound."""
    big = tmp_path / "big.yaml"
    big.write_bytes(b"#" * 100_000)
    requested: list[int] = []
    real_read, real_fstat = os.read, os.fstat

    def counting_read(fd: int, n: int) -> bytes:
        requested.append(n)
        return real_read(fd, n)

    def sizeless_fstat(fd: int) -> os.stat_result:
        info = list(real_fstat(fd))
        info[6] = 0  # st_size
        return os.stat_result(info)

    monkeypatch.setattr(os, "read", counting_read)
    monkeypatch.setattr(os, "fstat", sizeless_fstat)
    with pytest.raises(SpecError) as info:
        read_bounded(big, 1000)
    assert info.value.format() == f"{big}: the file is more than the limit of 1,000 bytes"
    assert sum(requested) == 1001
    assert read_bounded(write(tmp_path, "small.yaml", "a: 1\n"), 1000) == b"a: 1\n"


# --------------------------------------------------------------------------- the spec itself


def test_special_files_given_as_the_spec(tmp_path):
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    (tmp_path / "loop.yaml").symlink_to(tmp_path / "loop.yaml")
    long_name = tmp_path / ("n" * 300 + ".yaml")
    cases = {
        fifo: "is a named pipe (FIFO), not a spec file",
        "/dev/zero": "is a character device, not a spec file",
        tmp_path: "is a directory, not a spec file",
        tmp_path / "loop.yaml": "loops through symbolic links",
        str(tmp_path / "a\x00.yaml"): "contains a NUL byte",
        long_name: "is too long to be a path",
        tmp_path / "missing.yaml": "no such file",
    }
    for path, message in cases.items():
        err = _error(path)
        assert (err.file, err.message) == (str(path), message)


def test_dev_stdin_is_not_read(tmp_path):
    with open(os.devnull, "rb") as null, _no_longer_than(5):
        saved = os.dup(0)
        os.dup2(null.fileno(), 0)
        try:
            err = _error("/dev/stdin")
        finally:
            os.dup2(saved, 0)
            os.close(saved)
    assert err.message == "is a character device, not a spec file"


# --------------------------------------------------------------------------- includes


def test_special_files_reached_through_imports_and_extends(tmp_path):
    os.mkfifo(tmp_path / "pipe.yaml")
    (tmp_path / "dir.yaml").mkdir()
    (tmp_path / "loop.yaml").symlink_to(tmp_path / "loop.yaml")
    (tmp_path / "zero.yaml").symlink_to("/dev/zero")
    cases = {
        "pipe.yaml": "`pipe.yaml` is a named pipe (FIFO), not a spec file",
        "dir.yaml": "`dir.yaml` is a directory, not a spec file",
        "loop.yaml": "`loop.yaml` loops through symbolic links",
        "zero.yaml": "`zero.yaml` is a character device, not a spec file",
        "a\x00.yaml": "`a\\x00.yaml` contains a NUL byte",
        "n" * 300 + ".yaml": f"`{'n' * 300}.yaml` is too long to be a path",
    }
    for key, path_text in (("imports", "imports[0]"), ("extends", "extends")):
        for target, message in cases.items():
            err = _error(_spec_with(tmp_path, key, target), include_roots=["/dev"])
            assert (err.path, err.message) == (path_text, message)
            assert (err.loc.line, err.loc.col) == (3, 10 if key == "extends" else 11)


def test_includes_may_not_leave_the_spec_folder(tmp_path):
    root = tmp_path / "project"
    write(tmp_path, "outside.yaml", LIBRARY)
    write(root, "lib/heads.yaml", LIBRARY)
    (root / "out.yaml").symlink_to(tmp_path / "outside.yaml")
    (root / "lib" / "up").symlink_to(tmp_path)
    outside = "is outside the folders a spec may include from"
    cases = {
        "../outside.yaml": f"`../outside.yaml` {outside}",
        "lib/../../outside.yaml": f"`lib/../../outside.yaml` {outside}",
        "out.yaml": f"`out.yaml` {outside}",
        "lib/up/outside.yaml": f"`lib/up/outside.yaml` {outside}",
        "../no_such_file.yaml": f"`../no_such_file.yaml` {outside}",  # says nothing of outside
        str(tmp_path / "outside.yaml"): f"`{tmp_path / 'outside.yaml'}` is an absolute path; "
        "give it relative to this file",
        str(root / "lib" / "heads.yaml"): f"`{root / 'lib' / 'heads.yaml'}` is an absolute path; "
        "give it relative to this file",
    }
    for key in ("imports", "extends"):
        for target, message in cases.items():
            err = _error(_spec_with(root, key, target))
            assert err.message == message
            assert err.hint == (
                "`imports` and `extends` stay within the spec's folder, archspec's bundled "
                "specs and folders allowed with --include-root"
            )


def test_a_library_inside_may_not_reach_outside_either(tmp_path):
    root = tmp_path / "project"
    write(tmp_path, "outside.yaml", LIBRARY)
    write(root, "lib/heads.yaml", "archspec: 1\nimports: [../../outside.yaml]\nblocks: {}\n")
    err = _error(_spec_with(root, "imports", "lib/heads.yaml"))
    assert err.format() == (
        f"{root / 'lib' / 'heads.yaml'}:2:11: imports[0]: `../../outside.yaml` is outside the "
        "folders a spec may include from (`imports` and `extends` stay within the spec's "
        "folder, archspec's bundled specs and folders allowed with --include-root)"
    )


def test_allowed_includes_load(tmp_path):
    root = tmp_path / "project"
    write(root, "lib/heads.yaml", LIBRARY)
    (root / "linked.yaml").symlink_to(root / "lib" / "heads.yaml")  # a link that stays inside
    write(tmp_path, "shared/heads.yaml", LIBRARY)
    write(root, "base.yaml", SPEC.replace("name: s", "name: base"))
    bundled = os.path.relpath(SPECS / "lib" / "resnet_blocks.yaml", root)
    for key, target, roots in [
        ("imports", "lib/heads.yaml", ()),
        ("imports", "./lib/../lib/heads.yaml", ()),
        ("imports", "linked.yaml", ()),
        ("imports", bundled, ()),
        ("imports", "../shared/heads.yaml", [tmp_path / "shared"]),
        ("imports", "../shared/heads.yaml", [str(tmp_path)]),
        ("extends", "base.yaml", ()),
    ]:
        spec, _ = load_spec(_spec_with(root, key, target), include_roots=roots)
        assert spec.name == "s"
    assert "conv_bn" in load_raw(_spec_with(root, "imports", bundled))["blocks"]


def test_bundled_examples_reach_the_bundled_libraries():
    for example in sorted((SPECS / "examples").glob("*.yaml")):
        load_raw(example)


def test_the_spec_folder_is_that_of_the_named_file(tmp_path):
    """A spec reached through a link may include beside its link and beside its target."""
    write(tmp_path, "real/lib/heads.yaml", LIBRARY)
    write(tmp_path, "real/s.yaml", SPEC.replace("layers:", "imports: [lib/heads.yaml]\nlayers:"))
    (tmp_path / "named").mkdir()
    (tmp_path / "named" / "s.yaml").symlink_to(tmp_path / "real" / "s.yaml")
    assert "head" in load_raw(tmp_path / "named" / "s.yaml")["blocks"]


ROOT_PIECES = ["..", ".", "lib", "up", "in", "heads.yaml", "outside.yaml", "nowhere"]


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    pieces=st.lists(st.sampled_from(ROOT_PIECES), min_size=1, max_size=6),
    key=st.sampled_from(["imports", "extends"]),
)
def test_nothing_outside_the_roots_is_ever_read(tmp_path_factory, monkeypatch, pieces, key):
    """Whatever relative path a spec gives, no file outside its folder is opened."""
    base = tmp_path_factory.mktemp("confined")
    root = base / "project"
    write(base, "outside.yaml", LIBRARY)
    write(root, "lib/heads.yaml", LIBRARY)
    (root / "lib" / "up").symlink_to(base)
    (root / "in").symlink_to(root / "lib")
    spec = _spec_with(root, key, "/".join(pieces))
    opened: list[Path] = []
    real_read = files.read_bounded

    def recording_read(path, max_bytes, **kwargs):
        opened.append(Path(os.path.realpath(path)))
        return real_read(path, max_bytes, **kwargs)

    monkeypatch.setattr("archspec.loader.yaml_source.read_bounded", recording_read)
    with contextlib.suppress(SpecError):
        load_spec(spec)
    monkeypatch.undo()
    assert opened and all(p.is_relative_to(root.resolve()) for p in opened), opened


# --------------------------------------------------------------------------- content


NOT_SPECS = [
    SECRET,
    f"{SECRET}\n",
    f"token={SECRET}\n",
    f"token: {SECRET}\n",
    f'{{"token": "{SECRET}"}}',
    f"[{SECRET}, 1]",
    f"- {SECRET}\n- 2\n",
    f"{SECRET}: 1\n{SECRET}: 2\n",
    f"a: !{SECRET} x\n",
    f"a: !!{SECRET} x\n",
    f"a: *{SECRET}\n",
    f"a: &{SECRET} 1\nb: &{SECRET} 2\n",
    f"[section]\nkey = {SECRET}\n",
    f"-----BEGIN KEY-----\n{SECRET}\n-----END KEY-----\n",
    f"archspec: {SECRET}\n",
    f"archspec: [{SECRET}]\n",
    f"{SECRET}\x07\n",
    f"a: '{SECRET}\n",
    f"a: 99999999999999999999999{SECRET}\n",
]


@pytest.mark.parametrize("content", NOT_SPECS)
@pytest.mark.parametrize("key", ["imports", "extends"])
def test_a_file_that_is_no_spec_is_never_quoted(tmp_path, content, key):
    write(tmp_path, "secret.txt", content)
    err = _error(_spec_with(tmp_path, key, "secret.txt"))
    assert SECRET not in err.format()
    assert err.file == str(tmp_path / "secret.txt")


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    before=st.text(
        alphabet=st.sampled_from(list("[]{}:,-&*!?|>'\"#% \n\txyz0123456789")), max_size=20
    ),
    after=st.text(
        alphabet=st.sampled_from(list("[]{}:,-&*!?|>'\"#% \n\txyz0123456789")), max_size=20
    ),
    key=st.sampled_from(["imports", "extends"]),
)
def test_generated_files_are_never_quoted(tmp_path, before, after, key):
    write(tmp_path, "secret.txt", before + SECRET + after)
    spec = _spec_with(tmp_path, key, "secret.txt")
    try:
        load_spec(spec)
    except SpecError as exc:
        assert SECRET not in exc.format()
        assert "\n" not in exc.format()


# --------------------------------------------------------------------------- several files


def test_a_block_defined_by_two_imports_is_an_error(tmp_path):
    write(tmp_path, "a/heads.yaml", LIBRARY)
    write(tmp_path, "b/heads.yaml", LIBRARY)
    spec = write(
        tmp_path,
        "s.yaml",
        SPEC.replace("layers:", "imports: [a/heads.yaml, b/heads.yaml]\nlayers:"),
    )
    err = _error(spec)
    assert err.format() == (
        f"{spec}:4:25: imports[1]: block `head` is defined both in `{tmp_path}/a/heads.yaml` "
        f"(line 3) and in `{tmp_path}/b/heads.yaml` (line 3); rename one of them or import "
        "only one of the files"
    )


def test_a_library_two_imports_share_is_no_clash(tmp_path):
    write(tmp_path, "lib/heads.yaml", LIBRARY)
    for name in ("a", "b"):
        write(tmp_path, f"lib/{name}.yaml", "archspec: 1\nimports: [heads.yaml]\nblocks: {}\n")
    spec = write(
        tmp_path, "s.yaml", SPEC.replace("layers:", "imports: [lib/a.yaml, lib/b.yaml]\nlayers:")
    )
    assert "head" in load_raw(spec)["blocks"]


def test_a_load_reads_a_bounded_number_of_files(tmp_path):
    names = [f"lib{i}.yaml" for i in range(document.MAX_INCLUDED_FILES)]
    for name in names:
        write(tmp_path, name, "archspec: 1\nblocks: {}\n")
    spec = write(tmp_path, "s.yaml", SPEC.replace("layers:", f"imports: {names}\nlayers:"))
    err = _error(spec)
    assert err.message == (
        "a spec, its bases and block libraries may be at most 64 files; this one would be more"
    )
    assert err.file == str(tmp_path / names[-1])


def test_the_files_of_one_load_share_one_node_budget(tmp_path, monkeypatch):
    monkeypatch.setattr(document, "NodeBudget", lambda: NodeBudget(limit=200))
    items = ", ".join(["1"] * 100)
    write(tmp_path, "lib.yaml", f"archspec: 1\nblocks: {{}}\ndescription: [{items}]\n")
    spec = write(
        tmp_path,
        "s.yaml",
        SPEC.replace("layers:", f"params: {{x: [{items}]}}\nimports: [lib.yaml]\nlayers:"),
    )
    err = _error(spec)
    assert err.file == str(tmp_path / "lib.yaml")
    assert re.fullmatch(
        r"the document expands to \d+ YAML nodes; with the \d+ of the files read before it, "
        r"that is more than the limit of 200",
        err.message,
    )
