"""Whole-process time of archspec's framework-free commands, and how they scale.

1. `archspec validate`, `info` and `diff` on ResNet-152, each as a ratio to
   `python -c "import keras"` measured in the same run (goal: at most 0.10).
2. `archspec validate` and `info` on synthetic specs of 1 to 10,000 residual blocks
   (four layers each), to show the time grows linearly (goal: 10,000 blocks under 2 s):
   the time per block above the one-block run stays the same from 1,000 to 10,000.

Every figure is the median of interleaved runs of fresh processes. archspec's modules
are byte-compiled first, as installing a wheel does: an editable checkout run with
``PYTHONDONTWRITEBYTECODE=1`` would otherwise recompile them in every process, which
measures the compiler rather than archspec (keras, the baseline, is compiled too).

    python benchmarks/static_speed.py [--repeats N] [--json]
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
from pathlib import Path

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


def _run(command: list[str]) -> float:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    start = time.perf_counter()
    result = subprocess.run(command, cwd=ROOT, capture_output=True, env=env)
    elapsed = time.perf_counter() - start
    if result.returncode not in (0, 1):  # diff exits 1 when the specs differ
        raise RuntimeError(f"{command} failed: {result.stderr.decode()[-500:]}")
    return elapsed


def medians(commands: dict[str, list[str]], repeats: int) -> dict[str, float]:
    """Median wall time of each command, runs interleaved so drift hits all alike."""
    for command in commands.values():
        _run(command)  # warm the file cache
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(repeats):
        for name, command in commands.items():
            times[name].append(_run(command))
    return {name: statistics.median(t) for name, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not compileall.compile_dir(ROOT / "archspec", quiet=1):
        raise RuntimeError("archspec's modules did not byte-compile")

    spec = "specs/resnet152.yaml"
    ratio_times = medians(
        {
            "import keras": [sys.executable, "-c", "import keras"],
            "validate": [*ARCHSPEC, "validate", spec],
            "info": [*ARCHSPEC, "info", spec, "--json"],
            "diff": [*ARCHSPEC, "diff", spec, "specs/resnet101.yaml", "--json"],
        },
        args.repeats,
    )
    baseline = ratio_times["import keras"]
    ratios = {k: v / baseline for k, v in ratio_times.items() if k != "import keras"}

    # one block is the start-up baseline; every size is run in the same interleaved loop
    sizes = (1, 100, 1_000, 10_000)
    with tempfile.TemporaryDirectory() as tmp:
        commands: dict[str, list[str]] = {}
        for blocks in sizes:
            path = Path(tmp) / f"synthetic{blocks}.yaml"
            path.write_text(SYNTHETIC.format(blocks=blocks))
            commands[f"validate {blocks}"] = [*ARCHSPEC, "validate", str(path)]
            commands[f"info {blocks}"] = [*ARCHSPEC, "info", str(path), "--json"]
        times = medians(commands, args.repeats)
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
    machine = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "repeats": args.repeats,
    }
    if args.json:
        print(json.dumps({"machine": machine, "seconds": ratio_times, "ratios": ratios,
                          "scaling": scaling, "per_block_us": per_block_us}, indent=2))  # fmt: skip
        return
    print(f"python -c 'import keras': {baseline:.3f} s")
    for name, ratio in ratios.items():
        print(f"archspec {name:<9} resnet152: {ratio_times[name]:.3f} s  ratio {ratio:.3f}")
    print("synthetic residual blocks (4 layers each), time and time per block above 1 block:")
    for blocks, t in scaling.items():
        line = f"  {blocks:>6} blocks: validate {t['validate']:.3f} s, info {t['info']:.3f} s"
        if blocks in per_block_us:
            us = per_block_us[blocks]
            line += f"  ({us['validate']:.0f} us, {us['info']:.0f} us per block)"
        print(line)
    print(f"medians of interleaved runs; {machine}")


if __name__ == "__main__":
    main()
