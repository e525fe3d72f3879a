"""Is this tree as fast as an earlier revision? ``synthesize`` per preset, old and new, in one run.

The revision (``--base``, e.g. the last release or the commit before a refactor) is checked out
into a temporary git worktree; two worker processes, one importing each tree's
``src/synthtumor``, time the same calls (a 256 x 256 x 128 phantom at 1 mm, every stage on, the
same seeds) in ABBA order, so that other load on the machine hits both alike. The table gives
the median milliseconds per call of each (each seed's faster call of two) and the median over
seeds of new / base, the same seed's calls compared; BLAS is pinned to one thread in both
(``--threads default`` leaves the environment alone, as users run it).

Run from the repository root::

    python benchmarks/bench_versions.py --base 97d6cb3
    python benchmarks/bench_versions.py --base HEAD~5 --repeats 5 --threads default
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SIZES = ("tiny", "small", "medium", "large")
WORKER = """
import json, sys, time
import numpy as np
import synthtumor
from synthtumor.phantom import make_phantom
phantom = make_phantom((256, 256, 128), (1.0, 1.0, 1.0), rng=0)
for line in sys.stdin:
    size, seed = json.loads(line)
    start = time.perf_counter()
    synthtumor.synthesize(phantom.image, phantom.liver_mask, spacing=phantom.spacing,
                          size=size, rng=seed)
    print(time.perf_counter() - start, flush=True)
"""


def _worker(src: Path, threads: str) -> subprocess.Popen[str]:
    environment = dict(os.environ, PYTHONPATH=str(src))
    if threads != "default":
        for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            environment[name] = threads
    return subprocess.Popen(
        [sys.executable, "-c", WORKER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=environment,
    )


def _time(worker: subprocess.Popen[str], size: str, seed: int) -> float:
    assert worker.stdin is not None and worker.stdout is not None
    worker.stdin.write(json.dumps([size, seed]) + "\n")
    worker.stdin.flush()
    return float(worker.stdout.readline())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="git revision to compare against")
    parser.add_argument("--repeats", type=int, default=3, help="seeds per preset")
    parser.add_argument("--threads", default="1", help="BLAS threads, or 'default'")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base_tree = Path(tmp) / "base"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(base_tree), arguments.base],
            check=True,
            capture_output=True,
        )
        try:
            _compare(base_tree / "src", ROOT / "src", arguments)
        finally:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base_tree)]
            )


def _compare(base_src: Path, new_src: Path, arguments: argparse.Namespace) -> None:
    workers = {
        "base": _worker(base_src, arguments.threads),
        "new": _worker(new_src, arguments.threads),
    }
    for worker in workers.values():
        _time(worker, "tiny", 0)  # warm-up: imports, caches
    print(f"base {arguments.base} vs this tree, BLAS threads {arguments.threads}")
    print(f"{'size':>8} {'base ms':>9} {'new ms':>9} {'new/base':>9} {'per seed (min-max)':>19}")
    for size in SIZES:
        best: dict[str, list[float]] = {"base": [], "new": []}
        for seed in range(arguments.repeats):
            order = (
                ("base", "new", "new", "base") if seed % 2 == 0 else ("new", "base", "base", "new")
            )
            times: dict[str, list[float]] = {"base": [], "new": []}
            for name in order:
                times[name].append(_time(workers[name], size, seed))
            for name in best:  # the faster of a seed's two calls: the least disturbed
                best[name].append(min(times[name]))
        ratios = [new / base for base, new in zip(best["base"], best["new"], strict=True)]
        base_ms, new_ms = (statistics.median(best[name]) * 1000 for name in ("base", "new"))
        print(
            f"{size:>8} {base_ms:9.1f} {new_ms:9.1f} {statistics.median(ratios):9.2f} "
            f"{min(ratios):>9.2f}-{max(ratios):.2f}"
        )
    for worker in workers.values():
        assert worker.stdin is not None
        worker.stdin.close()
        worker.wait()


if __name__ == "__main__":
    main()
