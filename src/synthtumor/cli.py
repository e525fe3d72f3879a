"""The ``synthtumor`` command line: ``synthesize``, ``demo`` and ``evaluate``.

Each subcommand is one entry ``(name, add_parser)`` of :data:`SUBCOMMANDS`: ``add_parser`` adds
its parser to the subparsers and sets ``handler``, a function of the parsed arguments returning
the exit code. Another module adds a subcommand with :func:`register_subcommand` (before
:func:`main` builds the parser).

Output layout of ``synthesize`` and ``demo`` (flat files in the output folder)::

    synth_000_image.nii.gz    CT with tumours, input dtype, affine and header
    synth_000_label.nii.gz    uint8 label map: 0 background, 1 liver, 2 tumour
    synth_000_params.json     TumorParams (replay with synthtumor.apply)
    synth_000_preview.png     axial / coronal / sagittal quick look (unless --no-preview)
    synth_001_...             one group per case (--count)
    synthtumor_run.json       the run: inputs, seed, options, config and files (written last;
                              synthtumor_run.incomplete.json while the run is under way)
    phantom_ct.nii.gz, phantom_liver.nii.gz    demo only: the phantom itself

Case ``i`` is drawn with ``numpy.random.SeedSequence(seed).spawn(count)[i]``, which does not
depend on ``count``: any case can be reproduced alone; ``--resume`` continues an interrupted run
with the recorded seed. Exit codes (:mod:`synthtumor.cli_errors`, the one place that maps errors):
0 success, 2 a user or OS error (one line ``synthtumor: error: ...`` on stderr), 130 interrupted,
143 terminated.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import secrets
import sys
import time
import tomllib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import synthtumor
from synthtumor._renamed import add_label_options, warn_old_option
from synthtumor._validation.options import int_option, real_option, seed_option
from synthtumor.appearance import LESION_NAMES, parse_lesion_shares
from synthtumor.calibrate_cli import add_calibrate_parser
from synthtumor.cli_errors import EXIT_BAD_INPUT, EXIT_OK, run_handler
from synthtumor.config import APPEARANCES, PATTERNS, SIZE_NAMES, TumorConfig
from synthtumor.config_file import config_from_mapping
from synthtumor.phase import PHASE_CHOICES
from synthtumor.realism.cli import add_realism_parser
from synthtumor.run_folder import (
    CASE_PREFIX,
    INCOMPLETE_RECORD,
    RUN_RECORD,
    check_output_folder,
    check_resumable,
    check_writable_folder,
    clear_previous_run,
    read_incomplete_record,
)

__all__ = [
    "CASE_PREFIX",
    "RUN_RECORD",
    "STAGE_SWITCHES",
    "SUBCOMMANDS",
    "case_seed",
    "main",
    "register_subcommand",
]

PROG = "synthtumor"
PHANTOM_FILES = ("phantom_ct.nii.gz", "phantom_liver.nii.gz")
"""What ``demo`` writes besides the cases: the phantom's CT and liver mask."""

STAGE_SWITCHES: tuple[tuple[str, str, str], ...] = (
    ("--no-mass-effect", "mass_effect", "no mass effect (eq. 5)"),
    ("--no-capsule", "capsule", "no bright capsule (eq. 6-8)"),
    ("--no-vessel-avoidance", "vessel_avoidance", "place tumours without the vessel check"),
    ("--no-elastic", "elastic_deformation", "no elastic deformation of the ellipsoid"),
    ("--no-edge-blur", "edge_blur", "no blur of the tumour's edge"),
)
"""``(flag, TumorConfig field, help)``: each flag sets its field to False."""

AddParser = Callable[[Any], object]  # argparse's subparsers action -> (ignored)

SUBCOMMANDS: list[tuple[str, AddParser]] = []
"""``(name, add_parser)`` for every subcommand, in the order ``--help`` lists them."""


