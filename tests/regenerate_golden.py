"""Rewrite the golden outputs of ``tests/_golden.py`` after a deliberate change of output.

Run from the repository root: ``python tests/regenerate_golden.py``; then say in the commit
message why the output changed.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _golden import CASES, write


def main() -> None:
    for case in CASES:
        print(f"{case.name}: {write(case)} changed voxels -> {case.path}")


if __name__ == "__main__":
    main()
