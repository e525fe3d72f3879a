"""Training throughput of the paper's networks: iterations per second of one training step.

One step is what `synthtumor train` does per batch: forward, DiceCE loss, backward and an AdamW
update, on a batch of 96^3 crops (batch 2 by default), with automatic mixed precision on a GPU.
The data are random tensors, so the figure is the model's ceiling; `synthtumor train` logs the
end-to-end rate with data loading and synthesis included.

Run from the repository root::

    python benchmarks/bench_training.py                          # U-Net and Swin UNETR-B
    python benchmarks/bench_training.py --quick                  # a CPU smoke run (tiny crops)
    python benchmarks/bench_training.py --models unet swin_tiny --iterations 50

The baseline in the same run is the same step in full float32 (``--no-baseline`` skips it), so
the AMP speed-up is read off one table.
"""

from __future__ import annotations

import argparse
import time

import torch

from synthtumor.reference.config import ModelConfig
from synthtumor.reference.models import build_model, count_parameters

MODELS = {
    "unet": ModelConfig(name="unet"),
    "swin_tiny": ModelConfig(name="swin_unetr", swin_variant="tiny"),
    "swin_small": ModelConfig(name="swin_unetr", swin_variant="small"),
    "swin_base": ModelConfig(name="swin_unetr", swin_variant="base"),
}


def _step_rate(
    model_config: ModelConfig,
    *,
    device: torch.device,
    roi: int | tuple[int, int, int],
    batch: int,
    amp: bool,
    warmup: int,
    iterations: int,
) -> tuple[float, float, int]:
    """Iterations per second, peak GPU memory in GiB (0 on CPU) and the parameter count."""
    from monai.losses import DiceCELoss

    torch.manual_seed(0)
    model = build_model(model_config).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-4, weight_decay=1e-5)
    loss_function = DiceCELoss(to_onehot_y=True, softmax=True)
    use_amp = amp and device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    size = (roi, roi, roi) if isinstance(roi, int) else tuple(roi)
    images = torch.randn(batch, 1, *size, device=device)
    labels = torch.randint(0, 3, (batch, 1, *size), device=device)

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(device_type=device.type, dtype=torch.float16, enabled=use_amp):
            loss = loss_function(model(images), labels)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()

    for _ in range(warmup):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    for _ in range(iterations):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    peak = torch.cuda.max_memory_allocated() / 2**30 if device.type == "cuda" else 0.0
    return iterations / seconds, peak, count_parameters(model)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=["unet", "swin_base"], choices=MODELS)
    parser.add_argument("--roi", type=int, default=96, help="crop edge in voxels (default 96)")
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--iterations", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--no-baseline", action="store_true", help="skip the float32 run")
    parser.add_argument("--quick", action="store_true", help="CPU smoke run: 64^3, 2 steps")
    arguments = parser.parse_args()
    if arguments.quick:
        arguments.roi, arguments.iterations, arguments.warmup = 64, 2, 1
    device = torch.device(arguments.device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        print(f"device: {torch.cuda.get_device_name(device)}; torch {torch.__version__}")
    else:
        print(f"device: CPU ({torch.get_num_threads()} threads); torch {torch.__version__}")
    print(f"crop {arguments.roi}^3, batch {arguments.batch}, {arguments.iterations} timed steps\n")
    print(f"{'model':12s} {'params (M)':>10s} {'precision':>9s} {'it/s':>8s} {'GiB peak':>9s}")
    precisions = [True] if arguments.no_baseline else [True, False]
    for name in arguments.models:
        for amp in precisions:
            if amp and device.type != "cuda" and not arguments.no_baseline:
                continue  # AMP only runs on a GPU; on the CPU the float32 row is the figure
            rate, peak, parameters = _step_rate(
                MODELS[name],
                device=device,
                roi=arguments.roi,
                batch=arguments.batch,
                amp=amp,
                warmup=arguments.warmup,
                iterations=arguments.iterations,
            )
            precision = "AMP fp16" if amp and device.type == "cuda" else "float32"
            print(f"{name:12s} {parameters / 1e6:10.1f} {precision:>9s} {rate:8.2f} {peak:9.2f}")


if __name__ == "__main__":
    main()
