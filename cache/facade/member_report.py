"""Member report: per-metric values, peer position, works per year and type, change over time."""

from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np
import pandas as pd

import metrics
from cache.store.snapshots import id_sort_key
from metrics import scoring

from .export import estimate_short, estimate_text, pct
from .loader import LOAD_ERRORS, cache, memo, snapshot_id, snapshots, view
from .roster import member, peer_groups
from .views import slice_coverage
from .vocab import PEER_GROUPINGS, metric_label

logger = logging.getLogger(__name__)


def member_metrics(member_id: int, content_type: str, period: str) -> pd.DataFrame:
    """Per metric: label, value (0–1 or NaN), covered, total, and how the value was obtained.

    `status` is "measured" (exact counts), "estimate" (a sample: `ci_low`/`ci_high` hold the
    Wilson 95 % interval when one sample row stands behind it, `n` the sample size), "not measured"
    (the member has works of this type and period but the snapshot has no row for the metric) or
    "n/a" (no works). `text` is the value as the report shows it, `short` its compact form
    ('≈ 42 % ±10' for an estimate).
    """
    v = view(content_type, period)
    works = int(v.works.get(member_id, 0) or 0)
    est = v.estimates
    rows = []
    for k in v.metrics:
        val = v.matrix.at[member_id, k] if member_id in v.matrix.index else np.nan
        cov = v.covered.at[member_id, k] if member_id in v.covered.index else np.nan
        tot = v.total.at[member_id, k] if member_id in v.total.index else np.nan
        row = {
            "metric": k,
            "label": metric_label(k),
            "value": float(val),
            "covered": None if pd.isna(cov) else int(cov),
            "total": None if pd.isna(tot) else int(tot),
            "status": "measured",
            "ci_low": np.nan,
            "ci_high": np.nan,
            "n": None,
            "unit": "",
        }
        if works <= 0:
            row["status"] = "n/a"
        elif pd.isna(tot) or int(tot) <= 0 or np.isnan(row["value"]):
            row["status"] = "not measured"
            row["value"] = np.nan
        elif est is not None and (member_id, k) in est.index:
            e = est.loc[(member_id, k)]
            row.update(
                status="estimate",
                ci_low=float(e["ci_low"]),
                ci_high=float(e["ci_high"]),
                n=int(e["total"]),
                unit=" authors" if _is_depth(k) else " works",
            )
        row["text"] = value_text(row)
        row["short"] = (
            estimate_short(row["value"], row["ci_low"], row["ci_high"])
            if row["status"] == "estimate"
            else row["text"]
        )
        rows.append(row)
    return pd.DataFrame(rows)


def _is_depth(key: str) -> bool:
    m = metrics.REGISTRY.get(key)
    return m is not None and m.kind == "depth"


def value_text(row) -> str:
    """A value as shown: '42.0 %', '≈ 42 % (95 % CI 33–52 %, n = 100)', 'not measured', '—'."""
    status = row.get("status")
    if status == "not measured":
        return "not measured"
    value = row.get("value")
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "—"
    if status == "estimate":
        return estimate_text(
            value, row.get("ci_low"), row.get("ci_high"), row.get("n"), row.get("unit") or ""
        )
    return pct(value)


def peer_position(member_id: int, content_type: str, period: str, by: str = "size") -> dict:
    """Percentile within the member's peer group, peer median, Crossref-wide DOI-weighted value.

    ``{"by", "group", "group_size", "frame"}``; ``by`` falls back to ``"size"`` when unknown.
    ``frame``: one row per metric plus ``__composite``, columns metric, label, value,
    peer_median, crossref_doi_weighted, crossref_member_median (**fractions 0–1**) and
    percentile (**0–100** among peers with works); NaN where not applicable.
    """
    by = by if by in PEER_GROUPINGS else "size"
    v = view(content_type, period)
    groups = peer_groups(by)
    group = str(groups.get(member_id, ""))

    def ranks():
        active = v.works.reindex(v.matrix.index).fillna(0) > 0
        mat = v.matrix.loc[active].copy()
        mat["__composite"] = v.composite.reindex(mat.index)
        g = groups.reindex(mat.index)
        pr = scoring.percentile_ranks(mat, g).astype(np.float32)  # percent 0–100, compact
        med = mat.groupby(g).median()
        sizes = g.value_counts()
        return pr, med, sizes

    pr, med, sizes = v.cached(("peer", by), ranks)
    rows = []
    for k in [*v.metrics, "__composite"]:
        value = (
            v.matrix.at[member_id, k]
            if (k != "__composite" and member_id in v.matrix.index)
            else (v.composite.get(member_id, np.nan) if k == "__composite" else np.nan)
        )
        rows.append(
            {
                "metric": k,
                "label": "Composite score" if k == "__composite" else metric_label(k),
                "value": float(value) if value is not None else np.nan,
                "percentile": float(pr.at[member_id, k]) if member_id in pr.index else np.nan,
                "peer_median": float(med.at[group, k]) if group in med.index else np.nan,
                "crossref_doi_weighted": float(v.agg.at[k, "doi_weighted"])
                if k in v.agg.index
                else np.nan,
                "crossref_member_median": float(v.agg.at[k, "member_median"])
                if k in v.agg.index
                else np.nan,
            }
        )
    return {
        "by": by,
        "group": group,
        "group_size": int(sizes.get(group, 0)),
        "frame": pd.DataFrame(rows),
    }


