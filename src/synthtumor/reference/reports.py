"""Report pieces shared by the reference commands: CSV tables as text.

Examples
--------
>>> print(csv_text(["case", "dice"], [{"case": "a", "dice": 0.5}, {"case": "b"}]), end="")
case,dice
a,0.5
b,
>>> print(csv_text(["case", "dice"], [{"case": "a", "dice": float("nan"), "x": 1}], blank_nan=True))
case,dice
a,
<BLANKLINE>
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = ["csv_text"]


def csv_text(
    columns: Sequence[str], rows: Iterable[Mapping[str, Any]], *, blank_nan: bool = False
) -> str:
    """A CSV table (header, then one line per row; ``\\n`` line ends) of `columns` of `rows`.

    A column a row lacks is left empty, keys that are not columns are left out, and with
    `blank_nan` a NaN is written as an empty cell instead of ``nan``.
    """
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({column: _cell(row.get(column, ""), blank_nan) for column in columns})
    return buffer.getvalue()


def _cell(value: Any, blank_nan: bool) -> Any:
    return "" if blank_nan and isinstance(value, float) and math.isnan(value) else value
