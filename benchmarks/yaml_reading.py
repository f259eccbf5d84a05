"""What reading a spec costs over PyYAML's own safe loading.

archspec reads YAML with PyYAML's C loader plus what the language needs: the position
of every value, the YAML 1.2 core resolver, and the size, depth, alias and integer
bounds. This times ``archspec.loader.yaml_source.parse_yaml`` against
``yaml.load(text, Loader=yaml.CSafeLoader)`` on the same text, interleaved, and prints
the ratio of the medians. Goal: under 3.

    python benchmarks/yaml_reading.py [--repeats N] [--json] [FILE ...]

Without FILE, the three largest bundled specs and libraries are read.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from archspec.loader.yaml_source import parse_yaml  # noqa: E402


def ratio(text: str, repeats: int) -> dict[str, float]:
    """Median seconds of archspec's reading and of PyYAML's, and their ratio."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    ours: list[float] = []
    theirs: list[float] = []
    parse_yaml(text, "f.yaml")
    yaml.load(text, Loader=loader)
    for _ in range(repeats):
        start = time.perf_counter()
        parse_yaml(text, "f.yaml")
        middle = time.perf_counter()
        yaml.load(text, Loader=loader)
        ours.append(middle - start)
        theirs.append(time.perf_counter() - middle)
    archspec_s, pyyaml_s = statistics.median(ours), statistics.median(theirs)
    return {"archspec_s": archspec_s, "pyyaml_s": pyyaml_s, "ratio": archspec_s / pyyaml_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--repeats", type=int, default=51)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    files = (
        args.files
        or sorted((ROOT / "specs").rglob("*.yaml"), key=lambda p: p.stat().st_size, reverse=True)[
            :3
        ]
    )
    results = {
        str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path): {
            "bytes": path.stat().st_size,
            **ratio(path.read_text(), args.repeats),
        }
        for path in files
    }
    if args.json:
        print(json.dumps({"python": platform.python_version(), "results": results}, indent=2))
        return
    print(f"PyYAML {yaml.__version__} (libyaml: {yaml.__with_libyaml__}), {args.repeats} runs")
    for name, r in results.items():
        print(
            f"{name:45} {r['bytes']:>7,} B  archspec {r['archspec_s'] * 1e3:7.2f} ms  "
            f"PyYAML {r['pyyaml_s'] * 1e3:7.2f} ms  ratio {r['ratio']:.2f}"
        )


if __name__ == "__main__":
    main()
