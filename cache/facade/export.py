"""CSV and formatting helpers: formula-neutralised CSV text, percentages, JSON-safe scalars."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
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
    """0–1 → '12.3 %'; N/A → '—'."""
    try:
        f = float(value)
    except (TypeError, ValueError):
        return NA
    if not math.isfinite(f):
        return NA
    return f"{f * 100:.{digits}f} %"


def estimate_text(
    value: Any, ci_low: Any = None, ci_high: Any = None, n: int | None = None, unit: str = ""
) -> str:
    """A sample-based figure, always marked as an estimate: '≈ 42 % (95 % CI 33–52 %, n = 100)'."""

    def num(x):
        try:
            f = float(x)
        except (TypeError, ValueError):
            return math.nan
        return f if math.isfinite(f) else math.nan

    v, lo, hi = num(value), num(ci_low), num(ci_high)
    if math.isnan(v):
        return NA
    parts = []
    if not (math.isnan(lo) or math.isnan(hi)):
        parts.append(f"95 % CI {lo * 100:.0f}–{hi * 100:.0f} %")
    if n is not None:
        parts.append(f"n = {int(n):,}{unit}")
    return f"≈ {v * 100:.0f} % ({', '.join(parts) or 'estimate'})"


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


def _py(x: Any) -> Any:
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.floating):
        return None if np.isnan(x) else float(x)
    if isinstance(x, np.bool_):
        return bool(x)
    return x


def _loads(x: Any) -> Any:
    if isinstance(x, str):
        try:
            return json.loads(x)
        except ValueError:
            return None
    return x
