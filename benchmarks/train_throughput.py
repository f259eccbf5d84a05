"""Training throughput of the compiled ResNet-50 against keras.applications.ResNet50.

Both models are trained on the same synthetic batch, generated on the accelerator with
``keras.random``, with ``model.compile(optimizer="sgd",
loss="sparse_categorical_crossentropy")`` (``jit_compile`` left at the backend's
default) and ``train_on_batch``. For each precision (``float32``, ``mixed_bfloat16``,
set with ``keras.mixed_precision.set_global_policy`` before the models are built) each
model takes warm-up steps (compilation included, not timed), then the two are timed in
turn, ``--steps`` steps at a time, alternating which goes first so that drift (clocks,
temperature, other work) falls on both; the figure is the median of ``--repeats`` such
timings, in images per second, and the ratio spec / reference.

Keras fixes its backend at import, so each backend runs in a process of its own
(``KERAS_BACKEND``), one after the other::

    python benchmarks/train_throughput.py --backends jax,tensorflow --out results.json
    python benchmarks/train_throughput.py --backends jax --batch 4 --steps 2 \\
        --warmup 1 --repeats 2 --image-size 64          # a quick check on a CPU

The parent process prints a table and writes every figure, with the versions and the
device, to ``--out`` after each backend (a backend that fails or runs out of time is
recorded with its error, and the others still run).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "specs" / "resnet50.yaml"
PRECISIONS = ("float32", "mixed_bfloat16")


# --- in the child process, under one backend --------------------------------------------


def _device() -> dict[str, Any]:
    """The accelerator the backend uses, and the backend library's version."""
    import keras

    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        device = jax.devices()[0]
        return {
            "library": f"jax {jax.__version__}",
            "device": device.device_kind,
            "platform": device.platform,
        }
    if backend == "torch":
        import torch

        cuda = torch.cuda.is_available()
        return {
            "library": f"torch {torch.__version__}",
            "device": torch.cuda.get_device_name(0) if cuda else "cpu",
            "platform": "gpu" if cuda else "cpu",
        }
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    name = tf.config.experimental.get_device_details(gpus[0]).get("device_name") if gpus else ""
    return {
        "library": f"tensorflow {tf.__version__}",
        "device": name or "cpu",
        "platform": "gpu" if gpus else "cpu",
    }


def _models(size: int) -> dict[str, Any]:
    """The compiled spec and the reference, built under the current dtype policy."""
    import keras

    import archspec

    shape = [size, size, 3]
    overrides = {} if size == 224 else {"input_shape": shape}
    spec = archspec.load(SPEC, overrides).build()
    reference = keras.applications.ResNet50(weights=None, input_shape=tuple(shape))
    assert spec.count_params() == reference.count_params()
    for model in (spec, reference):
        model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    return {"spec": spec, "reference": reference}


def _timed(model: Any, x: Any, y: Any, steps: int) -> float:
    """Seconds for ``steps`` training steps; ``train_on_batch`` returns the loss as a
    host number, so each step has finished on the device when it returns."""
    start = time.perf_counter()
    for _ in range(steps):
        loss = model.train_on_batch(x, y)
    elapsed = time.perf_counter() - start
    if math.isnan(float(loss)):
        raise RuntimeError("the loss is NaN")
    return elapsed


