"""Query-string parsing: every value is untrusted; anything odd falls back to the default.

Dash passes query parameters to layouts as str, or as a list when a key repeats.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlencode

_MAX_LEN = 300


def first(value: Any) -> str | None:
    if isinstance(value, list | tuple):
        value = value[0] if value else None
    if value is None:
        return None
    if not isinstance(value, str):
        value = str(value)
    return value[:_MAX_LEN]


def choice(value: Any, allowed: Iterable[str], default: str) -> str:
    v = first(value)
    allowed = list(allowed)
    return v if v is not None and v in allowed else default


def integer(value: Any, default: int, lo: int = 0, hi: int = 10**12) -> int:
    v = first(value)
    if v is None or not re.fullmatch(r"\s*-?\d{1,13}\s*", v):
        return default
    return min(max(int(v), lo), hi)


def number(value: Any, default: float, lo: float = 0.0, hi: float = 100.0) -> float:
    v = first(value)
    try:
        f = float(v) if v is not None else default
    except ValueError:
        return default
    if not math.isfinite(f):
        return default
    return min(max(f, lo), hi)


def csv_list(value: Any, allowed: Iterable[str] | None = None, limit: int = 300) -> list[str]:
    """'a,b,c' (or repeated keys) → ['a','b','c'], keeping only allowed values, no duplicates."""
    items: list[str] = []
    raw = value if isinstance(value, list | tuple) else [value]
    for part in raw:
        if part is None:
            continue
        items.extend(p.strip() for p in str(part)[:4000].split(","))
    allowed_set = set(allowed) if allowed is not None else None
    out: list[str] = []
    for it in items:
        if it and it not in out and (allowed_set is None or it in allowed_set):
            out.append(it)
        if len(out) >= limit:
            break
    return out


def ids(value: Any, limit: int = 8) -> list[int]:
    out: list[int] = []
    for it in csv_list(value, limit=limit * 4):
        if re.fullmatch(r"\d{1,15}", it):
            i = int(it)
            if i not in out:
                out.append(i)
        if len(out) >= limit:
            break
    return out


def text(value: Any, limit: int = 100) -> str:
    v = first(value) or ""
    v = "".join(ch for ch in v if ch.isprintable())
    return v[:limit]


def query(params: dict[str, Any], defaults: dict[str, Any] | None = None) -> str:
    """'?k=v&…' with values equal to their default (or empty) left out; '' when nothing is left."""
    defaults = defaults or {}
    clean = {}
    for k, v in params.items():
        if isinstance(v, list | tuple):
            v = ",".join(str(x) for x in v)
        if v is None or v == "" or (k in defaults and str(defaults[k]) == str(v)):
            continue
        clean[k] = v
    return ("?" + urlencode(clean)) if clean else ""
