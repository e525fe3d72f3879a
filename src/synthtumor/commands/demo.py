"""``synthtumor demo -o OUT_DIR``: synthetic tumours in the built-in phantom (no input files).

Writes the phantom (:data:`PHANTOM_FILES`) beside the cases of ``synthesize``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from synthtumor.commands._cases import Volume
from synthtumor.commands._command import Command
from synthtumor.commands._run import check_output, produce, run_seed
from synthtumor.commands._synthesis_options import add_synthesis_options, config_from_args

__all__ = ["COMMAND", "PHANTOM_FILES", "add_arguments", "handle"]

PHANTOM_FILES = ("phantom_ct.nii.gz", "phantom_liver.nii.gz")
"""What ``demo`` writes besides the cases: the phantom's CT and liver mask."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options shared with ``synthesize``; the seed defaults to 0."""
    add_synthesis_options(parser, default_seed=0)


def handle(args: argparse.Namespace) -> int:
    """Build the phantom of seed N, then write it and the cases drawn from it."""
    import nibabel as nib

    from synthtumor.io import save_nifti
    from synthtumor.phantom import make_phantom

    started = time.perf_counter()
    config_from_args(args)
    phantom_paths = [args.output_dir / name for name in PHANTOM_FILES]
    check_output(args, phantom_paths)
    seed = run_seed(args, lambda: 0)
    phantom = make_phantom(rng=seed, dtype=np.int16)
    header = nib.Nifti1Header()  # type: ignore[no-untyped-call]  # nibabel has no types
    header.set_xyzt_units("mm", "sec")  # type: ignore[no-untyped-call]
    volume = Volume(phantom.image, phantom.liver_mask, phantom.spacing, phantom.affine, header)

    def write_phantom() -> None:
        for path, array in zip(
            phantom_paths, (phantom.image, phantom.liver_mask.astype(np.uint8)), strict=True
        ):
            replace = args.force or args.resume
            save_nifti(path, array, affine=phantom.affine, header=header, overwrite=replace)

    inputs = {"phantom": {"rng": seed, "dtype": "int16"}, "files": list(PHANTOM_FILES)}
    return produce(
        volume,
        args,
        command="demo",
        seed=seed,
        inputs=inputs,
        started=started,
        before_cases=write_phantom,
        extra=f", the phantom ({', '.join(PHANTOM_FILES)})",
    )


COMMAND = Command(
    help="synthesize tumours in the built-in phantom (no input files)",
    description="Build the procedural CT phantom (seed N) and write it with --count "
    "synthetic cases drawn from it.",
    add_arguments=add_arguments,
    handle=handle,
)
