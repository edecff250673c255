"""CSV formula-injection guard shared by every export (CLI, pages, drill-down gap lists).

A spreadsheet runs a cell that starts with ``= + - @`` (or a tab/CR that hides one) as a
formula; member names and titles are untrusted text, so such cells get a leading ``'``.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def safe_text(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def safe_series(series: pd.Series) -> pd.Series:
    text = series.fillna("").astype(str)
    risky = text.str.startswith(FORMULA_PREFIXES)
    return text.where(~risky, "'" + text)
