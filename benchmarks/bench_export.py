"""onnxruntime vs PyTorch inference speed of the exported lifters on this CPU, side by side.

Usage::

    .venv/bin/python benchmarks/bench_export.py [--threads 1] [--repeats 7] [--batches 1 1024]
        [--models baseline-t1 mpm-lift-t1 ...]

For every lifter: export to ONNX (trained weights when present, else a randomly initialised
network: speed does not depend on the weights), check parity, then time PyTorch
(``inference_mode``, the ×1000 mm wrapper) and onnxruntime (CPU provider) on the same inputs,
alternating between the two so both see the same machine load. Prints a markdown table of
median poses/s and the ratio. A temporal model predicts a whole window per input but a sliding
window yields one (centre) pose per window, so "poses/s" counts windows for it. The machine may
be shared: compare ratios, not absolute numbers. One thread by default: on a loaded 2-core machine
PyTorch's multi-threaded small batches stall on thread barriers (medians 100x slower), which
would measure the load, not the runtimes. Small batches get at least 50 repeats.
"""

from __future__ import annotations

import argparse
import datetime
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from monopose.export.onnx_export import (
    MillimetreOutput,
    export_onnx,
    onnx_session,
    random_normalised_poses,
    run_onnx,
)
from monopose.zoo import available, create_model, list_models, load_model


def bench_model(name: str, batches: list[int], repeats: int, threads: int, folder: Path
                ) -> list[tuple[int, float, float, str]]:
    """``[(batch, torch poses/s, onnxruntime poses/s, weights)]`` for one lifter."""
    trained = available(name)
    module = load_model(name)[0] if trained else create_model(name)
    module = module.eval()
    res = export_onnx(module, folder / f"{name}.onnx")
    session = onnx_session(res.path, threads=threads)
    wrapper = MillimetreOutput(module).eval()
    rng = np.random.default_rng(0)
    rows = []
    for batch in batches:
        kp, valid = random_normalised_poses(batch, res.window, rng)
        kp_t, valid_t = torch.from_numpy(kp), torch.from_numpy(valid)
        t_torch, t_ort = [], []
        with torch.inference_mode():
            warmup = 2 if batch <= 16 else 1
            for i in range(warmup + (max(repeats, 50) if batch <= 16 else repeats)):
                start = time.perf_counter()
                wrapper(kp_t, valid_t)
                mid = time.perf_counter()
                run_onnx(session, kp, valid)
                end = time.perf_counter()
                if i >= warmup:
                    t_torch.append(mid - start)
                    t_ort.append(end - mid)
        rows.append((batch, batch / statistics.median(t_torch), batch / statistics.median(t_ort),
                     "trained" if trained else "random init"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 1024])
    parser.add_argument("--models", nargs="*", default=None, help="default: every registered")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    names = args.models or [c.name for c in list_models()]
    import onnxruntime

    print(f"date: {datetime.datetime.now().isoformat(timespec='seconds')}; "
          f"{platform.processor() or platform.machine()}; torch {torch.__version__}; "
          f"onnxruntime {onnxruntime.__version__}; threads {args.threads}; median of "
          f"{args.repeats}")
    print()
    print("| model | weights | batch | PyTorch poses/s | onnxruntime poses/s | ORT / PyTorch |")
    print("|---|---|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            for batch, pt, ort, weights in bench_model(name, args.batches, args.repeats,
                                                       args.threads, Path(tmp)):
                print(f"| {name} | {weights} | {batch} | {pt:,.0f} | {ort:,.0f} | "
                      f"{ort / pt:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
