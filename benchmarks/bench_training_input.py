"""Will training be data-bound? Input-pipeline samples/s per CPU core beside the model's rate.

For each ``synthesis.where`` mode of the reference trainer, the training pipeline of a config
(``synthtumor.reference.transforms.train_transforms``) runs on the real scans in
``$SYNTHTUMOR_DATA`` (default ``../shared/data``): the deterministic prefix cached once, as
``CacheDataset`` does, then the random part (synthesis, crops, augmentation) timed in this
process on one thread, so the figure is crops per second per CPU core. Rows:

* ``none``: no synthesis (the baseline, same run);
* ``volume``: tumours on the whole pre-processed scan, then the crop (the paper's code);
* ``crop``: ``LiverStatisticsd`` cached with the scan, tumours on each crop;
* ``gpu (loader)``: what the loader still does when the device synthesizes (crops in HU, no
  synthesis, no window); the device's own cost is in ``benchmarks/bench_gpu_synthesis.py``.

Beside them, the model-only step rate (random tensors, ``bench_training.py``'s step) on the
fastest device here, in crops per second, and the CPU cores each mode needs to keep up.

Run from the repository root::

    python benchmarks/bench_training_input.py                    # smoke profile: 2 mm, 48^3
    python benchmarks/bench_training_input.py --config configs/quick_cpu.toml --samples 16
    python benchmarks/bench_training_input.py --config configs/quick_cpu.toml --modes volume \
        --set model.spatial_dims=3 --set data.roi_size=32,32,32   # the same U-Net in 3-D
    python benchmarks/bench_training_input.py --config configs/unet_synthetic.toml --samples 8
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import torch
from threadpoolctl import threadpool_limits

from bench_training import _step_rate
from synthtumor.reference.config import load_config
from synthtumor.reference.transforms import train_transforms

SCANS = ("abdomen-3mm", "portal-venous-slab", "chaos-ct3")
MODES = ("none", "volume", "crop", "gpu")


def _items(data_dir: Path, names: list[str]) -> list[dict[str, str]]:
    return [
        {"image": str(data_dir / n / "ct.nii.gz"), "label": str(data_dir / n / "liver.nii.gz")}
        for n in names
    ]


def _crops_per_second(config, items, mode: str, *, samples: int, seed: int) -> float:
    """Crops per second of the pipeline's random part, one thread, cached prefix excluded."""
    from monai.data import CacheDataset

    pipeline = train_transforms(config, synthesis=mode != "none", where=mode)
    dataset = CacheDataset(items, pipeline, progress=False, num_workers=1)
    pipeline.set_random_state(seed=seed)
    dataset[0]  # warm-up: first-call costs (imports, caches) out of the timing
    produced, start = 0, time.perf_counter()
    index = 0
    while produced < samples:
        produced += len(dataset[index % len(dataset)])
        index += 1
    return produced / (time.perf_counter() - start)


def _model_crops_per_second(config, device: torch.device, iterations: int) -> float:
    crops = config.train.batch_size * config.data.samples_per_scan
    rate, _, _ = _step_rate(
        config.model,
        device=device,
        roi=config.data.roi_size,
        batch=crops,
        amp=config.train.amp,
        warmup=1,
        iterations=iterations,
    )
    return rate * crops


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", default="configs/smoke.toml", help="trainer config")
    parser.add_argument("--scans", nargs="+", default=list(SCANS[:2]), choices=SCANS)
    parser.add_argument("--samples", type=int, default=8, help="timed crops per mode")
    parser.add_argument("--model-iterations", type=int, default=3)
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=MODES)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--set", action="append", default=[], metavar="SECTION.FIELD=VALUE", help="override"
    )
    arguments = parser.parse_args()
    config = load_config(arguments.config, ["synthesis.probability=1", *arguments.set])
    data_dir = Path(os.environ.get("SYNTHTUMOR_DATA", Path(__file__).parents[2] / "shared/data"))
    items = _items(data_dir, arguments.scans)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    roi = "x".join(map(str, config.data.roi_size))
    print(
        f"config {arguments.config}: {config.data.spacing_mm[0]} mm, crops {roi}, "
        f"{config.data.samples_per_scan} per scan, batch {config.train.batch_size}; scans "
        f"{', '.join(arguments.scans)}; {arguments.samples} timed crops per mode, synthesis "
        f"probability 1; model on {device}"
    )
    model_rate = _model_crops_per_second(config, device, arguments.model_iterations)
    print(f"\n{'mode':14s} {'crops/s/core':>12s} {'cores to keep up':>17s}")
    with threadpool_limits(limits=1):
        torch.set_num_threads(1)
        for mode in arguments.modes:
            rate = _crops_per_second(
                config, items, mode, samples=arguments.samples, seed=arguments.seed
            )
            label = "gpu (loader)" if mode == "gpu" else mode
            print(f"{label:14s} {rate:12.2f} {model_rate / rate:17.1f}")
    print(f"{'model only':14s} {model_rate:12.2f} crops/s ({device}, all its threads)")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