def register_subcommand(name: str, add_parser: AddParser) -> None:
    """Add a subcommand; `add_parser(subparsers)` must add parser `name` and set ``handler``.

    Examples
    --------
    >>> def add_hello(subparsers):
    ...     parser = subparsers.add_parser("hello", help="say hello")
    ...     parser.set_defaults(handler=lambda args: print("hello") or 0)
    >>> register_subcommand("hello", add_hello)
    >>> main(["hello"])
    hello
    0
    >>> SUBCOMMANDS.pop()[0]
    'hello'
    """
    if any(existing == name for existing, _ in SUBCOMMANDS):
        raise ValueError(f"subcommand {name!r} is already registered")
    SUBCOMMANDS.append((name, add_parser))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``synthtumor`` command line and return its exit code.

    Parameters
    ----------
    argv : sequence of str or None
        Arguments without the program name; None reads ``sys.argv[1:]``.

    Returns
    -------
    int
        0 on success, 2 on a user or OS error (after one ``synthtumor: error: ...`` line on
        stderr), 130 when interrupted, 143 on SIGTERM (see :mod:`synthtumor.cli_errors`).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     main(["demo", "-o", tmp, "--seed", "1", "--size", "small"])  # doctest: +ELLIPSIS
    synthtumor: wrote 1 case (synth_000: image, label, params, preview), the phantom ...
    0
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help, --version and usage errors
        if exit_.code is None:
            return EXIT_OK
        return exit_.code if isinstance(exit_.code, int) else EXIT_BAD_INPUT
    if getattr(args, "handler", None) is None:
        parser.print_help(sys.stderr)
        return EXIT_BAD_INPUT
    return run_handler(args.handler, args, prog=PROG)


_EXAMPLES = """examples:
  synthtumor demo -o demo_out
  synthtumor synthesize ct.nii.gz liver.nii.gz -o out --count 10 --seed 1
  synthtumor synthesize ct.nii.gz organs.nii.gz --organ-label 5 -o out --size small
  synthtumor prepare data/ -o prepared/
  synthtumor train configs/unet_synthetic.toml -o runs/unet
  synthtumor predict runs/unet/best.pt ct.nii.gz -o predictions/
  synthtumor evaluate predictions/ labels/ -o report

Run 'synthtumor COMMAND --help' for the options of a command."""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Put realistic synthetic liver tumours into CT scans (Hu et al., CVPR 2023).",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {synthtumor.__version__}")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    for _, add_parser in SUBCOMMANDS:
        add_parser(subparsers)
    return parser


# --------------------------------------------------------------------------------------------
# Options shared by synthesize and demo
# --------------------------------------------------------------------------------------------


_positive_int = int_option(minimum=1)
_non_negative_int = int_option(minimum=0)


def _add_output_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-o",
        "--output-dir",
        required=True,
        type=Path,
        metavar="OUT_DIR",
        help="folder for the outputs (created if missing)",
    )
    runs = parser.add_mutually_exclusive_group()
    runs.add_argument(
        "--force", action="store_true", help="replace an earlier run in OUT_DIR (all its files)"
    )
    runs.add_argument(
        "--resume",
        action="store_true",
        help=f"continue the interrupted run in OUT_DIR ({INCOMPLETE_RECORD}): same options, "
        "the recorded seed; cases already written are kept",
    )


def _add_synthesis_options(parser: argparse.ArgumentParser, *, default_seed: int | None) -> None:
    parser.add_argument(
        "--size",
        choices=SIZE_NAMES,
        default=None,
        help="tumour size preset (Table 6); default: drawn per case, 0.2 each",
    )
    seed_default = "a fresh random seed, printed" if default_seed is None else default_seed
    parser.add_argument(
        "--seed",
        type=seed_option,
        default=None,
        metavar="N",
        help=f"seed of the run; case i uses SeedSequence(N).spawn(count)[i] (default: "
        f"{seed_default})",
    )
    parser.add_argument(
        "--count",
        type=_positive_int,
        default=1,
        metavar="K",
        help="number of synthetic cases to write (default: 1)",
    )
    parser.add_argument(
        "--no-preview", dest="preview", action="store_false", help="do not write preview PNGs"
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="TumorConfig fields: a .toml or .json file, or inline JSON starting with '{' "
        "(e.g. '{\"capsule_contrast_hu\": 80}')",
    )
    looks = parser.add_argument_group("appearance (docs/realism.md)")
    looks.add_argument(
        "--appearance",
        choices=APPEARANCES,
        default=None,
        help="'paper' (default) or 'realistic'; --phase or --lesion imply 'realistic'",
    )
    looks.add_argument(
        "--phase", choices=PHASE_CHOICES, default=None, help="contrast phase (realistic)"
    )
    looks.add_argument(
        "--lesion",
        metavar="TYPES",
        default=None,
        help=f"lesion type ({', '.join(LESION_NAMES)}) or shares, e.g. hcc=0.7,metastasis=0.3",
    )
    looks.add_argument("--pattern", choices=PATTERNS, default=None, help="clinical pattern")
    stages = parser.add_argument_group("switch off pipeline stages")
    for flag, field, help_text in STAGE_SWITCHES:
        stages.add_argument(flag, dest=f"no_{field}", action="store_true", help=help_text)
    _add_output_options(parser)


