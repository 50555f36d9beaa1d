"""Inference speed of the registered lifters on this CPU (random weights; speed only).

Usage::

    .venv/bin/python benchmarks/bench_lifters.py [--threads 2] [--repeats 7] [--batches 1 1024]

Times ``model(keypoints_2d, valid)`` under ``torch.inference_mode()`` (no flip averaging, which
doubles the cost) and prints a markdown table of median times. A temporal model predicts a whole
window per input, but a sliding window yields one (centre) pose per window, so "poses/s" counts
windows for it.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import time

import torch

from monopose.zoo import create_model, list_models


def bench(name: str, batch: int, repeats: int, warmup: int = 2) -> float:
    """Median seconds per forward pass of ``name`` at ``batch`` windows."""
    card = next(c for c in list_models() if c.name == name)
    torch.manual_seed(0)
    model = create_model(name).eval()
    kp = torch.rand(batch, card.window, 17, 2) * 2 - 1
    valid = torch.rand(batch, card.window, 17) > 0.1
    times = []
    with torch.inference_mode():
        for i in range(warmup + repeats):
            start = time.perf_counter()
            model(kp, valid)
            if i >= warmup:
                times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 1024])
    parser.add_argument("--models", nargs="*", default=None, help="default: every registered")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    names = args.models or [c.name for c in list_models() if not c.name.endswith("-scratch")]
    cards = {c.name: c for c in list_models()}
    cpu = platform.processor() or platform.machine()
    print(f"date: {datetime.datetime.now().isoformat(timespec='seconds')}; torch "
          f"{torch.__version__}; threads {args.threads}; {cpu}; "
          f"load average before the run {os.getloadavg()[0]:.2f}")
    print()
    print("| model | params | T | batch | median ms / batch | poses / s |")
    print("|---|---:|---:|---:|---:|---:|")
    for name in names:
        card = cards[name]
        for batch in args.batches:
            # Big batches of long windows take seconds each: fewer repeats keep the run short.
            repeats = args.repeats if batch * card.window <= 4096 else max(3, args.repeats // 2)
            sec = bench(name, batch, repeats)
            print(f"| {name} | {card.num_parameters / 1e6:.2f} M | {card.window} | {batch} | "
                  f"{sec * 1000:.2f} | {batch / sec:,.0f} |", flush=True)


if __name__ == "__main__":
    main()
