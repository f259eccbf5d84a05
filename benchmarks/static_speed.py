"""Whole-process time of archspec's framework-free commands, and how they scale.

1. `archspec validate`, `info` and `diff` on ResNet-152, each as a ratio to
   `python -c "import keras"` measured in the same run (goal: at most 0.10).
2. `archspec validate` and `info` on synthetic specs of 1 to 10,000 residual blocks
   (four layers each), to show the time grows linearly (goal: 10,000 blocks under 2 s):
   the time per block above the one-block run stays the same from 1,000 to 10,000.
3. `archspec info` at the default node limit: the synthetic spec at 2,499 and 24,999
   blocks (9,999 and 99,999 layers), as a table and as JSON. Goal: linear, the same
   time per layer at both sizes (the table took 90 s for 100,000 layers when it was
   laid out by rich).
4. `archspec diff` of two synthetic specs whose layer names differ (so layers are paired
   by structure) at about 5,000 and 20,000 layers: the whole process, and the diff step
   alone (timed inside a fresh process, after both specs are loaded). Goal: linear, the
   diff step's time per layer the same at both sizes.

Every figure is the median of interleaved runs of fresh processes. archspec's modules
are byte-compiled first, as installing a wheel does: an editable checkout run with
``PYTHONDONTWRITEBYTECODE=1`` would otherwise recompile them in every process, which
measures the compiler rather than archspec (keras, the baseline, is compiled too).

    python benchmarks/static_speed.py [--repeats N] [--json] [--only ratios|scaling|info|diff]
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ARCHSPEC = [sys.executable, "-m", "archspec"]
SYNTHETIC = """archspec: 1
name: synthetic{blocks}
input: [8, 8, 16]
blocks:
  unit:
    params: {{filters: 16}}
    graph:
      main:
        - conv2d: {{filters: $filters, kernel_size: 3, padding: same}}
        - batch_normalization
      out:
        - add: [input, main]
        - activation: relu
layers:
  - unit: {{}}
    repeat: {blocks}
  - global_average_pooling2d
  - dense: 10
"""
#: the same model with its repeated blocks named by ``prefix`` (a1, a2, ... or b1, b2, ...)
NAMED = SYNTHETIC.replace("repeat: {blocks}\n", "repeat: {blocks}\n    name: {prefix}${{index}}\n")
#: about this many layers on each side of the diff (four per block)
DIFF_LAYERS = (5_000, 20_000)
DIFF_STEP = (
    "import sys, time\n"
    "import archspec\n"
    "from archspec.compare.diff import diff\n"
    "a, b = (archspec.load(path).graph() for path in sys.argv[1:])\n"
    "start = time.perf_counter()\n"
    "diff(a, b)\n"
    "print(time.perf_counter() - start)\n"
)


def _execute(command: list[str], ok: tuple[int, ...] = (0, 1)) -> tuple[float, str]:
    """Wall time and standard output of one run (exit 1 is a diff that found changes)."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    start = time.perf_counter()
    result = subprocess.run(command, cwd=ROOT, capture_output=True, env=env)
    elapsed = time.perf_counter() - start
    if result.returncode not in ok:
        raise RuntimeError(f"{command} failed: {result.stderr.decode()[-500:]}")
    return elapsed, result.stdout.decode()


def _run(command: list[str]) -> float:
    """Whole-process wall time."""
    return _execute(command)[0]


def _reported(command: list[str]) -> float:
    """The seconds a command prints (a step it timed itself)."""
    return float(_execute(command, ok=(0,))[1])


def medians(
    commands: dict[str, list[str]], repeats: int, measure: Callable[[list[str]], float] = _run
) -> dict[str, float]:
    """Median of ``measure`` for each command, runs interleaved so drift hits all alike."""
    for command in commands.values():
        measure(command)  # warm the file cache
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(repeats):
        for name, command in commands.items():
            times[name].append(measure(command))
    return {name: statistics.median(t) for name, t in times.items()}


def diff_scaling(repeats: int) -> dict[int, dict[str, float]]:
    """Layers per side -> seconds of the whole `diff --json` process and of the diff step."""
    with tempfile.TemporaryDirectory() as tmp:
        processes: dict[str, list[str]] = {}
        steps: dict[str, list[str]] = {}
        layers: dict[str, int] = {}
        for size in DIFF_LAYERS:
            blocks = size // 4
            paths = []
            for prefix in ("a", "b"):
                path = Path(tmp) / f"{prefix}{blocks}.yaml"
                path.write_text(NAMED.format(blocks=blocks, prefix=prefix))
                paths.append(str(path))
            key = str(size)
            layers[key] = 4 * blocks + 3  # the input, the pooling and the classifier
            processes[key] = [*ARCHSPEC, "diff", *paths, "--json"]
            steps[key] = [sys.executable, "-c", DIFF_STEP, *paths]
        process = medians(processes, repeats)
        step = medians(steps, repeats, _reported)
    return {layers[k]: {"process": process[k], "diff": step[k]} for k in processes}


