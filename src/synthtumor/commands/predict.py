"""``synthtumor predict MODEL CT... -o OUT_DIR``: segment scans with a trained model.

The inference is :func:`synthtumor.reference.predict.predict_files`, imported (with torch and
MONAI) when the command runs.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from synthtumor.commands._command import Command
from synthtumor.commands.train import add_overrides_option

__all__ = ["COMMAND", "add_arguments", "handle"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """MODEL, the scans (paths or a datalist part), the output folders and the device."""
    parser.add_argument("model", help="checkpoint from synthtumor train (best.pt)")
    parser.add_argument("scans", nargs="*", metavar="CT", help="NIfTI CT scans")
    parser.add_argument("-o", "--output", required=True, metavar="OUT_DIR")
    parser.add_argument(
        "--datalist", help="predict the scans of a datalist part instead of (or with) CT paths"
    )
    parser.add_argument("--fold", type=int, default=0, help="datalist fold (default 0)")
    parser.add_argument(
        "--part", choices=("train", "validation", "test"), default="test", help="datalist part"
    )
    parser.add_argument(
        "--reference-out",
        metavar="REF_DIR",
        help="with --datalist: also gather that part's label maps here (links), so that "
        "`synthtumor evaluate OUT_DIR REF_DIR` compares exactly the predicted cases",
    )
    parser.add_argument("--force", action="store_true", help="replace existing outputs")
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:1 (default: auto)")
    add_overrides_option(
        parser, help="override the checkpoint's config, e.g. --set inference.overlap=0.5"
    )


def handle(args: argparse.Namespace) -> int:
    """Gather the scans, check the outputs, link the references if asked, then predict."""
    from synthtumor.reference.predict import output_name, predict_files
    from synthtumor.reference.prepare import fold_split, link_part, load_datalist
    from synthtumor.run_folder import check_writable_folder

    scans = [str(s) for s in args.scans]
    names = [output_name(s) for s in scans]
    if args.datalist:
        entries = fold_split(load_datalist(args.datalist), args.fold)[args.part]
        scans += [e["image"] for e in entries]
        names += [e["case"] for e in entries]
    if not scans:
        raise ValueError("no scan given (CT paths or --datalist)")
    if args.reference_out and not args.datalist:
        raise ValueError("--reference-out needs --datalist")
    check_writable_folder(Path(args.output))
    if args.reference_out:
        link_part(
            args.datalist,
            args.reference_out,
            fold=args.fold,
            part=args.part,
            overwrite=args.force,
        )
    written = predict_files(
        args.model,
        scans,
        args.output,
        names=names,
        overwrite=args.force,
        device=args.device,
        overrides=args.overrides,
        progress=True,
    )
    print(f"[synthtumor predict] wrote {len(written)} label map(s) to {args.output}")
    return 0


COMMAND = Command(
    help="segment liver and tumours in CT scans with a trained model",
    description=(
        "Sliding-window inference (overlap 0.75, Gaussian), back to each scan's grid and "
        "affine, the paper's post-processing; writes OUT_DIR/<case>.nii.gz (uint8)."
    ),
    add_arguments=add_arguments,
    handle=handle,
)
