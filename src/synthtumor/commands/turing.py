"""``synthtumor turing build|score``: Visual Turing Test material (paper section 5.1, Table 2).

``build`` is :func:`synthtumor.reference.visual_turing.build_turing_set`, ``score``
:func:`synthtumor.reference.visual_turing.score_ratings`; both are imported when they run.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from synthtumor.commands._command import Command

__all__ = ["COMMAND", "add_arguments", "handle"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The two actions, ``build`` and ``score``, each with its own arguments."""
    actions = parser.add_subparsers(dest="turing_action", required=True)
    build = actions.add_parser(
        "build",
        help="blinded cases from real-tumour scans and healthy scans with synthetic tumours",
    )
    build.add_argument(
        "--real", nargs="*", default=[], metavar="CT", help="CT scans with real tumours"
    )
    build.add_argument(
        "--healthy",
        nargs="*",
        default=[],
        metavar="CT:LIVER",
        help="healthy scans as ct.nii.gz:liver.nii.gz pairs (synthetic tumours are added)",
    )
    build.add_argument("-o", "--output", required=True, metavar="OUT_DIR")
    build.add_argument("--seed", type=int, default=0)
    build.add_argument("--size", default=None, help="tumour size preset (default: drawn)")
    build.add_argument("--force", action="store_true")
    score = actions.add_parser("score", help="score a filled rating sheet against the key")
    score.add_argument("ratings", help="filled rating_sheet.csv")
    score.add_argument("key", help="answer_key.csv")
    score.add_argument("-o", "--output", help="write the scores as JSON and Markdown here")
    score.add_argument("--force", action="store_true")


def handle(args: argparse.Namespace) -> int:
    """Run the action the arguments name (``build`` or ``score``)."""
    return _build(args) if args.turing_action == "build" else _score(args)


def _build(args: argparse.Namespace) -> int:
    """Build the blinded case set; the answer key is written beside it."""
    from synthtumor.reference.visual_turing import build_turing_set

    healthy: list[tuple[str, str]] = []
    for pair in args.healthy:
        if ":" not in pair:
            raise ValueError(f"healthy scans are CT:LIVER pairs, got {pair!r}")
        ct, liver = pair.split(":", 1)
        healthy.append((ct, liver))
    result = build_turing_set(
        args.real, healthy, args.output, seed=args.seed, size=args.size, overwrite=args.force
    )
    print(
        f"[synthtumor turing] {len(result.cases)} cases in {result.cases_dir}; keep "
        f"{result.answer_key} away from the raters"
    )
    return 0


def _score(args: argparse.Namespace) -> int:
    """Score a filled rating sheet; print the scores and, with ``-o``, write them."""
    from synthtumor.reference.prepare import write_text_atomic
    from synthtumor.reference.visual_turing import (
        read_answer_key,
        read_ratings,
        score_markdown,
        score_ratings,
    )

    score = score_ratings(read_ratings(args.ratings), read_answer_key(args.key))
    text = score_markdown(score, rater=Path(args.ratings).stem)
    if args.output:
        out = Path(args.output)
        write_text_atomic(
            out / "turing_score.json",
            json.dumps(score.to_dict(), indent=2) + "\n",
            overwrite=args.force,
        )
        write_text_atomic(out / "turing_score.md", text, overwrite=args.force)
    print(text)
    return 0


COMMAND = Command(
    help="Visual Turing Test: build a blinded case set, or score a filled rating sheet",
    description="Visual Turing Test material (paper section 5.1, Table 2).",
    add_arguments=add_arguments,
    handle=handle,
)
