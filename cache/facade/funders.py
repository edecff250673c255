"""Funders: members ranked on funding metadata, and the per-funder drill-down files."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import metrics

from .loader import data_dir
from .views import view
from .vocab import metric_keys


def funding_metrics() -> list[str]:
    keys = metric_keys()
    fam = [k for k in keys if getattr(metrics.get(k), "family", "") in ("funding", "funders")]
    return fam or [k for k in keys if "fund" in k or "award" in k]


def funders_summary(content_type: str, period: str) -> dict:
    """Members ranked on funding metadata, and the gap (works without funder info) sized."""
    v = view(content_type, period)

    def compute():
        keys = funding_metrics()
        base = "funders" if "funders" in keys else (keys[0] if keys else None)
        t = v.table.loc[v.table["works"] > 0, ["member_id", "name", "country", "size_tier", "works", *keys]]
        t = t.copy()
        if base is not None:
            cov = v.covered[base].reindex(t.index)
            tot = v.total[base].reindex(t.index)
            t["with_funder"] = cov.fillna(0).astype("int64")
            t["without_funder"] = (tot.fillna(0) - cov.fillna(0)).clip(lower=0).astype("int64")
        else:
            t["with_funder"] = 0
            t["without_funder"] = t["works"]
        share_zero = {k: float((v.matrix[k].reindex(t.index) == 0).mean()) if len(t) else np.nan
                      for k in keys}
        return {"metrics": keys, "base": base, "table": t, "share_zero": share_zero,
                "gap_works": int(t["without_funder"].sum()), "works": int(t["works"].sum())}

    return v.cached("funders", compute)


# Not `cache.funder.load_all()`: that raises on the first unreadable file (one bad file would
# take the whole Funders page down) and drops the file name, which is the key the page links by.
# Here each file is read on its own, a broken one is listed as not ok, and the key is the file's.


def _read_json(path: Path) -> Any | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def funder_drilldowns() -> list[dict]:
    """Per-funder files written by `python -m cache funder …` (drilldown/funder-*.json)."""
    d = data_dir() / "drilldown"
    out = []
    try:
        files = sorted(d.glob("funder-*.json"))
    except OSError:
        files = []
    for p in files:
        key = p.stem[len("funder-"):]
        data = _read_json(p)
        label = (_funder_name(data) or key) if data is not None else key
        out.append({"key": key, "label": f"{label} ({key})" if label != key else key,
                    "ok": data is not None})
    return out


def _funder_name(data: Any) -> str:
    if not isinstance(data, Mapping):
        return ""
    for k in ("name", "funder_name", "label"):
        if isinstance(data.get(k), str):
            return data[k]
    f = data.get("funder")
    if isinstance(f, Mapping):
        for k in ("name", "label"):
            if isinstance(f.get(k), str):
                return f[k]
    return ""


def funder_drilldown(key: Any) -> dict | None:
    """One per-funder file: name, scalar facts and its per-publisher table (tolerant of shape)."""
    if not isinstance(key, str) or not re.fullmatch(r"[A-Za-z0-9._-]{1,200}", key):
        return None
    data = _read_json(data_dir() / "drilldown" / f"funder-{key}.json")
    if not isinstance(data, Mapping):
        return None
    table = None
    for k in ("publishers", "members", "by_member", "rows", "table"):
        if isinstance(data.get(k), list) and data[k] and isinstance(data[k][0], Mapping):
            table = pd.DataFrame(data[k])
            break
    if table is None:
        for val in data.values():
            if isinstance(val, list) and val and isinstance(val[0], Mapping):
                table = pd.DataFrame(val)
                break
    facts = {k: val for k, val in data.items() if isinstance(val, str | int | float | bool) or val is None}
    return {"key": key, "name": _funder_name(data) or key, "facts": facts, "table": table}
