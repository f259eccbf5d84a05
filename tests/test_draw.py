"""``archspec draw``: block-level diagrams as SVG, PNG, DOT and Mermaid, without a framework.

Every output is read back with a parser (XML for SVG, pydot for DOT, a small line parser
for Mermaid, the PNG header and Pillow for PNG) and checked against the IR: the boxes
partition the layers, edges are exactly the IR's connections between boxes, parameters
add up to the model's, repeats collapse where the blocks form a chain.
"""

from __future__ import annotations

import json
import os
import re
import struct
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import pydot
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import archspec
from archspec.analysis.stats import analyse
from archspec.cli import main
from archspec.draw.blocks import block_view
from archspec.errors import SpecError
from tests.conftest import ROOT

#: pydot's DOT grammar calls pyparsing names that pyparsing 3.3 deprecates
pytestmark = pytest.mark.filterwarnings("ignore:'\\w+' deprecated - use:DeprecationWarning")

SVG = "{http://www.w3.org/2000/svg}"
#: the bundled nets a default drawing must keep small, with the overrides they are drawn with
NETS = {
    "densenet121": {},
    "resnet50": {},
    "googlenet": {"aux": True},
    "inception_v3": {},
    "nasnet_mobile": {},
    "efficientnet_b0": {},
    "mobilenet_v3_small": {},
    "convnext_tiny": {},
}
#: a default drawing fits on a screen: at most this many boxes, this many pixels high
#: (keras' plot_model draws DenseNet-121 536 x 32,767 pixels)
MAX_BOXES, MAX_HEIGHT = 26, 2_200
UNITS = {"": 1, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}


def sets(net: str) -> list[str]:
    return [a for k, v in NETS[net].items() for a in ("--set", f"{k}={str(v).lower()}")]