def case_seed(seed: int, index: int) -> np.random.SeedSequence:
    """The seed of case `index` of a run: ``SeedSequence(seed).spawn(count)[index]``.

    It depends on neither `count` nor the other cases, so one case can be reproduced alone.

    Examples
    --------
    >>> import numpy as np
    >>> children = np.random.SeedSequence(7).spawn(3)
    >>> case_seed(7, 2).generate_state(2).tolist() == children[2].generate_state(2).tolist()
    True
    """
    return np.random.SeedSequence(seed, spawn_key=(index,))


def _config_from_args(args: argparse.Namespace) -> tuple[TumorConfig, dict[str, Any]]:
    """The TumorConfig of the run and the overrides it was built from (for the run record)."""
    overrides = _read_config_overrides(args.config) if args.config else {}
    for _, field, _ in STAGE_SWITCHES:
        if getattr(args, f"no_{field}"):
            overrides[field] = False
    for option in ("appearance", "phase", "pattern", "tumor_label"):
        if getattr(args, option, None) is not None:
            overrides[option] = getattr(args, option)
    if getattr(args, "lesion", None) is not None:
        overrides.pop("lesion_types", None)
        overrides["lesion"] = parse_lesion_shares(args.lesion, name="--lesion")
    if "phase" in overrides or "lesion" in overrides:
        overrides.setdefault("appearance", "realistic")
    return config_from_mapping(overrides, where="--config"), overrides


