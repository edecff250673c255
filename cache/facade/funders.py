"""Funders: members ranked on funding metadata, and the per-funder drill-down files."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

import metrics
from cache.store import funder_reports as stored_reports

from .loader import data_dir, view
from .vocab import metric_keys

PUBLISHER_COLUMNS = (
    "publisher",
    "period",
    "works",
    "with_award",
    "award_share",
    "publisher_asserted",
    "publisher_asserted_share",
)


def funding_metrics() -> list[str]:
    """Metrics of the "funding" family with data in the snapshot, registry order."""
    return [k for k in metric_keys() if metrics.get(k).family == "funding"]


def funders_summary(content_type: str, period: str) -> dict:
    """Members ranked on funding metadata, and the gap (works without funder info) sized.

    Keys: metrics (funding metric keys), base (the metric the gap is counted on, "funders"),
    table (members with works: member_id, name, country, size_tier, works, one column per
    funding metric as fractions 0–1, with_funder, without_funder as work counts), share_zero
    (metric → fraction of those members at 0), gap_works and works (work counts).
    """
    v = view(content_type, period)

    def compute():
        keys = funding_metrics()
        base = "funders" if "funders" in keys else (keys[0] if keys else None)
        t = v.table.loc[
            v.table["works"] > 0, ["member_id", "name", "country", "size_tier", "works", *keys]
        ]
        t = t.copy()
        if base is not None:
            cov = v.covered[base].reindex(t.index)
            tot = v.total[base].reindex(t.index)
            t["with_funder"] = cov.fillna(0).astype("int64")
            t["without_funder"] = (tot.fillna(0) - cov.fillna(0)).clip(lower=0).astype("int64")
        else:
            t["with_funder"] = 0
            t["without_funder"] = t["works"]
        share_zero = {
            k: float((v.matrix[k].reindex(t.index) == 0).mean()) if len(t) else np.nan for k in keys
        }
        return {
            "metrics": keys,
            "base": base,
            "table": t,
            "share_zero": share_zero,
            "gap_works": int(t["without_funder"].sum()),
            "works": int(t["works"].sum()),
        }

    return v.cached("funders", compute)


def funder_reports() -> list[dict]:
    """Per-funder reports written by `python -m cache funder …`, newest first.

    Select options ``[{"key": funder key, "label": "Name (key)"}]``; ``[]`` when none.
    """
    return [
        {"key": r["key"], "label": f"{r['name']} ({r['key']})" if r["name"] else r["key"]}
        for r in stored_reports.saved(data_dir())
    ]


def funder_report(key: Any) -> dict | None:
    """One per-funder report: its facts and the per-publisher table (shares as fractions).

    ``{"key", "name", "facts": {id, kind, created, current_year}, "table"}``; ``table`` has
    :data:`PUBLISHER_COLUMNS` (publisher, period, works, with_award, award_share,
    publisher_asserted, publisher_asserted_share: counts as ints, shares **fractions 0–1**),
    from the ``/funders/{id}/works`` facets. None for an unknown or non-string key.
    """
    report = stored_reports.load(data_dir(), key) if isinstance(key, str) else None
    if report is None:
        return None
    facts = {k: report.get(k) for k in ("id", "kind", "created", "current_year")}
    table = pd.DataFrame(report["publishers"], columns=PUBLISHER_COLUMNS)
    return {"key": key, "name": report.get("name") or key, "facts": facts, "table": table}
