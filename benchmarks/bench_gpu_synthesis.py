"""Batched torch synthesis against the NumPy path, and its share of a training step, per device.

Run from the repository root::

    python benchmarks/bench_gpu_synthesis.py            # every device present, 3 repeats
    python benchmarks/bench_gpu_synthesis.py --quick    # 1 repeat, tiny and medium only

A 1 mm phantom (256 x 256 x 128, float32) is measured once with ``liver_statistics``; each
repeat takes a batch of 96^3 crops centred on random liver voxels (as ``bench_crop.py`` does).
Per size preset and device it prints tumours per second of:

- ``numpy``: ``synthesize(crop, statistics=stats)`` per crop (the core, one BLAS thread);
- ``batch``: ``synthtumor.torch.synthesize_batch`` on the batch (sampling on the CPU, rendering
  on the device), and ``render``: its rendering alone (``render_batch`` with the same params);
- ``step``: a small MONAI U-Net's forward and backward pass (Dice-CE, AdamW) on the same batch,
  in ms, and ``share``: the batch synthesis's time over synthesis plus step.

Torch runs on ``--threads`` CPU threads (default 1, as the NumPy path). Median of the repeats.
"""

from __future__ import annotations

import os

if __name__ == "__main__":
    for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_name, "1")

import argparse
import functools
import time
from collections.abc import Callable

import numpy as np
import torch

from bench_crop import _crops
from synthtumor import SIZE_NAMES, liver_statistics, sample, synthesize
from synthtumor.phantom import make_phantom
from synthtumor.torch import crop_seeds, render_batch, synthesize_batch


def _seconds(call: Callable[[], object], device: torch.device, repeats: int) -> float:
    """Median wall time of `call` in seconds, after one warm-up, synchronising CUDA."""
    times = []
    for _ in range(repeats + 1):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        call()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        times.append(time.perf_counter() - start)
    return float(np.median(times[1:]))


def _training_step(device: torch.device, images: torch.Tensor, labels: torch.Tensor):
    """A closure running one forward/backward/update of a small MONAI U-Net on the batch."""
    from monai.losses import DiceCELoss
    from monai.networks.nets import UNet

    torch.manual_seed(0)
    model = UNet(3, 1, 3, channels=(16, 32, 64, 128), strides=(2, 2, 2), num_res_units=1)
    model = model.to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    loss_function = DiceCELoss(to_onehot_y=True, softmax=True)
    inputs = ((images.float() + 100.0) / 200.0)[:, None]
    targets = labels[:, None].long()

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        loss = loss_function(model(inputs), targets)
        loss.backward()
        optimizer.step()

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", nargs="+", default=list(SIZE_NAMES[:4]), choices=SIZE_NAMES)
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    parser.add_argument("--quick", action="store_true", help="1 repeat, tiny and medium")
    args = parser.parse_args()
    if args.quick:
        args.repeats, args.sizes = 1, ["tiny", "medium"]
    torch.set_num_threads(args.threads)
    phantom = make_phantom(shape=(256, 256, 128), spacing=(1.0, 1.0, 1.0), rng=0)
    stats = liver_statistics(phantom.image, phantom.liver_mask, spacing=phantom.spacing, rng=0)
    boxes = _crops(phantom.liver_mask, args.batch, seed=0)
    images = torch.stack([torch.from_numpy(phantom.image[box].copy()) for box in boxes])
    masks = torch.stack([torch.from_numpy(phantom.liver_mask[box].copy()) for box in boxes])
    devices = [torch.device("cpu")]
    if torch.cuda.is_available():
        devices.append(torch.device("cuda"))
        print(f"CUDA: {torch.cuda.get_device_name(0)}")
    print(f"batch {args.batch} x 96^3 at 1 mm, torch {torch.__version__}, {args.threads} thread(s)")
    header = (
        f"{'size':>7} {'device':>6} {'tumours':>7} {'numpy/s':>8} {'batch/s':>8} "
        f"{'render/s':>9} {'step ms':>8} {'share':>6}"
    )
    print(header)
    for size in args.sizes:
        for row in _size_rows(size, images, masks, phantom.spacing, stats, devices, args.repeats):
            print(row)


def _size_rows(size, images, masks, spacing, stats, devices, repeats) -> list[str]:
    """The table's rows of one size preset: one per device."""
    # The same seeds, so both paths draw the same tumours (synthesize_batch's crop_seeds).
    seeds = crop_seeds(0, len(images))
    params = [
        sample(image.numpy(), mask.numpy(), spacing=spacing, statistics=stats, size=size, rng=s)
        for image, mask, s in zip(images, masks, seeds, strict=True)
    ]
    tumors = sum(len(p.tumors) for p in params)

    def numpy_path() -> None:
        for image, mask, seed in zip(images, masks, seeds, strict=True):
            synthesize(
                image.numpy(), mask.numpy(), spacing=spacing, statistics=stats, size=size, rng=seed
            )

    numpy_seconds = _seconds(numpy_path, torch.device("cpu"), repeats)
    rows = []
    for device in devices:
        crops = images.to(device), masks.to(device)
        batch = functools.partial(
            synthesize_batch, *crops, spacing=spacing, statistics=stats, size=size, generator=0
        )
        render = functools.partial(render_batch, *crops, params)
        batch_seconds = _seconds(batch, device, repeats)
        render_seconds = _seconds(render, device, repeats)
        step = _training_step(device, crops[0], render().labels)
        step_seconds = _seconds(step, device, repeats)
        share = batch_seconds / (batch_seconds + step_seconds)
        rows.append(
            f"{size:>7} {device.type:>6} {tumors:>7} {tumors / numpy_seconds:>8.1f} "
            f"{tumors / batch_seconds:>8.1f} {tumors / render_seconds:>9.1f} "
            f"{step_seconds * 1e3:>8.0f} {share:>6.0%}"
        )
    return rows


if __name__ == "__main__":
    main()
