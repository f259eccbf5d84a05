"""Families: `extends` for variants, `imports` for block libraries."""

from __future__ import annotations

import archspec
from tests.conftest import SPECS
from tests.helpers import names, spec_error, write

LIB = """
    archspec: 1
    blocks:
      head:
        params: {classes: int}
        layers: [flatten, {dense: {units: $classes, name: fc}}]
"""

BASE = """
    archspec: 1
    name: base
    imports: [lib/heads.yaml]
    params: {width: 4, classes: 10}
    input: [8, 8, 3]
    layers:
      - conv2d: {filters: $width, kernel_size: 3, name: c}
      - head: {classes: $classes}
"""


def test_variant_overrides_params_and_inherits_everything_else(tmp_path):
    write(tmp_path, "lib/heads.yaml", LIB)
    write(tmp_path, "base.yaml", BASE)
    variant = write(
        tmp_path,
        "wide.yaml",
        """
        archspec: 1
        extends: base.yaml
        name: wide
        params: {width: 16}
    """,
    )
    spec = archspec.load(variant)
    graph = spec.graph()
    assert spec.name == "wide" and graph.name == "wide"
    assert graph.nodes["c"].attrs.filters == 16
    assert graph.nodes["head_fc"].attrs.units == 10
    assert set(spec.spec.params) == {"width", "classes"}


def test_imports_are_relative_to_the_importing_file(tmp_path):
    write(tmp_path, "lib/heads.yaml", LIB)
    write(tmp_path, "base.yaml", BASE)
    variant = write(
        tmp_path,
        "variants/v.yaml",
        """
        archspec: 1
        extends: ../base.yaml
        name: v
    """,
    )
    # the base lies outside the variant's own folder: allowed by widening the root
    assert names(variant, include_roots=[tmp_path])[-1] == "head_fc"


def test_missing_import_is_located(tmp_path):
    p = write(tmp_path, "base.yaml", BASE)
    err = spec_error(p)
    assert "`lib/heads.yaml` does not exist" in err.message
    assert (err.loc.line, err.path) == (3, "imports[0]")


def test_block_defined_twice_is_an_error(tmp_path):
    write(tmp_path, "lib/heads.yaml", LIB)
    p = write(
        tmp_path,
        "base.yaml",
        BASE,
        """
        blocks:
          head: {params: {}, layers: [flatten]}
    """,
    )
    err = spec_error(p)
    assert err.message == "block `head` is defined here and also imported; rename one of them"


def test_extends_cycle(tmp_path):
    write(tmp_path, "a.yaml", "archspec: 1\nextends: b.yaml\nname: a\n")
    b = write(tmp_path, "b.yaml", "archspec: 1\nextends: a.yaml\nname: b\n")
    err = spec_error(b)
    assert err.message == "files include each other in a cycle: b.yaml -> a.yaml -> b.yaml"


def test_errors_in_a_library_point_into_the_library(tmp_path):
    write(tmp_path, "lib/heads.yaml", LIB.replace("units: $classes", "unitz: $classes"))
    p = write(tmp_path, "base.yaml", BASE)
    err = spec_error(p)
    assert err.loc.file.endswith("heads.yaml")
    assert err.message.startswith("`dense` has no attribute `unitz`")
    assert err.hint == "did you mean `units`?"


def test_bundled_families_share_their_blocks():
    # the ResNet variants carry no blocks or layers of their own
    families = [
        ("resnet101", "resnet50"),
        ("resnet152", "resnet50"),
        ("resnet34", "resnet18"),
        ("vgg19", "vgg16"),
        ("zfnet", "alexnet"),
        ("densenet169", "densenet121"),
        ("densenet201", "densenet121"),
    ]
    for variant, base in families:
        text = (SPECS / f"{variant}.yaml").read_text()
        assert f"extends: {base}.yaml" in text
        assert "layers:" not in text and "blocks:" not in text
    # blocks used by several files come from libraries, never from copies
    for shared in ("resnet50", "resnet18", "vgg16", "googlenet", "inception10"):
        assert "imports: [lib/" in (SPECS / f"{shared}.yaml").read_text()
    assert "blocks:" not in (SPECS / "resnet50.yaml").read_text()
    assert "blocks:" not in (SPECS / "vgg16.yaml").read_text()


def test_resnet_depths_per_variant():
    def blocks_in_stage(name: str, stage: int) -> int:
        graph = archspec.load(SPECS / f"{name}.yaml").graph()
        return sum(1 for n in graph.nodes if n.startswith(f"conv{stage}_") and n.endswith("_add"))

    assert [blocks_in_stage("resnet50", s) for s in (2, 3, 4, 5)] == [3, 4, 6, 3]
    assert [blocks_in_stage("resnet101", s) for s in (2, 3, 4, 5)] == [3, 4, 23, 3]
    assert [blocks_in_stage("resnet152", s) for s in (2, 3, 4, 5)] == [3, 8, 36, 3]
    assert [blocks_in_stage("resnet34", s) for s in (2, 3, 4, 5)] == [3, 4, 6, 3]