def _read_config_overrides(source: str) -> dict[str, Any]:
    if source.lstrip().startswith("{"):
        text, where = source, "--config"
    else:
        path = Path(source)
        if not path.is_file():
            raise FileNotFoundError(f"--config file not found: {path}")
        text, where = path.read_text(encoding="utf-8"), f"--config file {path}"
        if path.suffix.lower() == ".toml":
            try:
                return tomllib.loads(text)
            except tomllib.TOMLDecodeError as error:
                raise ValueError(f"{where} is not valid TOML: {error}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"{where} is not valid JSON: {error}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{where} must hold a JSON object of TumorConfig fields")
    return data


# --------------------------------------------------------------------------------------------
# Writing cases
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseFiles:
    """The files of one synthetic case."""

    image: Path
    label: Path
    params: Path
    preview: Path | None

    @classmethod
    def at(cls, folder: Path, index: int, *, count: int, preview: bool) -> CaseFiles:
        stem = folder / case_name(index, count)
        return cls(
            image=Path(f"{stem}_image.nii.gz"),
            label=Path(f"{stem}_label.nii.gz"),
            params=Path(f"{stem}_params.json"),
            preview=Path(f"{stem}_preview.png") if preview else None,
        )

    def paths(self) -> list[Path]:
        return [p for p in (self.image, self.label, self.params, self.preview) if p is not None]


def _case_files(folder: Path, args: argparse.Namespace) -> list[CaseFiles]:
    return [
        CaseFiles.at(folder, index, count=args.count, preview=args.preview)
        for index in range(args.count)
    ]


def case_name(index: int, count: int) -> str:
    """``synth_007``: the index zero-padded to 3 digits, or more when `count` needs them."""
    width = max(3, len(str(max(count - 1, 0))))
    return f"{CASE_PREFIX}_{index:0{width}d}"


@dataclass(frozen=True)
class _Volume:
    """What the cases are drawn from: a scan read from disk, or the phantom."""

    image: np.ndarray
    liver_mask: np.ndarray
    spacing: tuple[float, float, float]
    affine: np.ndarray
    header: Any  # nibabel.Nifti1Header or None
    organ: str = "liver"
    organ_label: tuple[int, ...] | None = None  # set: liver_mask is the organ map itself


def _first_case(
    volume: _Volume, *, seed: int, size: str | None, config: TumorConfig
) -> synthtumor.TumorParams:
    """Draw case 0 before anything is written: a liver too small fails with nothing on disk."""
    return synthtumor.sample(
        volume.image,
        volume.liver_mask,
        spacing=volume.spacing,
        organ=volume.organ,
        organ_label=volume.organ_label,
        size=size,
        config=config,
        rng=np.random.default_rng(case_seed(seed, 0)),
    )


def _write_cases(
    volume: _Volume,
    cases: list[CaseFiles],
    first: synthtumor.TumorParams,
    *,
    seed: int,
    size: str | None,
    config: TumorConfig,
    force: bool,
    done: frozenset[int] = frozenset(),
) -> None:
    """Draw, render and write every case not in `done`; case 0's params `first` are drawn.

    ``apply(sample(rng))`` is exactly ``synthesize(rng)``, so each case equals
    ``synthesize(..., rng=default_rng(case_seed(seed, index)))``.
    """
    from synthtumor.io import atomic_write_text, save_nifti
    from synthtumor.preview import preview_png

    for index, files in enumerate(_progress(cases)):
        if index in done:
            continue
        params = first
        if index > 0:
            params = synthtumor.sample(
                volume.image,
                volume.liver_mask,
                spacing=volume.spacing,
                organ=volume.organ,
                organ_label=volume.organ_label,
                size=size,
                config=config,
                rng=np.random.default_rng(case_seed(seed, index)),
            )
        result = synthtumor.apply(
            volume.image, volume.liver_mask, params, organ_label=volume.organ_label
        )
        save_nifti(
            files.image, result.image, affine=volume.affine, header=volume.header, overwrite=force
        )
        save_nifti(
            files.label, result.label, affine=volume.affine, header=volume.header, overwrite=force
        )
        atomic_write_text(files.params, result.params.to_json(indent=2) + "\n", overwrite=force)
        if files.preview is not None:
            preview_png(
                result.image,
                result.label,
                result.params,
                spacing=volume.spacing,
                affine=volume.affine,
                path=files.preview,
                overwrite=force,
            )


def _progress(cases: list[CaseFiles]) -> Iterable[CaseFiles]:
    """`cases` with a tqdm bar on stderr when there are several (and tqdm is installed)."""
    if len(cases) <= 1:
        return cases
    try:
        from tqdm import tqdm
    except ImportError:
        return cases
    return tqdm(cases, desc=PROG, unit="case", file=sys.stderr)


def _write_run_record(path: Path, record: dict[str, Any], *, force: bool) -> None:
    from synthtumor.io import atomic_write_text

    atomic_write_text(path, json.dumps(record, indent=2, default=str) + "\n", overwrite=force)


def _written_cases(cases: list[CaseFiles]) -> frozenset[int]:
    """Indices of the cases whose files all exist (each file is written atomically)."""
    return frozenset(
        index for index, files in enumerate(cases) if all(p.is_file() for p in files.paths())
    )


def _run_record(
    command: str,
    *,
    inputs: dict[str, Any],
    seed: int,
    args: argparse.Namespace,
    config: TumorConfig,
    overrides: dict[str, Any],
    cases: list[CaseFiles],
) -> dict[str, Any]:
    return {
        "synthtumor_version": synthtumor.__version__,
        "command": command,
        "inputs": inputs,
        "seed": seed,
        "seed_scheme": "case i: numpy.random.SeedSequence(seed).spawn(count)[i]",
        "count": args.count,
        "size": args.size,
        "preview": args.preview,
        "config_overrides": dict(overrides),
        "config": dataclasses.asdict(config),
        "cases": [
            {"index": i, **{k: p.name for k, p in vars(files).items() if p is not None}}
            for i, files in enumerate(cases)
        ],
    }


def _summary_line(
    cases: list[CaseFiles], folder: Path, *, seed: int, seconds: float, extra: str = ""
) -> str:
    """``wrote 2 cases (synth_000..synth_001: image, label, params, preview) and ... to DIR``."""
    names = [files.image.name.removesuffix("_image.nii.gz") for files in cases]
    span = names[0] if len(names) == 1 else f"{names[0]}..{names[-1]}"
    kinds = ", ".join(["image", "label", "params"] + (["preview"] if cases[0].preview else []))
    plural = "case" if len(cases) == 1 else "cases"
    return (
        f"wrote {len(cases)} {plural} ({span}: {kinds}){extra} and {RUN_RECORD} to {folder} "
        f"[seed {seed}, {seconds:.1f} s]"
    )


def _produce(
    volume: _Volume,
    args: argparse.Namespace,
    *,
    command: str,
    seed: int,
    inputs: dict[str, Any],
    started: float,
    before_cases: Callable[[], None] = lambda: None,
    extra: str = "",
) -> int:
    """Everything after the inputs are read: draw case 0, then write cases and run record.

    The record is written first as :data:`INCOMPLETE_RECORD` (what ``--resume`` reads) and last
    as :data:`RUN_RECORD`. ``--force`` first removes every file of an earlier run.
    """
    from synthtumor.io import remove_partial_files

    folder: Path = args.output_dir
    config, overrides = _config_from_args(args)
    cases = _case_files(folder, args)
    record = _run_record(
        command,
        inputs=inputs,
        seed=seed,
        args=args,
        config=config,
        overrides=overrides,
        cases=cases,
    )
    if args.resume:
        check_resumable(read_incomplete_record(folder), record)
    first = _first_case(volume, seed=seed, size=args.size, config=config)
    folder.mkdir(parents=True, exist_ok=True)
    remove_partial_files(folder)  # left by a killed run
    if args.force:
        clear_previous_run(folder, keep=())
    done = _written_cases(cases) if args.resume else frozenset()
    _write_run_record(folder / INCOMPLETE_RECORD, record, force=True)
    before_cases()
    replace = args.force or args.resume
    _write_cases(
        volume, cases, first, seed=seed, size=args.size, config=config, force=replace, done=done
    )
    _write_run_record(folder / RUN_RECORD, record, force=replace)
    (folder / INCOMPLETE_RECORD).unlink()
    seconds = time.perf_counter() - started
    if done:
        extra += f" ({len(done)} of the cases kept from the interrupted run)"
    line = _summary_line(cases, args.output_dir, seed=seed, seconds=seconds, extra=extra)
    print(f"{PROG}: {line}")
    return EXIT_OK


def _planned_outputs(args: argparse.Namespace, extra: Iterable[Path] = ()) -> list[Path]:
    """Every file the run will write, checked before any work."""
    case_paths = [path for files in _case_files(args.output_dir, args) for path in files.paths()]
    return [*extra, *case_paths, args.output_dir / RUN_RECORD]


def _check_output(args: argparse.Namespace, extra: Iterable[Path] = ()) -> None:
    """The output checks of ``synthesize`` and ``demo`` (``--resume`` expects earlier files)."""
    replace = args.force or args.resume
    check_output_folder(args.output_dir, _planned_outputs(args, extra), force=replace)


def _run_seed(args: argparse.Namespace, default: Callable[[], int]) -> int:
    """--seed; with --resume and no --seed the interrupted run's; else `default()`."""
    if args.seed is not None:
        return int(args.seed)
    if args.resume:
        recorded = read_incomplete_record(args.output_dir).get("seed")
        if isinstance(recorded, int):
            return recorded
    return default()


# --------------------------------------------------------------------------------------------
# synthesize
# --------------------------------------------------------------------------------------------


def _add_synthesize(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "synthesize",
        help="put synthetic tumours into a CT scan",
        description="Write --count synthetic cases (image, label, params, preview) drawn from "
        "one CT and its liver mask.",
    )
    parser.add_argument("ct", type=Path, metavar="CT", help="CT scan (.nii or .nii.gz) in HU")
    parser.add_argument("liver", type=Path, metavar="LIVER", help="liver mask on the CT's grid")
    parser.add_argument(
        "--liver-label",
        type=_non_negative_int,
        default=None,
        metavar="V",
        help="deprecated: the organ's value in a multi-label LIVER map, written out as a 0/1/2 "
        "label (default: LIVER must be 0/1); use --organ-label, which keeps the map's other "
        "classes",
    )
    _add_organ_options(parser)
    _add_synthesis_options(parser, default_seed=None)
    parser.set_defaults(handler=_synthesize_command)


def _add_organ_options(parser: argparse.ArgumentParser) -> None:
    from synthtumor.organs import ORGAN_NAMES

    parser.add_argument(
        "--organ",
        choices=ORGAN_NAMES,
        default="liver",
        help="the organ whose tumours are drawn (default: liver; see docs/organs.md)",
    )
    parser.add_argument(
        "--organ-label",
        type=_organ_label_values,
        default=None,
        metavar="V[,V]",
        help="the organ's value(s) in a multi-class LIVER map, e.g. 7 (TotalSegmentator's "
        "pancreas) or 2,3 (both kidneys); the label written is that map with the tumours in, "
        "every other class kept",
    )
    parser.add_argument(
        "--tumor-label",
        type=int,
        default=None,
        metavar="V",
        help="the tumours' value in the label written (default: 2; with --organ-label it must "
        "not be a class of the map)",
    )


def _organ_label_values(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an integer or integers separated by commas, got {text!r}"
        ) from None


def _synthesize_command(args: argparse.Namespace) -> int:
    from synthtumor.io import load_organ_map, load_scan

    started = time.perf_counter()
    _config_from_args(args)  # a bad --config fails before the inputs are read
    _check_output(args)
    seed = _run_seed(args, lambda: secrets.randbits(32))
    if args.organ_label is not None and args.liver_label is not None:
        raise ValueError("give --organ-label or --liver-label, not both")
    if args.liver_label is not None:
        warn_old_option(
            "use --organ-label, which writes the map with its other classes kept "
            "(--liver-label writes the organ as 1 of a 0/1/2 label)"
        )
    mask = None
    if args.organ_label is not None:
        mask = load_organ_map(args.liver)
        missing = sorted(set(args.organ_label) - set(np.unique(mask).tolist()))
        if missing:
            raise ValueError(f"--organ-label {missing[0]} is not a class of {args.liver}")
    first_label = args.liver_label if args.organ_label is None else args.organ_label[0]
    scan = load_scan(args.ct, args.liver, organ_label=first_label)
    mask = scan.liver_mask if mask is None else mask
    volume = _Volume(
        scan.image, mask, scan.spacing, scan.affine, scan.header, args.organ, args.organ_label
    )
    inputs = {
        "ct": str(args.ct.resolve()),
        "liver": str(args.liver.resolve()),
        "liver_label": args.liver_label,
        "organ": args.organ,
        "organ_label": args.organ_label,
    }
    return _produce(volume, args, command="synthesize", seed=seed, inputs=inputs, started=started)


# --------------------------------------------------------------------------------------------
# demo
# --------------------------------------------------------------------------------------------


def _add_demo(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="synthesize tumours in the built-in phantom (no input files)",
        description="Build the procedural CT phantom (seed N) and write it with --count "
        "synthetic cases drawn from it.",
    )
    _add_synthesis_options(parser, default_seed=0)
    parser.set_defaults(handler=_demo_command)


def _demo_command(args: argparse.Namespace) -> int:
    import nibabel as nib

    from synthtumor.io import save_nifti
    from synthtumor.phantom import make_phantom

    started = time.perf_counter()
    _config_from_args(args)
    phantom_paths = [args.output_dir / name for name in PHANTOM_FILES]
    _check_output(args, phantom_paths)
    seed = _run_seed(args, lambda: 0)
    phantom = make_phantom(rng=seed, dtype=np.int16)
    header = nib.Nifti1Header()
    header.set_xyzt_units("mm", "sec")
    volume = _Volume(phantom.image, phantom.liver_mask, phantom.spacing, phantom.affine, header)

    def write_phantom() -> None:
        for path, array in zip(
            phantom_paths, (phantom.image, phantom.liver_mask.astype(np.uint8)), strict=True
        ):
            replace = args.force or args.resume
            save_nifti(path, array, affine=phantom.affine, header=header, overwrite=replace)

    inputs = {"phantom": {"rng": seed, "dtype": "int16"}, "files": list(PHANTOM_FILES)}
    return _produce(
        volume,
        args,
        command="demo",
        seed=seed,
        inputs=inputs,
        started=started,
        before_cases=write_phantom,
        extra=f", the phantom ({', '.join(PHANTOM_FILES)})",
    )


# --------------------------------------------------------------------------------------------
# evaluate
# --------------------------------------------------------------------------------------------


def _add_evaluate(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="score predicted label maps against references",
        description="Pair PRED_DIR and GT_DIR NIfTI label maps by file name and write a report "
        "(per_case.csv, lesions.csv, summary.json, summary.md, detection_by_radius.png).",
    )
    parser.add_argument("pred_dir", type=Path, metavar="PRED_DIR", help="predicted label maps")
    parser.add_argument("gt_dir", type=Path, metavar="GT_DIR", help="reference label maps")
    parser.add_argument(
        "-o",
        "--output-dir",
        required=True,
        type=Path,
        metavar="REPORT_DIR",
        help="report folder (created if missing)",
    )
    add_label_options(parser)
    parser.add_argument(
        "--organ", default="liver", metavar="NAME", help="the organ's name in the report"
    )
    parser.add_argument(
        "--tolerance-mm",
        type=real_option(low=0.0, low_open=True),
        default=2.0,
        metavar="MM",
        help="NSD tolerance in mm (default: 2)",
    )
    parser.add_argument(
        "--min-overlap",
        type=_fraction,
        default=0.0,
        metavar="F",
        help="share of a reference lesion that predicted tumour must cover for it to count as "
        "detected (default: 0, any voxel)",
    )
    parser.add_argument(
        "--min-volume",
        type=_non_negative_float,
        default=0.0,
        metavar="MM3",
        help="predicted tumour volume (mm³) from which a scan counts as predicted positive "
        "(default: 0, any voxel)",
    )
    parser.add_argument("--force", action="store_true", help="overwrite existing report files")
    parser.set_defaults(handler=_evaluate_command)


def _fraction(text: str) -> float:
    value = _non_negative_float(text)
    if value > 1.0:
        raise argparse.ArgumentTypeError(f"must be a number in [0, 1], got {text!r}")
    return value


def _non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if not (value >= 0.0 and np.isfinite(value)):
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text!r}")
    return value


