"""CSV and formatting helpers: formula-neutralised CSV text and the one percent formatter."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from cache.store.csvsafe import frame_csv, safe_text

NA = "—"


def csv_safe(value: Any) -> Any:
    """Neutralise spreadsheet formulas: text starting with = + - @ (or tab/CR) gets a leading '.
    Non-text values are returned unchanged."""
    return safe_text(value) if isinstance(value, str) else value


def to_csv(df: pd.DataFrame) -> str:
    """CSV text of `df` through the one CSV writer (`cache.store.csvsafe.frame_csv`): text cells
    and headers formula-guarded and kept on one line, N/A cells empty."""
    return frame_csv(df)


def pct(value: Any, digits: int = 1) -> str:
    """The one percent formatter: a **fraction 0–1** in, text out ('12.3 %'); N/A (None, NaN,
    not a number) → '—'. Percent values (0–100) must never be passed here."""
    number = _percent_number(value, digits)
    return NA if number is None else f"{number} %"


def _percent_number(value: Any, digits: int) -> str | None:
    """'12.3' for 0.123 at one digit; None when `value` is not a finite number."""
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(f):
        return None
    return f"{f * 100:.{digits}f}"


def estimate_text(
    value: Any, ci_low: Any = None, ci_high: Any = None, n: int | None = None, unit: str = ""
) -> str:
    """A sample-based figure (fractions 0–1 in), always marked as an estimate:
    '≈ 42 % (95 % CI 33–52 %, n = 100)'; '—' when `value` is N/A."""
    if _percent_number(value, 0) is None:
        return NA
    parts = []
    lo, hi = _percent_number(ci_low, 0), _percent_number(ci_high, 0)
    if lo is not None and hi is not None:
        parts.append(f"95 % CI {lo}–{hi} %")
    if n is not None:
        parts.append(f"n = {int(n):,}{unit}")
    return f"≈ {pct(value, 0)} ({', '.join(parts) or 'estimate'})"


def estimate_short(value: Any, ci_low: Any = None, ci_high: Any = None) -> str:
    """The short form for tight spots (bar labels, table cells): '≈ 42 % ±10' (half the 95 % CI)."""
    text = estimate_text(value, ci_low, ci_high)
    if text == NA:
        return NA
    head = text.split(" (", 1)[0]
    try:
        lo, hi = float(ci_low), float(ci_high)
    except (TypeError, ValueError):
        return head
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return head
    return f"{head} ±{(hi - lo) * 50:.0f}"
