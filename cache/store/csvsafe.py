"""The one CSV writer every export goes through (CLI, page downloads, drill-down gap lists).

Two faults it prevents (DESIGN §8; issue 13):

* formula injection: a spreadsheet runs a cell that starts with ``= + - @`` (or a tab/CR that
  hides one) as a formula; member names and titles are untrusted text, so such cells get a
  leading ``'``;
* row splitting: a bare CR or LF inside a text cell ends the row in many CSV readers, so the
  guard and the formula would land in different rows. Line breaks inside text cells become
  spaces, so every record is exactly one line.

Numbers are written as they are, integers (and float columns holding only whole numbers, e.g.
sums of counts) without a decimal point; N/A (NaN/None) as empty.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_LINE_BREAKS = re.compile(r"[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]+")


def safe_text(value: Any) -> str:
    """``value`` as one-line text that no spreadsheet runs as a formula."""
    text = "" if value is None else str(value)
    guard = text.startswith(FORMULA_PREFIXES)
    text = _LINE_BREAKS.sub(" ", text)
    return "'" + text if guard or text.startswith(FORMULA_PREFIXES) else text


def safe_series(series: pd.Series) -> pd.Series:
    """:func:`safe_text` over a Series (None/NaN → ``""``); returns object dtype, same index."""
    return series.astype(object).map(lambda v: "" if v is None or v != v else safe_text(v))


def _cell(value: Any) -> Any:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, bool | int | float):
        return value
    if hasattr(value, "item") and not isinstance(value, str):  # numpy scalar
        return _cell(value.item())
    return safe_text(value)


def csv_text(header: Sequence[Any], rows: Iterable[Sequence[Any]]) -> str:
    """CSV text (``\\n`` line ends) of a header and rows; text cells guarded, N/A empty."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([safe_text(h) for h in header])
    writer.writerows([_cell(v) for v in row] for row in rows)
    return out.getvalue()


def frame_csv(df: pd.DataFrame) -> str:
    """CSV text of ``df`` (columns in order, no index): text cells and headers guarded, integer
    columns as integers, N/A cells empty."""
    columns = []
    for i in range(df.shape[1]):
        s = df.iloc[:, i]
        if pd.api.types.is_bool_dtype(s) or pd.api.types.is_integer_dtype(s):
            columns.append(s.astype(object).where(s.notna(), None).tolist())
        elif pd.api.types.is_float_dtype(s):
            finite = s[np.isfinite(s.to_numpy(dtype="float64", na_value=np.nan))]
            if len(finite) and bool(((finite % 1) == 0).all() and (finite.abs() < 2**53).all()):
                # whole numbers held as floats (sums of counts): "12", not "12.0"
                columns.append([int(v) if v == v else None for v in s.tolist()])
            else:
                columns.append(s.tolist())
        else:
            columns.append(safe_series(s).tolist())
    return csv_text([str(c) for c in df.columns], zip(*columns, strict=True))