def resnet_ratios(repeats: int) -> tuple[dict[str, float], dict[str, float]]:
    """Seconds of each command on ResNet-152 (and `import keras`), and their ratios."""
    spec = "specs/resnet152.yaml"
    seconds = medians(
        {
            "import keras": [sys.executable, "-c", "import keras"],
            "validate": [*ARCHSPEC, "validate", spec],
            "info": [*ARCHSPEC, "info", spec, "--json"],
            "diff": [*ARCHSPEC, "diff", spec, "specs/resnet101.yaml", "--json"],
        },
        repeats,
    )
    baseline = seconds["import keras"]
    return seconds, {k: v / baseline for k, v in seconds.items() if k != "import keras"}


def spec_scaling(repeats: int) -> tuple[dict[int, dict[str, float]], dict[int, dict[str, float]]]:
    """Seconds of validate and info per number of blocks, and microseconds per block."""
    # one block is the start-up baseline; every size is run in the same interleaved loop
    sizes = (1, 100, 1_000, 10_000)
    with tempfile.TemporaryDirectory() as tmp:
        commands: dict[str, list[str]] = {}
        for blocks in sizes:
            path = Path(tmp) / f"synthetic{blocks}.yaml"
            path.write_text(SYNTHETIC.format(blocks=blocks))
            commands[f"validate {blocks}"] = [*ARCHSPEC, "validate", str(path)]
            commands[f"info {blocks}"] = [*ARCHSPEC, "info", str(path), "--json"]
        times = medians(commands, repeats)
    scaling = {
        blocks: {command: times[f"{command} {blocks}"] for command in ("validate", "info")}
        for blocks in sizes
    }
    # time per block above the one-block run: constant when the growth is linear
    per_block_us = {
        blocks: {c: (t - scaling[1][c]) / (blocks - 1) * 1e6 for c, t in figures.items()}
        for blocks, figures in scaling.items()
        if blocks > 1
    }
    return scaling, per_block_us


#: blocks of the synthetic spec for `info` at the default node limit
INFO_BLOCKS = (2_499, 24_999)


def info_scaling(repeats: int) -> dict[int, dict[str, float]]:
    """Layers -> seconds of `info` (table) and `info --json` on the synthetic spec."""
    with tempfile.TemporaryDirectory() as tmp:
        commands: dict[str, list[str]] = {}
        for blocks in INFO_BLOCKS:
            path = Path(tmp) / f"synthetic{blocks}.yaml"
            path.write_text(SYNTHETIC.format(blocks=blocks))
            commands[f"table {blocks}"] = [*ARCHSPEC, "info", str(path)]
            commands[f"json {blocks}"] = [*ARCHSPEC, "info", str(path), "--json"]
        times = medians(commands, repeats)
    return {
        4 * blocks + 3: {kind: times[f"{kind} {blocks}"] for kind in ("table", "json")}
        for blocks in INFO_BLOCKS
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--only",
        choices=("ratios", "scaling", "info", "diff"),
        help="Run one part of the benchmark.",
    )
    args = parser.parse_args()
    if not compileall.compile_dir(ROOT / "archspec", quiet=1):
        raise RuntimeError("archspec's modules did not byte-compile")

    report: dict[str, Any] = {
        "machine": {
            "python": platform.python_version(),
            "machine": platform.machine(),
            "cpu_count": os.cpu_count(),
            "repeats": args.repeats,
        }
    }
    if args.only in (None, "ratios"):
        report["seconds"], report["ratios"] = resnet_ratios(args.repeats)
    if args.only in (None, "scaling"):
        report["scaling"], report["per_block_us"] = spec_scaling(args.repeats)
    if args.only in (None, "info"):
        report["info_scaling"] = info_scaling(args.repeats)
    if args.only in (None, "diff"):
        report["diff_scaling"] = diff_scaling(args.repeats)
        report["diff_us_per_layer"] = {
            layers: t["diff"] / layers * 1e6 for layers, t in report["diff_scaling"].items()
        }
    if args.json:
        print(json.dumps(report, indent=2))
        return
    if "ratios" in report:
        seconds = report["seconds"]
        print(f"python -c 'import keras': {seconds['import keras']:.3f} s")
        for name, ratio in report["ratios"].items():
            print(f"archspec {name:<9} resnet152: {seconds[name]:.3f} s  ratio {ratio:.3f}")
    if "scaling" in report:
        print("synthetic residual blocks (4 layers each), time and time per block above 1 block:")
        for blocks, t in report["scaling"].items():
            line = f"  {blocks:>6} blocks: validate {t['validate']:.3f} s, info {t['info']:.3f} s"
            if blocks in report["per_block_us"]:
                us = report["per_block_us"][blocks]
                line += f"  ({us['validate']:.0f} us, {us['info']:.0f} us per block)"
            print(line)
    if "info_scaling" in report:
        print("info on the synthetic spec at the default node limit (table, JSON):")
        for layers, t in report["info_scaling"].items():
            print(
                f"  {layers:>7,} layers: table {t['table']:.3f} s, json {t['json']:.3f} s "
                f"({t['table'] / layers * 1e6:.1f} / {t['json'] / layers * 1e6:.1f} us per layer)"
            )
    if "diff_scaling" in report:
        print("diff of two synthetic specs with different layer names (paired by structure):")
        for layers, t in report["diff_scaling"].items():
            us = report["diff_us_per_layer"][layers]
            print(
                f"  {layers:>6,} layers: process {t['process']:.3f} s, "
                f"diff step {t['diff']:.3f} s ({us:.1f} us per layer)"
            )
    print(f"medians of interleaved runs; {report['machine']}")


if __name__ == "__main__":
    main()