def draw(*args: str) -> tuple[int, str, str]:
    """Run ``archspec draw`` in this process: (exit code, stdout, stderr)."""
    result = CliRunner().invoke(main, ["draw", *args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def outdir():
    with tempfile.TemporaryDirectory(prefix="archspec-draw-") as folder:
        yield Path(folder)


_LOADED: dict[str, tuple] = {}


def loaded(net: str):
    """(graph, analysis, block names) of a bundled net, computed once."""
    if net not in _LOADED:
        spec = archspec.load(ROOT / "specs" / f"{net}.yaml", NETS.get(net, {}))
        graph = spec.graph()
        _LOADED[net] = (graph, analyse(graph), set(spec.spec.blocks))
    return _LOADED[net]


_DRAWN: dict[tuple[str, str], tuple[dict, Path]] = {}


def drawn(net: str, fmt: str, outdir: Path) -> tuple[dict, Path]:
    """The ``--json`` document and the file of ``draw`` on a bundled net (drawn once)."""
    key = (net, fmt)
    if key not in _DRAWN:
        out = outdir / f"{net}.{fmt}"
        code, stdout, stderr = draw(f"specs/{net}.yaml", *sets(net), "-o", str(out), "--json")
        assert code == 0, stderr
        _DRAWN[key] = (json.loads(stdout), out)
    return _DRAWN[key]


# ------------------------------------------------------------------ readers


def svg_boxes(path: Path) -> tuple[ET.Element, list[dict[str, str]]]:
    """The SVG root and, per box, its id, classes and the texts of its lines."""
    root = ET.parse(path).getroot()
    boxes = []
    for g in root.iter(f"{SVG}g"):
        classes = g.get("class", "").split()
        if "box" not in classes:
            continue
        item = {"id": g.get("id"), "classes": classes, "data-name": g.get("data-name")}
        for text in g.iter(f"{SVG}text"):
            item[text.get("class")] = "".join(text.itertext())
            for span in text.iter(f"{SVG}tspan"):
                item[span.get("class")] = span.text or ""
        boxes.append(item)
    return root, boxes


def dot_graph(path: Path) -> tuple[dict[str, pydot.Node], set[tuple[str, str]]]:
    (graph,) = pydot.graph_from_dot_file(str(path))
    nodes = {
        n.get_name(): n for n in graph.get_nodes() if n.get_name() not in ("node", "edge", "graph")
    }
    edges = {(e.get_source(), e.get_destination()) for e in graph.get_edges()}
    return nodes, edges


MERMAID_NODE = re.compile(r'  (b\d+)\["([^"]*)"\]')
MERMAID_EDGE = re.compile(r"  (b\d+) --> (b\d+)")
MERMAID_STYLE = re.compile(
    r"  (classDef \w+ fill:#[0-9a-f]{6},stroke:#[0-9a-f]{6}|class [\w,]+ \w+)"
)


def mermaid_graph(text: str) -> tuple[dict[str, list[str]], set[tuple[str, str]]]:
    """Nodes (id -> label lines) and edges of a ``flowchart TB``; any other line fails."""
    lines = text.splitlines()
    assert lines[0] == "flowchart TB"
    nodes: dict[str, list[str]] = {}
    edges: set[tuple[str, str]] = set()
    for line in lines[1:]:
        if m := MERMAID_NODE.fullmatch(line):
            nodes[m[1]] = m[2].split("<br/>")
        elif m := MERMAID_EDGE.fullmatch(line):
            edges.add((m[1], m[2]))
        else:
            assert MERMAID_STYLE.fullmatch(line), line
    return nodes, edges


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from the PNG signature and IHDR chunk."""
    data = path.read_bytes()[:24]
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def figure(text: str, what: str) -> tuple[float, int]:
    """``25.6M params`` -> (25.6e6, 1e6): the value and its unit."""
    m = re.fullmatch(rf"([\d.]+)([KMGT]?) {what}", text)
    assert m, text
    return float(m[1]) * UNITS[m[2]], UNITS[m[2]]


def shape_text(shape) -> str:
    return "(" + ", ".join("?" if d is None else str(d) for d in shape) + ")"


# ------------------------------------------------------------------ the IR, independently


def membership(doc: dict, graph) -> list[str]:
    """For each layer (graph order), the id of the box that holds it, from ``--json``."""
    names = list(graph.nodes)
    owner: list[str | None] = [None] * len(names)
    for box in doc["boxes"]:
        first, last = names.index(box["first_layer"]), names.index(box["last_layer"])
        assert last - first + 1 == box["layers"]
        for i in range(first, last + 1):
            assert owner[i] is None, f"layer {names[i]} is in two boxes"
            owner[i] = box["id"]
    assert None not in owner, "a layer is in no box"
    return owner  # type: ignore[return-value]


def ir_edges(graph, owner: list[str]) -> set[tuple[str, str]]:
    """The IR's connections between boxes: an edge per pair of boxes a layer input joins."""
    index = {name: i for i, name in enumerate(graph.nodes)}
    out = set()
    for v, node in enumerate(graph.nodes.values()):
        for name in node.inputs:
            u = index[name]
            if owner[u] != owner[v]:
                out.add((owner[u], owner[v]))
    return out


# ------------------------------------------------------------------ bundled nets


@pytest.mark.parametrize("net", list(NETS))
def test_default_drawing_fits_on_a_screen(net, outdir):
    doc, path = drawn(net, "svg", outdir)
    root, boxes = svg_boxes(path)
    height = float(root.get("height"))
    assert len(boxes) == len(doc["boxes"]) <= MAX_BOXES
    assert height == pytest.approx(doc["height"], abs=1) and height <= MAX_HEIGHT
    assert float(root.get("width")) <= 800
    assert root.get("viewBox") == f"0 0 {root.get('width')} {root.get('height')}"
    if net == "densenet121":  # 15 boxes in one column: a screen's height, or near it
        assert len(boxes) <= 16 and height <= 1_300


BUNDLED = sorted(
    str(p.relative_to(ROOT)) for p in (ROOT / "specs").rglob("*.yaml") if "lib" not in p.parts
)


def test_every_bundled_spec_draws_at_block_level():
    from archspec.draw.layout import lay_out

    for path in BUNDLED:
        spec = archspec.load(path)
        graph = spec.graph()
        analysis = analyse(graph)
        view = block_view(graph, analysis, None, spec.spec.blocks)
        drawing = lay_out(view)
        assert len(view.boxes) <= 30 and drawing.height <= 2_400, path
        assert [b.start for b in view.boxes[1:]] == [b.end for b in view.boxes[:-1]], path
        assert view.boxes[-1].end == len(graph), path
        assert sum(b.params for b in view.boxes) == analysis.totals.params, path


@pytest.mark.parametrize("net", list(NETS))
def test_svg_boxes_show_name_shape_params_and_macs(net, outdir):
    doc, path = drawn(net, "svg", outdir)
    graph, analysis, _ = loaded(net)
    owner = membership(doc, graph)
    layers = analysis.layers
    _, boxes = svg_boxes(path)
    assert [b["id"] for b in boxes] == [b["id"] for b in doc["boxes"]]
    for item, box in zip(boxes, doc["boxes"], strict=True):
        assert item["name"] == item["data-name"] == box["name"]
        assert item["kind"] == (
            box["kind"] if box["count"] == 1 else f"{box['kind']} ×{box['count']}"
        )
        members = [i for i, o in enumerate(owner) if o == box["id"]]
        params = sum(layers[i].params for i in members)
        value, unit = figure(item["params"], "params")
        assert abs(value - params) <= unit * 0.051, (item, params)
        if any(layers[i].macs is None for i in members):
            assert item["macs"] == "? MACs"
        else:
            value, unit = figure(item["macs"], "MACs")
            assert abs(value - sum(layers[i].macs for i in members)) <= unit * 0.051
        # the shape is the output of a layer whose tensor leaves the box
        leaving = {
            shape_text(graph.nodes[name].shape)
            for v, node in enumerate(graph.nodes.values())
            for name in node.inputs
            if owner[list(graph.nodes).index(name)] == box["id"] != owner[v]
        } | {
            shape_text(graph.nodes[o].shape)
            for o in graph.outputs
            if o in {layers[i].name for i in members}
        }
        assert item["shape"] in leaving
        assert ("input" in item["classes"]) == any(layers[i].name in graph.inputs for i in members)
        assert ("output" in item["classes"]) == any(
            layers[i].name in graph.outputs for i in members
        )
        assert ("repeat" in item["classes"]) == (box["count"] > 1)


@pytest.mark.parametrize("net", list(NETS))
def test_dot_and_mermaid_hold_the_ir_connections(net, outdir):
    doc, dot_path = drawn(net, "dot", outdir)
    graph, _, _ = loaded(net)
    expected = ir_edges(graph, membership(doc, graph))
    nodes, edges = dot_graph(dot_path)
    ids = {b["id"] for b in doc["boxes"]}
    assert set(nodes) == ids
    assert edges == expected == {tuple(e) for e in doc["edges"]}
    assert all(u != v for u, v in edges)
    for box in doc["boxes"]:
        label = nodes[box["id"]].get_label().strip('"').split("\\n")
        assert label[0] == box["name"] and len(label) == 3
        assert nodes[box["id"]].get("count") == str(box["count"])
    mermaid_doc, mmd_path = drawn(net, "mmd", outdir)
    assert mermaid_doc["boxes"] == doc["boxes"]
    m_nodes, m_edges = mermaid_graph(mmd_path.read_text())
    assert set(m_nodes) == ids and m_edges == expected
    assert all(len(lines) == 3 for lines in m_nodes.values())
    # inputs and outputs are marked
    classes = {
        name: set(line.split()[1].split(","))
        for line in mmd_path.read_text().splitlines()
        if (name := line.split()[-1]) in ("input", "output") and line.startswith("  class ")
    }
    assert classes["input"] == {b["id"] for b in doc["boxes"] if b["input"]}
    assert classes["output"] == {b["id"] for b in doc["boxes"] if b["output"] and not b["input"]}


@pytest.mark.parametrize("net", list(NETS))
def test_boxes_add_up_to_the_model(net, outdir):
    doc, _ = drawn(net, "dot", outdir)
    _, analysis, _ = loaded(net)
    totals = analysis.totals
    for key in ("params", "trainable_params", "non_trainable_params"):
        assert sum(b[key] for b in doc["boxes"]) == getattr(totals, key)
    macs = [b["macs"] for b in doc["boxes"]]
    assert (None if None in macs else sum(macs)) == totals.macs
    # every box but an input reads another, every box but an output feeds another
    sources = {u for u, _ in doc["edges"]}
    targets = {v for _, v in doc["edges"]}
    for box in doc["boxes"]:
        assert box["input"] or box["id"] in targets
        assert box["output"] or box["id"] in sources


@pytest.mark.parametrize("net", ["densenet121", "googlenet"])
def test_png_is_the_drawing_rasterised(net, outdir):
    from PIL import Image

    doc, path = drawn(net, "png", outdir)
    svg_doc, _ = drawn(net, "svg", outdir)
    width, height = png_size(path)
    assert (width, height) == (doc["width"], doc["height"])
    # drawn at twice the SVG's size, for sharp text
    assert abs(width - 2 * svg_doc["width"]) <= 2 and abs(height - 2 * svg_doc["height"]) <= 2
    with Image.open(path) as image:
        image.load()
        assert image.size == (width, height) and image.mode == "RGB"
        colours = image.getcolors(maxcolors=1 << 16)
        assert colours is None or len(colours) > 20  # text and boxes, not a blank page


def test_resnet50_stages_collapse_their_identity_blocks(outdir):
    doc, _ = drawn("resnet50", "dot", outdir)
    stages = {f"conv{k}": [] for k in range(2, 6)}
    for box in doc["boxes"]:
        stage = box["first_layer"].split("_")[0]
        if stage in stages:
            stages[stage].append((box["kind"], box["count"]))
    # the first block of a stage projects its shortcut: the others are alike
    assert [sum(c for _, c in boxes) for boxes in stages.values()] == [3, 4, 6, 3]
    assert list(stages.values()) == [
        [("bottleneck", 1), ("bottleneck", n - 1)] for n in (3, 4, 6, 3)
    ]


def test_densenet121_dense_blocks_are_one_box_each(outdir):
    doc, _ = drawn("densenet121", "dot", outdir)
    graph, analysis, _ = loaded("densenet121")
    scopes = {s.scopes: s for s in analysis.scopes}
    dense = [b for b in doc["boxes"] if b["kind"] == "dense_layer"]
    assert [b["count"] for b in dense] == [6, 12, 24, 16]
    for stage, box in zip((2, 3, 4, 5), dense, strict=True):
        last = graph.nodes[f"conv{stage}_block{box['count']}_concat"]
        assert box["output_shape"] == list(last.shape)  # the last block's output
        assert box["params"] == scopes[(f"conv{stage}",)].params
        assert box["macs"] == scopes[(f"conv{stage}",)].macs
        assert box["name"] == f"conv{stage}_block1 … block{box['count']}"


def test_googlenet_branches_to_its_auxiliary_heads(outdir):
    doc, _ = drawn("googlenet", "dot", outdir)
    by_name = {b["name"]: b for b in doc["boxes"]}
    outputs = [b["name"] for b in doc["boxes"] if b["output"]]
    assert outputs == ["aux1", "aux2", "predictions"]
    fanout = {}
    for u, _ in doc["edges"]:
        fanout[u] = fanout.get(u, 0) + 1
    assert fanout[by_name["inception_4a"]["id"]] == 2
    assert by_name["inception_4b … 4d"]["count"] == 3


def test_cells_that_read_two_cells_back_are_not_collapsed(outdir):
    doc, _ = drawn("nasnet_mobile", "dot", outdir)
    kinds = [b["kind"] for b in doc["boxes"] if b["kind"].endswith("_cell")]
    # cells are calls with no naming scope: told apart by their source paths
    assert kinds.count("normal_cell") == 12 and kinds.count("reduction_cell") == 4
    assert all(b["count"] == 1 for b in doc["boxes"])
    ids = [b["id"] for b in doc["boxes"] if b["kind"] == "normal_cell"]
    incoming = {i: sum(1 for _, v in doc["edges"] if v == i) for i in ids}
    assert all(n == 2 for n in incoming.values())


def test_unnamed_repeats_are_split_and_collapsed(outdir):
    doc, _ = drawn("inception_v3", "dot", outdir)
    last = [b for b in doc["boxes"] if b["kind"] == "module_c"]
    assert [(b["name"], b["count"]) for b in last] == [("mixed9 … mixed10", 2)]


@pytest.mark.parametrize("net", list(NETS))
def test_depth_grows_the_drawing(net):
    graph, analysis, blocks = loaded(net)

    def count(depth):
        return len(block_view(graph, analysis, depth, blocks).boxes)

    counts = [count(d) for d in range(1, 7)]
    assert counts == sorted(counts)
    assert counts[0] <= count(None) <= counts[1]
    assert count(99) == len(graph)  # deep enough: single layers


def test_a_large_depth_is_bounded_and_fast(outdir):
    graph, analysis, blocks = loaded("densenet121")
    with pytest.raises(SpecError, match="429 boxes, more than 100"):
        block_view(graph, analysis, 99, blocks, max_boxes=100)
    code, stdout, stderr = draw(
        "specs/densenet121.yaml", "--depth", "99", "-o", str(outdir / "deep.svg"), "--json"
    )
    assert code == 0, stderr
    doc = json.loads(stdout)
    assert len(doc["boxes"]) == len(graph)
    root, boxes = svg_boxes(outdir / "deep.svg")
    assert len(boxes) == len(graph)


# ------------------------------------------------------------------ generated specs

BLOCKS = """\
blocks:
  lin:
    layers: [{dense: {units: 8}}, {activation: relu}]
  res:
    graph:
      main: [{dense: {units: 8}}, {dense: {units: 8}}]
      out: [{add: [input, main]}]
  cat:
    graph:
      a: [{dense: {units: 4}}]
      b: [{dense: {units: 4, activation: relu}}]
      out: [{concatenate: [a, b]}]
"""
STEPS = st.lists(
    st.one_of(
        st.tuples(
            st.just("layer"), st.sampled_from(["dense", "relu", "dropout"]), st.integers(1, 3)
        ),
        st.tuples(st.just("call"), st.sampled_from(["lin", "res", "cat"]), st.integers(1, 3)),
    ),
    min_size=1,
    max_size=8,
)
LAYER_STEPS = {
    "dense": "{dense: {units: 8}}",
    "relu": "{activation: relu}",
    "dropout": "{dropout: {rate: 0.1}}",
}


def generated(steps, unnamed: bool) -> str:
    """A spec of these steps: a call repeated ``n`` times, or a single layer."""
    lines = ["archspec: 1", "name: generated", "input: [8]"]
    if unnamed:
        lines.append("auto_names: keras")
    lines += BLOCKS.splitlines()
    lines += ["layers:", "  - {dense: {units: 8}}"]
    for kind, what, n in steps:
        if kind == "layer":
            lines.append(f"  - {{{LAYER_STEPS[what][1:-1]}, repeat: {n}}}")
        else:
            name = ', name: ""' if unnamed else ""
            lines.append(
                f"  - {{{what}: {{}}{name}, repeat: {n}}}"
                if n > 1
                else f"  - {{{what}: {{}}{name}}}"
            )
    return "\n".join(lines) + "\n"


def expected_boxes(steps) -> list[tuple[str, int]]:
    """(kind, count) per box. Consecutive calls of one block are a chain of alike blocks,
    one box; so are consecutive repeats (two copies or more) of one layer."""
    out = [("input", 1), ("dense", 1)]
    joins: list[object] = [None, None]
    for kind, what, n in steps:
        name = {"relu": "activation"}.get(what, what)
        join = (kind, what) if kind == "call" or n > 1 else None
        if join is not None and joins[-1] == join:
            out[-1] = (name, out[-1][1] + n)
        else:
            out.append((name, n))
            joins.append(join)
    return out


@pytest.fixture(scope="module")
def specdir():
    with tempfile.TemporaryDirectory(prefix="archspec-draw-gen-") as folder:
        yield Path(folder)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=STEPS, unnamed=st.booleans())
def test_generated_chains_of_blocks(steps, unnamed, specdir):
    from archspec.draw.dot import dot_text
    from archspec.draw.layout import lay_out
    from archspec.draw.mermaid import mermaid_text
    from archspec.draw.svg import svg_text

    path = specdir / "generated.yaml"
    path.write_text(generated(steps, unnamed))
    spec = archspec.load(path)
    graph = spec.graph()
    analysis = analyse(graph)
    view = block_view(graph, analysis, None, spec.spec.blocks)
    assert [(b.kind, b.count) for b in view.boxes] == expected_boxes(steps)
    # a chain: each box feeds the next
    assert view.edges == [(i, i + 1) for i in range(len(view.boxes) - 1)]
    assert sum(b.params for b in view.boxes) == analysis.totals.params
    for depth in (None, 1, 2, 3):
        deeper = block_view(graph, analysis, depth, spec.spec.blocks)
        owner = [b.id for b in deeper.boxes for _ in range(b.layers)]
        ids = [(deeper.boxes[u].id, deeper.boxes[v].id) for u, v in deeper.edges]
        assert set(ids) == ir_edges(graph, owner) and len(ids) == len(set(ids))
    root = ET.fromstring(svg_text(lay_out(view)))
    assert sum(1 for g in root.iter(f"{SVG}g") if "box" in g.get("class", "").split()) == len(
        view.boxes
    )
    (dot,) = pydot.graph_from_dot_data(dot_text(view))
    assert len(dot.get_edges()) == len(view.edges)
    nodes, edges = mermaid_graph(mermaid_text(view))
    assert len(nodes) == len(view.boxes) and len(edges) == len(view.edges)


def test_names_that_need_escaping_survive_every_format(tmp_path):
    name = 'odd "name" <b>#1; \\n`x`'
    spec = tmp_path / "odd.yaml"
    spec.write_text(
        "archspec: 1\nname: odd\ninput: [4]\n"
        f"layers:\n  - dense: {{units: 2, name: {json.dumps(name)}}}\n"
    )
    for fmt in ("svg", "dot", "mmd"):
        code, _, stderr = draw(str(spec), "-o", str(tmp_path / f"odd.{fmt}"))
        assert code == 0, stderr
    _, boxes = svg_boxes(tmp_path / "odd.svg")
    assert [b["name"] for b in boxes] == ["input_layer", name]
    nodes, _ = dot_graph(tmp_path / "odd.dot")
    label = nodes["b1"].get_label()
    assert label.startswith('"odd \\"name\\" <b>#1; \\\\n`x`\\n')
    m_nodes, _ = mermaid_graph((tmp_path / "odd.mmd").read_text())
    assert m_nodes["b1"][0] == "odd #quot;name#quot; #lt;b#gt;#35;1; \\n#96;x#96;"


# ------------------------------------------------------------------ the command


def test_draw_without_tensorflow(tmp_path):
    harness = (
        "import sys\n"
        "for name in ('tensorflow', 'keras', 'jax'):\n"
        "    sys.modules[name] = None  # any import of them now fails\n"
        "from archspec.cli import main\n"
        "main(sys.argv[1:])\n"
    )
    out = tmp_path / "resnet50.png"
    result = subprocess.run(
        [sys.executable, "-c", harness, "draw", "specs/resnet50.yaml", "-o", str(out), "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["format"] == "png"
    assert png_size(out) == tuple(json.loads(result.stdout)[k] for k in ("width", "height"))


def test_json_document_and_messages(tmp_path):
    out = tmp_path / "lenet.svg"
    code, stdout, stderr = draw("specs/lenet5.yaml", "-o", str(out), "--json")
    assert code == 0 and stderr == ""
    doc = json.loads(stdout)
    assert list(doc) == ["output", "format", "model", "depth", "width", "height", "boxes", "edges"]
    assert doc["output"] == str(out) and doc["format"] == "svg" and doc["model"] == "lenet5"
    assert doc["depth"] is None and len(doc["boxes"]) == 9 and len(doc["edges"]) == 8
    assert list(doc["boxes"][1]) == [
        "id", "name", "kind", "count", "layers", "first_layer", "last_layer", "output_shape",
        "params", "trainable_params", "non_trainable_params", "macs", "input", "output",
    ]  # fmt: skip
    code, stdout, stderr = draw("specs/lenet5.yaml", "-o", str(tmp_path / "l.mmd"))
    assert (
        code == 0
        and stdout == f"wrote {tmp_path / 'l.mmd'} (9 boxes, 8 edges, 0 repeated blocks)\n"
    )
    code, stdout, stderr = draw("specs/lenet5.yaml", "-o", str(tmp_path / "q.dot"), "-q")
    assert (code, stdout, stderr) == (0, "", "") and (tmp_path / "q.dot").is_file()
    code, stdout, _ = draw("specs/lenet5.yaml", "-o", str(tmp_path / "q.png"), "-q", "--json")
    assert (code, stdout) == (0, "") and (tmp_path / "q.png").is_file()


def test_help_shows_examples():
    code, stdout, _ = draw("--help")
    assert code == 0
    assert "Examples:\n    archspec draw specs/resnet50.yaml -o resnet50.svg\n" in stdout
    assert "--depth" in stdout and ".mmd" in stdout


@pytest.mark.parametrize(
    "output, message",
    [
        (
            "out.jpg",
            "the drawing's file must end in one of `.svg`, `.png`, `.dot`, `.mmd`, got `out.jpg`",
        ),
        ("out", "the drawing's file must end in one of `.svg`, `.png`, `.dot`, `.mmd`, got `out`"),
        ("missing/out.svg", "cannot write the drawing: folder `{tmp}/missing` does not exist"),
        ("file.txt/out.svg", "the path runs through something that is not a folder"),
        ("folder.svg", "cannot write the drawing there: the path is a directory"),
    ],
)
def test_output_errors_come_before_any_work(tmp_path, output, message):
    (tmp_path / "file.txt").write_text("x")
    (tmp_path / "folder.svg").mkdir()
    # the spec does not exist: the output is refused first
    code, stdout, stderr = draw("no/such/spec.yaml", "-o", str(tmp_path / output))
    assert code == 2 and stdout == ""
    assert stderr.count("\n") == 1 and stderr.startswith("error: ")
    assert message.format(tmp=tmp_path) in stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt", "folder.svg"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["no/such/spec.yaml"], "no/such/spec.yaml"),
        (["specs/lenet5.yaml", "--set", "clases=3"], "clases"),
        (["specs/lenet5.yaml", "--depth", "0"], "--depth"),
    ],
)
def test_bad_specs_and_options_are_one_line(tmp_path, args, message):
    code, stdout, stderr = draw(*args, "-o", str(tmp_path / "x.svg"))
    assert code == 2 and stdout == ""
    assert stderr.count("\n") == 1 and stderr.startswith("error: ") and message in stderr
    assert list(tmp_path.iterdir()) == []


def test_a_bad_yaml_line_is_pointed_at(tmp_path):
    spec = tmp_path / "bad.yaml"
    spec.write_text("archspec: 1\nname: b\ninput: [8]\nlayers: [{dens: {units: 2}}]\n")
    code, _, stderr = draw(str(spec), "-o", str(tmp_path / "x.png"))
    assert code == 2
    assert (
        stderr
        == f"error: {spec}:4:10: layers[0]: unknown op or block `dens` (did you mean `dense`?)\n"
    )
    assert not (tmp_path / "x.png").exists()


def test_a_failed_write_leaves_no_file(tmp_path, monkeypatch):
    import archspec.draw.formats as formats

    def broken(view, fmt, path):
        Path(path).write_text("half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(formats, "write", broken)
    out = tmp_path / "x.svg"
    out.write_text("old")
    code, _, stderr = draw("specs/lenet5.yaml", "-o", str(out))
    assert code == 2
    assert stderr == f"error: {out}: cannot write the drawing: No space left on device\n"
    assert [p.name for p in tmp_path.iterdir()] == ["x.svg"] and out.read_text() == "old"
