"""The memoised scoring view: everything scored for one (snapshot, content type, period).

The heavy scoring for one (content type, period) is computed once per snapshot and kept
in-process (`view()`), so a callback only filters, sorts and slices frames that already exist.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from metrics import scoring

from .loader import _building, _lock, _trim, _views, snapshot, snapshot_id
from .vocab import DEFAULT_PERIOD, DEFAULT_TYPE, content_types, default_weights, metric_keys

logger = logging.getLogger(__name__)

_MAX_VIEWS = 12  # ~8–10 MB each at 33k members: 4 common types × 3 periods stay warm


@dataclass
class View:
    """Everything scored for one (snapshot, content type, period). Built once, read many times."""

    snapshot_id: str
    content_type: str
    period: str
    metrics: list[str]
    matrix: pd.DataFrame  # member_id × metric, 0–1, NaN = N/A
    covered: pd.DataFrame  # member_id × metric counts
    total: pd.DataFrame  # member_id × metric counts
    works: pd.Series  # works of the member in this type/period
    composite: pd.Series
    table: pd.DataFrame  # every member: info + works + composite + metrics
    agg: pd.DataFrame  # index metric: doi_weighted, member_mean, member_median, members, works
    # sample-based rows (source "sample": finite Wilson interval), index (member_id, metric):
    # covered, total (the sample), ci_low, ci_high (NaN when several rows were combined), rows
    estimates: pd.DataFrame | None = None
    _cache: dict = field(default_factory=dict, repr=False)

    def cached(self, key, fn):
        if key not in self._cache:
            self._cache[key] = fn()
        return self._cache[key]


def _slice(cov: pd.DataFrame, content_type: str, period: str) -> pd.DataFrame:
    sub = cov[(cov["period"] == period).to_numpy()]
    if content_type != scoring.ALL_TYPES:
        sub = sub[(sub["content_type"] == content_type).to_numpy()]
    sub = sub.copy()
    for col in ("metric", "content_type", "period", "source"):
        if col in sub.columns:
            sub[col] = sub[col].astype(object)
    if content_type == scoring.ALL_TYPES:
        if not (sub["content_type"] == scoring.ALL_TYPES).any():
            sub = scoring.with_all_types(sub)
        sub = sub[(sub["content_type"] == scoring.ALL_TYPES).to_numpy()]
    return sub


def _estimates(cov: pd.DataFrame, content_type: str, period: str) -> pd.DataFrame | None:
    """The sample-based rows of one type/period (all-types: every type's, combined per metric).

    A row is an estimate when it carries a confidence interval (only `sample` rows do; the
    compact snapshot read keeps the interval columns only when some row has one).
    """
    if "ci_low" not in cov.columns or "ci_high" not in cov.columns:
        return None
    mask = np.isfinite(cov["ci_low"].to_numpy(dtype=float))
    if not mask.any():
        return None
    mask &= (cov["period"] == period).to_numpy()
    if content_type != scoring.ALL_TYPES:
        mask &= (cov["content_type"] == content_type).to_numpy()
    if not mask.any():
        return None
    est = cov.loc[mask, ["member_id", "metric", "covered", "total", "ci_low", "ci_high"]].copy()
    est["metric"] = est["metric"].astype(str)
    g = est.groupby(["member_id", "metric"], sort=False)
    out = pd.DataFrame(
        {
            "covered": g["covered"].sum(),
            "total": g["total"].sum(),
            "rows": g.size(),
            "ci_low": g["ci_low"].first(),
            "ci_high": g["ci_high"].first(),
        }
    )
    several = out["rows"] > 1
    out.loc[several, ["ci_low", "ci_high"]] = np.nan
    return out


def _build_view(sid: str, content_type: str, period: str) -> View:
    snap = snapshot(sid)
    keys = metric_keys()
    sub = _slice(snap.coverage, content_type, period)
    matrix = scoring.coverage_matrix(sub, content_type, period, metrics=keys)
    matrix = matrix.reindex(columns=keys).astype(float)
    covered = sub.pivot_table(index="member_id", columns="metric", values="covered", aggfunc="sum")
    total = sub.pivot_table(index="member_id", columns="metric", values="total", aggfunc="sum")
    # counts as int32 (0 where the member has no row: N/A is carried by `matrix`)
    covered = covered.reindex(index=matrix.index, columns=keys).fillna(0).astype(np.int32)
    total = total.reindex(index=matrix.index, columns=keys).fillna(0).astype(np.int32)
    works = total.max(axis=1).reindex(snap.members.index).fillna(0).astype("int64")
    works.index.name = "member_id"
    comp = scoring.composite(matrix, {k: v for k, v in default_weights().items() if v})
    m = snap.members
    mat = matrix.reindex(m.index)
    numeric = pd.DataFrame({k: mat[k].to_numpy() for k in keys}, index=m.index)
    numeric.insert(0, "works", works.reindex(m.index).fillna(0).astype("int64").to_numpy())
    numeric.insert(1, "composite", comp.reindex(m.index).astype(float).to_numpy())
    # member columns are shared with the members frame (copy-on-write: no copy is made)
    table = pd.concat(
        [
            m[
                [
                    "member_id",
                    "name",
                    "country",
                    "country_name",
                    "gem",
                    "size_tier",
                    "total_dois",
                    "name_lc",
                    "name_rank",
                ]
            ],
            numeric,
        ],
        axis=1,
    )
    agg = scoring.aggregate(sub, content_type, period)
    agg = agg.reindex(keys)
    return View(
        sid,
        content_type,
        period,
        keys,
        matrix,
        covered,
        total,
        works,
        comp,
        table,
        agg,
        _estimates(snap.coverage, content_type, period),
    )


def view(
    content_type: str = DEFAULT_TYPE, period: str = DEFAULT_PERIOD, sid: str | None = None
) -> View:
    sid = sid or snapshot_id()
    if sid is None:
        raise LookupError("no snapshot published yet")
    key = (sid, content_type, period)
    cached = _views.get(key)
    if cached is not None:
        return cached
    with _lock:
        build_lock = _building.setdefault(key, threading.Lock())
    with build_lock:  # one build per key; other views stay readable meanwhile
        cached = _views.get(key)
        if cached is not None:
            return cached
        t0 = time.perf_counter()
        v = _build_view(sid, content_type, period)
        _trim()
        logger.info("scored %s/%s/%s in %.3fs", sid, content_type, period, time.perf_counter() - t0)
        with _lock:
            _views[key] = v
            while len(_views) > _MAX_VIEWS:
                _views.popitem(last=False)
            _building.pop(key, None)
        return v


def warm(
    types: Sequence[str] = (DEFAULT_TYPE, scoring.ALL_TYPES),
    periods_: Sequence[str] = ("current", "all", "backfile"),
) -> None:
    """Score the common views ahead of the first request (app start-up runs this in a thread)."""
    try:
        for ct in types:
            for per in periods_:
                if ct in content_types():
                    view(ct, per)
    except Exception:  # warming is an optimisation; a failure shows up on the first request
        logger.exception("warming views failed")