def _evaluate_command(args: argparse.Namespace) -> int:
    try:
        from synthtumor.reference.evaluate import evaluate_folder
    except ImportError as error:
        raise ValueError(
            f"evaluate needs the reference extra ({error}); "
            "install it with: pip install 'synthtumor[reference]'"
        ) from None
    check_writable_folder(args.output_dir)
    summary = evaluate_folder(
        args.pred_dir,
        args.gt_dir,
        args.output_dir,
        organ_label=args.organ_label,
        tumor_label=args.tumor_label,
        organ=args.organ,
        tolerance_mm=args.tolerance_mm,
        overwrite=args.force,
        overlap_threshold=args.min_overlap,
        min_predicted_volume_mm3=args.min_volume,
    )
    markdown = summary.files.get("summary.md", args.output_dir / "summary.md")
    print(f"{PROG}: evaluated {summary.n_cases} case(s); summary: {markdown}")
    print(_headline(summary))
    return EXIT_OK


def _headline(summary: Any) -> str:
    """One line of the main numbers, each ``estimate [low, high]``: overlap, then lesion-level
    sensitivity beside precision and false positives (so painting the liver cannot look good),
    then case-level detection."""

    def interval(ci: Any) -> str:
        if ci.estimate is None or not np.isfinite(ci.estimate):  # NaN: no case to average
            return "n/a"
        if not (np.isfinite(ci.low) and np.isfinite(ci.high)):  # one case: no interval
            return f"{ci.estimate:.3f}"
        return f"{ci.estimate:.3f} [{ci.low:.3f}, {ci.high:.3f}]"

    parts = [
        f"tumour DSC {interval(summary.metrics['tumour_dsc'])}",
        f"tumour NSD {interval(summary.metrics['tumour_nsd'])}",
        f"liver DSC {interval(summary.metrics['liver_dsc'])}",
        f"lesion sensitivity {interval(summary.lesion_sensitivity)}",
        f"lesion precision {interval(summary.lesion_precision)}",
        f"false positives per scan {interval(summary.false_positives_per_scan)}",
        f"case sensitivity {interval(summary.sensitivity)}",
        f"case specificity {interval(summary.specificity)}",
    ]
    return "; ".join(parts)


def _reference_subcommands() -> list[tuple[str, AddParser]]:
    """The training and evaluation commands of ``synthtumor.reference`` (argparse only here;
    torch and MONAI are imported when one of them runs)."""
    from synthtumor.reference import cli_commands

    return [
        ("prepare", cli_commands.add_prepare_parser),
        ("train", cli_commands.add_train_parser),
        ("predict", cli_commands.add_predict_parser),
        ("evaluate", _add_evaluate),
        ("robustness", cli_commands.add_robustness_parser),
        ("turing", cli_commands.add_turing_parser),
    ]


SUBCOMMANDS.extend([("synthesize", _add_synthesize), ("demo", _add_demo)])
SUBCOMMANDS.extend(_reference_subcommands())
SUBCOMMANDS.append(("realism", add_realism_parser))
SUBCOMMANDS.append(("calibrate", add_calibrate_parser))