def child(args: argparse.Namespace) -> dict[str, Any]:
    """Every precision under this process's backend: images per second per model."""
    import keras

    result: dict[str, Any] = {
        "backend": keras.backend.backend(),
        "keras": keras.__version__,
        **_device(),
        "precisions": {},
    }
    for precision in args.precisions:
        keras.mixed_precision.set_global_policy(precision)
        keras.backend.clear_session()
        keras.utils.set_random_seed(0)
        started = time.perf_counter()
        models = _models(args.image_size)
        # the batch is made on the device, once: no input pipeline in the timings
        x = keras.random.uniform((args.batch, args.image_size, args.image_size, 3), 0, 255)
        y = keras.random.randint((args.batch,), 0, 1000)
        warmup = {}
        for name, model in models.items():
            start = time.perf_counter()
            _timed(model, x, y, args.warmup)
            warmup[name] = round(time.perf_counter() - start, 2)
        seconds: dict[str, list[float]] = {name: [] for name in models}
        for repeat in range(args.repeats):
            order = list(models) if repeat % 2 == 0 else list(reversed(models))
            for name in order:
                seconds[name].append(_timed(models[name], x, y, args.steps))
        figures: dict[str, Any] = {}
        medians = {}
        for name, times in seconds.items():
            rates = [args.steps * args.batch / t for t in times]
            medians[name] = statistics.median(rates)
            figures[name] = {
                "images_per_s": round(medians[name], 2),
                "all_images_per_s": [round(r, 2) for r in rates],
                "warmup_s": warmup[name],
            }
        figures["ratio"] = round(medians["spec"] / medians["reference"], 4)
        figures["total_s"] = round(time.perf_counter() - started, 1)
        result["precisions"][precision] = figures
        del models, x, y
    return result


# --- in the parent process ---------------------------------------------------------------


def _run_backend(backend: str, args: argparse.Namespace, log: Any) -> dict[str, Any]:
    command = [
        sys.executable,
        __file__,
        "--child",
        "--batch",
        str(args.batch),
        "--steps",
        str(args.steps),
        "--warmup",
        str(args.warmup),
        "--repeats",
        str(args.repeats),
        "--image-size",
        str(args.image_size),
        "--precisions",
        ",".join(args.precisions),
    ]
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "2"}
    started = time.perf_counter()
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, env=env, cwd=ROOT, timeout=args.backend_timeout
        )
    except subprocess.TimeoutExpired as exc:
        log.write(f"== {backend}: timed out after {args.backend_timeout} s\n")
        log.write(str(exc.stderr or "")[-20000:])
        return {"backend": backend, "error": f"timed out after {args.backend_timeout} s"}
    log.write(f"== {backend}: exit {done.returncode} in {time.perf_counter() - started:.0f} s\n")
    log.write(done.stderr[-20000:] + "\n")
    log.flush()
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        return {"backend": backend, "error": lines[-1] if lines else f"exit {done.returncode}"}
    return json.loads(done.stdout.splitlines()[-1])


def _table(results: list[dict[str, Any]]) -> str:
    lines = [
        "| backend | precision | spec images/s | reference images/s | ratio |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for result in results:
        if "error" in result:
            lines.append(f"| {result['backend']} | failed: {result['error'][:80]} | | | |")
            continue
        for precision, f in result["precisions"].items():
            lines.append(
                f"| {result['backend']} | {precision} | {f['spec']['images_per_s']:,.1f} "
                f"| {f['reference']['images_per_s']:,.1f} | {f['ratio']:.3f} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--backends",
        default="jax,tensorflow",
        help="comma-separated Keras backends, each in its own process",
    )
    parser.add_argument("--precisions", default=",".join(PRECISIONS))
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--steps", type=int, default=20, help="steps per timing")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps per model")
    parser.add_argument("--repeats", type=int, default=5, help="timings per model")
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument(
        "--backend-timeout",
        type=float,
        default=420.0,
        help="seconds allowed to each backend's process",
    )
    parser.add_argument("--out", type=Path, default=Path("train_throughput.json"))
    parser.add_argument("--log", type=Path, default=None, help="the processes' stderr")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.precisions = [p for p in args.precisions.split(",") if p]
    if args.child:
        sys.path.insert(0, str(ROOT))
        print(json.dumps(child(args)))
        return
    settings = {
        k: getattr(args, k)
        for k in ("batch", "steps", "warmup", "repeats", "image_size", "precisions")
    }
    document: dict[str, Any] = {
        "settings": settings,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "results": [],
    }
    log_path = args.log or args.out.with_suffix(".log")
    with open(log_path, "w", encoding="utf-8") as log:
        for backend in [b for b in args.backends.split(",") if b]:
            document["results"].append(_run_backend(backend, args, log))
            args.out.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
            print(json.dumps(document["results"][-1]), flush=True)
    print(_table(document["results"]))


if __name__ == "__main__":
    main()
