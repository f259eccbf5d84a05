"""What a spec says must mean one thing: the format version, names and branches."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from archspec.errors import SpecError
from archspec.loader.document import load_spec
from archspec.spec.models import MAX_NAME_CHARS, BlockLibrary, Spec
from tests.helpers import write

BODY = "name: s\ninput: [8, 8, 3]\nlayers: [flatten]\n"


@pytest.mark.parametrize(
    ("version", "kind"),
    [
        ("true", "a boolean"),
        ("1.0", "a decimal number"),
        ('"1"', "text"),
        ("'1'", "text"),
        ("2", "a whole number other than 1"),
        ("0x1F", "a whole number other than 1"),
        ("[1]", "a list"),
        ("{1: 1}", "a mapping"),
        ("null", "empty"),
        ("", "empty"),
    ],
)
def test_only_the_whole_number_1_is_format_version_1(tmp_path, version, kind):
    spec = write(tmp_path, "s.yaml", f"archspec: {version}\n{BODY}")
    with pytest.raises(SpecError) as info:
        load_spec(spec)
    assert info.value.format() == (
        f"{spec}:1:{11 if version else 10}: archspec: unsupported format version ({kind}); "
        "this archspec reads `archspec: 1`"
    )


def test_a_library_with_another_version_is_refused(tmp_path):
    write(tmp_path, "lib.yaml", "archspec: true\nblocks: {}\n")
    spec = write(tmp_path, "s.yaml", f"archspec: 1\nimports: [lib.yaml]\n{BODY}")
    with pytest.raises(SpecError) as info:
        load_spec(spec)
    assert info.value.message == (
        "unsupported format version (a boolean); this archspec reads `archspec: 1`"
    )
    assert info.value.file == str(tmp_path / "lib.yaml")


@pytest.mark.parametrize("model", [Spec, BlockLibrary])
@pytest.mark.parametrize("version", [True, 1.0, "1", 1.5, None])
def test_the_models_take_only_the_integer_1(model, version):
    with pytest.raises(ValidationError):
        model.model_validate({"archspec": version, "blocks": {}, **{"name": "s"}})


@settings(max_examples=100, deadline=None)
@given(st.one_of(st.booleans(), st.floats(), st.text(max_size=3), st.integers()))
def test_generated_versions(version):
    data = {"archspec": version, "name": "s", "input": [8, 8, 3], "layers": ["flatten"]}
    try:
        Spec.model_validate(data)
    except ValidationError:
        assert type(version) is not int or version != 1
        return
    assert type(version) is int and version == 1


def test_model_names_fit_a_file_name(tmp_path):
    fits = write(tmp_path, "a.yaml", "archspec: 1\n" + BODY.replace("s", "n" * MAX_NAME_CHARS, 1))
    assert load_spec(fits)[0].name == "n" * MAX_NAME_CHARS
    assert len(("n" * MAX_NAME_CHARS + ".keras").encode()) <= 255
    long = write(tmp_path, "b.yaml", "archspec: 1\n" + BODY.replace("s", "n" * 300, 1))
    with pytest.raises(SpecError) as info:
        load_spec(long)
    assert info.value.format() == (
        f"{long}:2:7: name: a model name has at most 200 characters, as it names the saved "
        "`NAME.keras` file; this one has 300"
    )


def test_else_without_if_is_an_error(tmp_path):
    spec = write(
        tmp_path,
        "s.yaml",
        "archspec: 1\nname: s\ninput: [8, 8, 3]\ngraph:\n"
        "  main: {layers: [flatten], else: [flatten]}\n",
    )
    with pytest.raises(SpecError) as info:
        load_spec(spec)
    assert info.value.format() == (
        f"{spec}:5:9: graph.main: `else` needs an `if` on the same branch"
    )


def test_else_with_if_is_fine(tmp_path):
    spec = write(
        tmp_path,
        "s.yaml",
        "archspec: 1\nname: s\ninput: [8, 8, 3]\nparams: {use: true}\ngraph:\n"
        "  main: {if: $use, then: [flatten], else: [flatten]}\n",
    )
    assert load_spec(spec)[0].graph["main"].else_


def test_a_branch_may_not_take_the_name_of_an_input(tmp_path):
    spec = write(
        tmp_path,
        "s.yaml",
        "archspec: 1\nname: s\ninputs: {image: [8, 8, 3], mask: [8, 8, 1]}\ngraph:\n"
        "  image: {from: image, layers: [flatten]}\n",
    )
    with pytest.raises(SpecError) as info:
        load_spec(spec)
    assert info.value.format() == (
        f"{spec}:5:3: graph: branch `image` has the name of a model input; rename the branch"
    )


@pytest.mark.parametrize("key", ["102", "true", "null", "1.5"])
def test_call_arguments_are_named(tmp_path, key):
    spec = write(
        tmp_path,
        "s.yaml",
        "archspec: 1\nname: s\ninput: [8, 8, 3]\n"
        "blocks:\n  b: {params: {f: 1}, layers: [flatten]}\n"
        f"layers:\n  - b: {{{key}: 3}}\n",
    )
    with pytest.raises(SpecError) as info:
        load_spec(spec)
    assert info.value.message.endswith("is not a name: `b` takes named arguments")
    assert (info.value.loc.line, info.value.path) == (7, "layers[0]")
