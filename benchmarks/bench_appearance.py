"""Cost of the realistic appearance mode against the paper's mode, per size preset, same run.

Run from the repository root::

    python benchmarks/bench_appearance.py                 # BLAS as the environment sets it
    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_appearance.py

On the 256 x 256 x 128 float32 phantom at 1 mm (the setting of bench_synthesize.py), each seed
is run in both modes back to back, alternating which goes first. The modes draw different random
numbers (the realistic mode draws the lesion's after the paper's), so the tumour counts of one
seed differ; the table gives the median ms per call and per tumour, and their ratio. The issue's
target is a ratio of at most 1.3 per preset.
"""

from __future__ import annotations

import argparse
import statistics
import time

from synthtumor import SIZE_NAMES, TumorConfig, synthesize
from synthtumor.phantom import make_phantom


def _timed(phantom, size: str, config: TumorConfig, seed: int) -> tuple[float, int]:
    start = time.perf_counter()
    _, _, params = synthesize(
        phantom.image,
        phantom.liver_mask,
        spacing=phantom.spacing,
        size=size,
        config=config,
        rng=seed,
    )
    return time.perf_counter() - start, len(params.tumors)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15, help="seeds per preset")
    parser.add_argument("--sizes", nargs="+", choices=SIZE_NAMES, default=list(SIZE_NAMES))
    parser.add_argument("--phase", default="portal")
    parser.add_argument("--lesion", default="metastasis")
    args = parser.parse_args(argv)
    phantom = make_phantom((256, 256, 128), (1.0, 1.0, 1.0), rng=0)
    modes = {"paper": TumorConfig(), "realistic": TumorConfig.realistic(args.phase, args.lesion)}
    for config in modes.values():  # warm-up: imports, caches
        _timed(phantom, "small", config, 0)
    print(f"realistic: phase {args.phase}, lesion {args.lesion}; {args.repeats} seeds per preset")
    header = (
        f"{'size':8} {'paper ms':>9} {'real. ms':>9} {'ratio':>6} "
        f"{'paper ms/tum':>13} {'real. ms/tum':>13} {'ratio':>6}"
    )
    print(header)
    print("-" * len(header))
    for size in args.sizes:
        calls: dict[str, list[float]] = {name: [] for name in modes}
        per_tumour: dict[str, list[float]] = {name: [] for name in modes}
        for seed in range(args.repeats):
            order = list(modes) if seed % 2 == 0 else list(reversed(modes))
            for name in order:
                seconds, count = _timed(phantom, size, modes[name], seed)
                calls[name].append(1000 * seconds)
                per_tumour[name].append(1000 * seconds / max(count, 1))
        call = {name: statistics.median(values) for name, values in calls.items()}
        tumour = {name: statistics.median(values) for name, values in per_tumour.items()}
        print(
            f"{size:8} {call['paper']:9.1f} {call['realistic']:9.1f} "
            f"{call['realistic'] / call['paper']:6.2f} {tumour['paper']:13.2f} "
            f"{tumour['realistic']:13.2f} {tumour['realistic'] / tumour['paper']:6.2f}"
        )


if __name__ == "__main__":
    main()