def works_by_year(member_id: int) -> pd.DataFrame:
    """Registered works per publication year (`/members` `breakdowns.dois-by-issued-year`):
    columns year, works (ints), oldest first; empty for an unknown member."""
    info = member(member_id) or {}
    data = info.get("dois_by_year") or {}
    rows = []
    if isinstance(data, Mapping):
        for y, n in data.items():
            try:
                rows.append((int(y), int(n)))
            except (TypeError, ValueError):
                continue
    elif isinstance(data, list):  # [[year, n], …] as Crossref's breakdowns
        for item in data:
            try:
                rows.append((int(item[0]), int(item[1])))
            except (TypeError, ValueError, IndexError):
                continue
    return pd.DataFrame(sorted(rows), columns=["year", "works"])


def counts_by_type(member_id: int, period: str = "all") -> pd.DataFrame:
    """Works per content type in a period (`/members` `counts-type`): columns content_type,
    works; most works first; empty for an unknown member or period."""
    info = member(member_id) or {}
    ct = info.get("counts_type") or {}
    data = ct.get(period) if isinstance(ct, Mapping) else None
    rows = []
    if isinstance(data, Mapping):
        for t, n in data.items():
            try:
                rows.append((str(t), int(n)))
            except (TypeError, ValueError):
                continue
    return pd.DataFrame(sorted(rows, key=lambda r: -r[1]), columns=["content_type", "works"])


def previous_snapshot_id(sid: str | None = None) -> str | None:
    """The newest readable snapshot older than `sid` (default: the served one), or None."""
    sid = sid or snapshot_id()
    broken = cache().broken()
    ids = {m["id"] for m in snapshots() if m.get("id") and m["id"] not in broken}
    newest_first = sorted(ids, key=id_sort_key, reverse=True)
    older = [i for i in newest_first if sid is None or id_sort_key(i) < id_sort_key(sid)]
    return older[0] if older else None


def change_since_previous(member_id: int, content_type: str, period: str) -> dict:
    """Per metric: value now, value in the previous snapshot, change (percentage points).

    ``{"previous": meta of the previous snapshot or None, "frame": …}``; ``frame`` is
    :func:`member_metrics` plus ``before`` (fraction 0–1, NaN when absent) and ``change_pp``
    (**percentage points**, ``(value - before) * 100``); None when there is no previous
    snapshot or it cannot be read (logged, not raised).
    """
    prev = previous_snapshot_id()
    if prev is None:
        return {"previous": None, "frame": None}

    def compute():
        try:
            old = cache().coverage(
                prev, period=period, member_ids=[member_id], content_type=content_type
            )
            old_sub = slice_coverage(old, content_type, period) if len(old) else old
            old_m = (
                scoring.coverage_matrix(old_sub, content_type, period)
                if len(old_sub)
                else pd.DataFrame()
            )
        except LOAD_ERRORS:
            logger.exception("reading previous snapshot %s failed", prev)
            return None
        now = member_metrics(member_id, content_type, period)
        before = [
            float(old_m.at[member_id, k])
            if (member_id in old_m.index and k in old_m.columns)
            else np.nan
            for k in now["metric"]
        ]
        now["before"] = before
        now["change_pp"] = (now["value"] - now["before"]) * 100
        return now

    frame = memo(("change", member_id, content_type, period, prev), compute)
    prev_meta = next((m for m in snapshots() if m.get("id") == prev), {"id": prev})
    return {"previous": prev_meta, "frame": frame}
