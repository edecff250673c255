"""Scoring over the tidy coverage table (docs/architecture.md §3 and §6).

Everything here is vectorised (pandas/numpy, no per-member Python loops) and pure.

The coverage table has one row per member × content_type × period × metric with the columns
``member_id, content_type, period, metric, covered, total, coverage, source, ci_low, ci_high``.
``total == 0`` means *not applicable*: such cells are NaN in every output, never 0.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from metrics import PRESENCE_KEYS, REGISTRY, UnknownMetricError

__all__ = [
    "ALL_TYPES",
    "COMPOSITE",
    "CONTENT_MIX_DOMINANCE",
    "COVERAGE_COLUMNS",
    "DEFAULT_WEIGHTS",
    "MIN_WORKS",
    "MIXED",
    "PEER_GROUPINGS",
    "PERIODS",
    "SIZE_TIERS",
    "UNKNOWN",
    "Z95",
    "aggregate",
    "composite",
    "coverage_matrix",
    "estimate_rows",
    "improvement",
    "member_works",
    "peer_groups",
    "percentile_ranks",
    "size_tier",
    "wilson_interval",
    "with_all_types",
]

#: Pseudo content type holding the count-weighted aggregate over a member's types.
ALL_TYPES = "all-types"
PERIODS: tuple[str, ...] = ("current", "backfile", "all")
COVERAGE_COLUMNS: tuple[str, ...] = (
    "member_id",
    "content_type",
    "period",
    "metric",
    "covered",
    "total",
    "coverage",
    "source",
    "ci_low",
    "ci_high",
)
#: Name of the composite score when it sits next to metrics (improvement rows, frames).
COMPOSITE = "composite"

#: Default composite weights, defined once on the metrics themselves (``Metric.default_weight``)
#: and collected here. They cover the 12 metrics of Crossref's member summary and sum to 1:
#: the elements that identify and connect a work (references, abstracts, ORCID iDs, licences,
#: affiliations, ROR IDs, funders, award numbers) weigh more than service-specific links and
#: flags (Similarity Check URLs, Crossmark, text-mining URLs, descriptions), which depend on
#: services a member may not use or on content types where they rarely apply.
DEFAULT_WEIGHTS: Mapping[str, float] = MappingProxyType(
    {key: m.default_weight for key, m in REGISTRY.items() if m.default_weight > 0}
)

#: Size tiers by registered works (``total_dois``), as (label, inclusive lower bound).
#: small < 1,000 ≤ medium < 50,000 ≤ large. Crossref's Metadata Awards split members by
#: publishing revenue (small = under USD 1 million), which is not public; registered works are
#: the public proxy. Under 1,000 works is a handful of journals or a young press (most members);
#: 50,000+ works is the few hundred publishers that register most DOIs.
SIZE_TIERS: tuple[tuple[str, int], ...] = (("small", 0), ("medium", 1_000), ("large", 50_000))

#: Peer groupings understood by :func:`peer_groups`.
PEER_GROUPINGS: tuple[str, ...] = ("size", "gem", "country", "content-mix", "award")
#: A content type must exceed this share of a member's works (``counts_type.all``) to name the
#: member's content mix; otherwise the mix is ``"mixed"``.
CONTENT_MIX_DOMINANCE = 0.6
MIXED = "mixed"
UNKNOWN = "unknown"
#: Minimum works (in the chosen type and period) in *both* snapshots to rank improvement.
MIN_WORKS = 100
Z95 = 1.96


# ---------------------------------------------------------------------------------------------
# Internal helpers
# ---------------------------------------------------------------------------------------------


def _group_ids(frame: pd.DataFrame, cols: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Dense group ids for the rows of ``frame`` by ``cols``, and the first row of each group."""
    combined = np.zeros(len(frame), dtype=np.int64)
    for col in cols:
        codes, uniques = pd.factorize(frame[col], sort=False, use_na_sentinel=True)
        combined = combined * (len(uniques) + 1) + (codes.astype(np.int64) + 1)
    gid, _ = pd.factorize(combined, sort=False)
    gid = gid.astype(np.int64)
    if len(gid) == 0:
        return gid, np.empty(0, dtype=np.int64)
    # factorize numbers groups in order of first appearance, so a row starts a new group
    # exactly when its id exceeds every id before it.
    seen_max = np.maximum.accumulate(np.concatenate(([-1], gid[:-1])))
    first = np.flatnonzero(gid > seen_max)
    return gid, first


def _sum(gid: np.ndarray, n_groups: int, values: np.ndarray) -> np.ndarray:
    return np.bincount(gid, weights=values, minlength=n_groups)


def _num(frame: pd.DataFrame, col: str) -> np.ndarray:
    if col not in frame:
        return np.full(len(frame), np.nan)
    return pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _check_period(period: str) -> None:
    if period not in PERIODS:
        raise ValueError(f"unknown period {period!r}; expected one of {', '.join(PERIODS)}")


def _metric_order(present: Iterable[str]) -> list[str]:
    """Registry order first, then any other metric strings in order of appearance."""
    present = list(dict.fromkeys(present))
    known = [k for k in REGISTRY if k in set(present)]
    return known + [k for k in present if k not in REGISTRY]


def _all_types_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """ALL_TYPES rows for ``rows`` (which must not contain ALL_TYPES rows already)."""
    if rows.empty:
        return pd.DataFrame(
            {c: pd.Series(dtype=rows[c].dtype if c in rows else float) for c in COVERAGE_COLUMNS}
        )
    keys = ["member_id", "period", "metric"]
    gid, first = _group_ids(rows, keys)
    n = len(first)
    cov = _num(rows, "coverage")
    tot = np.nan_to_num(_num(rows, "total"), nan=0.0)
    covd = np.nan_to_num(_num(rows, "covered"), nan=0.0)
    usable = (tot > 0) & np.isfinite(cov)

    total = _sum(gid, n, tot)
    covered = _sum(gid, n, covd)
    num = _sum(gid, n, np.where(usable, cov * tot, 0.0))
    den = _sum(gid, n, np.where(usable, tot, 0.0))
    with np.errstate(invalid="ignore", divide="ignore"):
        coverage = np.where((den > 0) & (total > 0), num / den, np.nan)

    # Intervals: the work-weighted mean of the per-type bounds, only when every type with works
    # has one (sample rows). It bounds the stratified estimate conservatively.
    lo, hi = _num(rows, "ci_low"), _num(rows, "ci_high")
    has_ci = (tot > 0) & np.isfinite(lo) & np.isfinite(hi)
    need = _sum(gid, n, (tot > 0).astype(float))
    have = _sum(gid, n, has_ci.astype(float))
    ci_w = _sum(gid, n, np.where(has_ci, tot, 0.0))
    with np.errstate(invalid="ignore", divide="ignore"):
        ok = (need > 0) & (have == need) & (ci_w > 0)
        ci_low = np.where(ok, _sum(gid, n, np.where(has_ci, lo * tot, 0.0)) / ci_w, np.nan)
        ci_high = np.where(ok, _sum(gid, n, np.where(has_ci, hi * tot, 0.0)) / ci_w, np.nan)

    # Source: kept when all the member's types agree, else "mixed" (Σs² · n == (Σs)² iff equal).
    if "source" in rows:
        codes, uniques = pd.factorize(rows["source"], sort=False)
        s = codes.astype(float)
        cnt = _sum(gid, n, np.ones(len(rows)))
        s1, s2 = _sum(gid, n, s), _sum(gid, n, s * s)
        same = np.isclose(s2 * cnt, s1 * s1)
        src_first = codes[first]
        labels = np.asarray(uniques, dtype=object)
        picked = labels[np.clip(src_first, 0, None)] if len(labels) else np.full(n, "", object)
        source = np.where(same & (src_first >= 0), picked, "mixed")
    else:
        source = np.full(n, "derived", dtype=object)

    head = rows.iloc[first]
    return pd.DataFrame(
        {
            "member_id": head["member_id"].to_numpy(),
            "content_type": ALL_TYPES,
            "period": head["period"].to_numpy(),
            "metric": head["metric"].to_numpy(),
            "covered": np.rint(covered).astype(np.int64),
            "total": np.rint(total).astype(np.int64),
            "coverage": coverage,
            "source": source,
            "ci_low": ci_low,
            "ci_high": ci_high,
        }
    )


def _select(coverage: pd.DataFrame, content_type: str, period: str) -> pd.DataFrame:
    """Rows of one content type (or ALL_TYPES, derived when absent) and one period."""
    _check_period(period)
    rows = coverage[coverage["period"].to_numpy() == period]
    is_all = rows["content_type"].to_numpy() == ALL_TYPES
    if content_type == ALL_TYPES:
        if is_all.any():
            return rows[is_all]
        return _all_types_rows(rows)
    return rows[(rows["content_type"].to_numpy() == content_type) & ~is_all]


# ---------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------


def with_all_types(coverage: pd.DataFrame) -> pd.DataFrame:
    """``coverage`` plus one ALL_TYPES row per member × period × metric.

    The all-types figure is the count-weighted mean over the member's types:
    ``Σ_t coverage_t · total_t / Σ_t total_t`` using the exact coverage floats (types with no
    works add nothing), with ``covered`` and ``total`` summed. This reproduces Crossref's flat
    ``coverage["<metric>-current"|"-backfile"]`` values. A member/period with no works at all
    gets ``total`` 0 and coverage NaN (not applicable). Existing ALL_TYPES rows are replaced.
    """
    base = coverage[coverage["content_type"].to_numpy() != ALL_TYPES]
    if base.empty:
        return base.reset_index(drop=True)
    extra = _all_types_rows(base)
    return pd.concat([base, extra], ignore_index=True)


def coverage_matrix(
    coverage: pd.DataFrame,
    content_type: str,
    period: str,
    metrics: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Member × metric coverage (fractions 0–1) for one content type (or ALL_TYPES) and period.

    Index ``member_id`` (sorted), columns in registry order (or the order of ``metrics``).
    Not applicable (no works, or no row) is NaN, never 0.
    """
    rows = _select(coverage, content_type, period)
    if metrics is not None:
        wanted = list(metrics)
        for key in wanted:
            if key not in REGISTRY:
                _unknown(key)
        rows = rows[rows["metric"].isin(wanted)]
        columns = wanted
    else:
        columns = _metric_order(pd.unique(rows["metric"]))

    member_ids, member_idx = np.unique(rows["member_id"].to_numpy(), return_inverse=True)
    col_pos = {k: i for i, k in enumerate(columns)}
    metric_idx = pd.Series(rows["metric"].to_numpy()).map(col_pos).to_numpy()
    values = _num(rows, "coverage")
    values = np.where(_num(rows, "total") > 0, values, np.nan)

    grid = np.full((len(member_ids), len(columns)), np.nan)
    if len(rows):
        grid[member_idx, metric_idx.astype(np.int64)] = values
    return pd.DataFrame(
        grid,
        index=pd.Index(member_ids, name="member_id"),
        columns=pd.Index(columns, name="metric"),
    )


def _unknown(key: str) -> str:
    raise UnknownMetricError(f"unknown metric {key!r}; valid keys are: {', '.join(REGISTRY)}")


def aggregate(
    coverage: pd.DataFrame,
    content_type: str,
    period: str,
    member_ids: Iterable[int] | None = None,
) -> pd.DataFrame:
    """Per-metric aggregates over members, both kinds, always labelled.

    Columns: ``doi_weighted`` (Σcovered / Σtotal: the share of all works), ``member_mean`` and
    ``member_median`` (the typical member; members with no works are left out), ``members``
    (members with works) and ``works`` (Σtotal). Index ``metric`` in registry order.
    """
    rows = _select(coverage, content_type, period)
    if member_ids is not None:
        rows = rows[rows["member_id"].isin(list(member_ids))]
    tot = _num(rows, "total")
    cov = _num(rows, "coverage")
    valid = (tot > 0) & np.isfinite(cov)
    rows = rows[valid]
    frame = pd.DataFrame(
        {
            "metric": rows["metric"].to_numpy(),
            "covered": _num(rows, "covered"),
            "total": tot[valid],
            "coverage": cov[valid],
        }
    )
    grouped = frame.groupby("metric", sort=False)
    out = pd.DataFrame(
        {
            "doi_weighted": grouped["covered"].sum() / grouped["total"].sum(),
            "member_mean": grouped["coverage"].mean(),
            "member_median": grouped["coverage"].median(),
            "members": grouped["coverage"].count().astype(np.int64),
            "works": grouped["total"].sum().astype(np.int64),
        }
    )
    order = _metric_order(out.index)
    out = out.reindex(order)
    out.index.name = "metric"
    return out


def composite(matrix: pd.DataFrame, weights: Mapping[str, float] | None = None) -> pd.Series:
    """Weighted mean of a member's available metrics (NaN = not applicable, skipped).

    Weights default to :data:`DEFAULT_WEIGHTS`; they are renormalised per member over the
    metrics that member has, so a member with no current funder-eligible works is not
    penalised. NaN when none of the weighted metrics is available.
    """
    chosen = dict(DEFAULT_WEIGHTS if weights is None else weights)
    for key, weight in chosen.items():
        if key not in REGISTRY:
            _unknown(key)
        if not np.isfinite(weight) or weight < 0:
            raise ValueError(f"weight for {key!r} must be a finite number ≥ 0, got {weight!r}")
    cols = [c for c in matrix.columns if chosen.get(c, 0) > 0]
    if not cols:
        return pd.Series(np.nan, index=matrix.index, name=COMPOSITE, dtype=float)
    values = matrix[cols].to_numpy(dtype=float)
    w = np.array([chosen[c] for c in cols], dtype=float)
    avail = np.isfinite(values)
    num = np.where(avail, values, 0.0) @ w
    den = avail.astype(float) @ w
    with np.errstate(invalid="ignore", divide="ignore"):
        score = np.where(den > 0, num / den, np.nan)
    return pd.Series(score, index=matrix.index, name=COMPOSITE)


def size_tier(total_dois: Any) -> pd.Series:
    """Size tier label per member from registered works, using :data:`SIZE_TIERS`.

    Missing or negative counts give NaN.
    """
    series = total_dois if isinstance(total_dois, pd.Series) else pd.Series(total_dois)
    values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    labels = np.full(len(values), None, dtype=object)
    for label, lower_bound in SIZE_TIERS:  # ascending bounds: the last match wins
        labels[values >= lower_bound] = label
    return pd.Series(labels, index=series.index, name="size_tier", dtype=object)


def _counts_all(value: Any) -> dict:
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else {}
        except ValueError:
            return {}
    if not isinstance(value, dict):
        return {}
    inner = value.get("all", {})
    return inner if isinstance(inner, dict) else {}


def _content_mix(counts_type: pd.Series) -> np.ndarray:
    parsed = [_counts_all(v) for v in counts_type.to_numpy()]
    lengths = np.fromiter((len(p) for p in parsed), dtype=np.int64, count=len(parsed))
    row = np.repeat(np.arange(len(parsed)), lengths)
    types = np.array([t for p in parsed for t in p], dtype=object)
    counts = pd.to_numeric(
        pd.Series([n for p in parsed for n in p.values()], dtype=object), errors="coerce"
    ).to_numpy(dtype=float, na_value=0.0)
    counts = np.clip(counts, 0, None)
    out = np.full(len(parsed), UNKNOWN, dtype=object)
    if len(row) == 0:
        return out
    totals = np.bincount(row, weights=counts, minlength=len(parsed))
    order = np.lexsort((-counts, row))  # by row, largest count first
    firsts = order[np.r_[True, row[order][1:] != row[order][:-1]]]
    top_row, top_type, top_n = row[firsts], types[firsts], counts[firsts]
    with np.errstate(invalid="ignore", divide="ignore"):
        share = top_n / totals[top_row]
    label = np.where(share > CONTENT_MIX_DOMINANCE, top_type, MIXED)
    label = np.where(totals[top_row] > 0, label, UNKNOWN)
    out[top_row] = label
    return out


def peer_groups(members: pd.DataFrame, by: str) -> pd.Series:
    """Peer-group label per member (index ``member_id``).

    ``by``: ``"size"`` (:data:`SIZE_TIERS` on ``total_dois``), ``"gem"`` (``"GEM"``/``"non-GEM"``),
    ``"country"`` (ISO3, ``"unknown"`` when not parsed), ``"content-mix"`` (the type holding more
    than :data:`CONTENT_MIX_DOMINANCE` of ``counts_type.all``, else ``"mixed"``; ``"unknown"``
    with no works) or ``"award"`` (Crossref Metadata Awards style: ``"GEM"`` for members in GEM
    countries, otherwise the size tier).
    """
    if by not in PEER_GROUPINGS:
        raise ValueError(
            f"unknown peer grouping {by!r}; expected one of {', '.join(PEER_GROUPINGS)}"
        )
    index = (
        pd.Index(members["member_id"].to_numpy(), name="member_id")
        if "member_id" in members
        else members.index
    )

    def gem_flags() -> np.ndarray:
        return members["gem"].fillna(False).astype(bool).to_numpy()

    if by == "size":
        values = size_tier(members["total_dois"]).to_numpy()
    elif by == "gem":
        values = np.where(gem_flags(), "GEM", "non-GEM").astype(object)
    elif by == "country":
        country = members["country"].fillna("").astype(str).str.strip().to_numpy(dtype=object)
        values = np.where(country == "", UNKNOWN, country)
    elif by == "content-mix":
        values = _content_mix(members["counts_type"])
    else:  # award
        tiers = size_tier(members["total_dois"]).to_numpy()
        values = np.where(gem_flags(), "GEM", tiers)
    return pd.Series(values, index=index, name=by, dtype=object)


def percentile_ranks(frame: pd.DataFrame | pd.Series, groups: pd.Series | None = None):
    """Percentile (0–100) of each member within its peer group, per column.

    ``rank(pct=True, method="average") * 100`` within each group: the best member of a group of
    n scores 100, the worst 100/n, ties share the average. NaN values stay NaN and are not
    counted; members without a group get NaN.
    """
    if groups is None:
        return frame.rank(method="average", pct=True) * 100
    keys = groups.reindex(frame.index)
    ranked = frame.groupby(keys, sort=False, dropna=True).rank(method="average", pct=True)
    return ranked.reindex(frame.index) * 100


def member_works(coverage: pd.DataFrame, content_type: str, period: str) -> pd.Series:
    """Works per member in one type (or ALL_TYPES) and period (largest presence-metric total)."""
    rows = _select(coverage, content_type, period)
    presence = rows[rows["metric"].isin(PRESENCE_KEYS)]
    if not presence.empty:
        rows = presence
    totals = pd.Series(_num(rows, "total"), index=rows["member_id"].to_numpy())
    out = totals.groupby(level=0).max()
    out.index.name = "member_id"
    return out.rename("works")


def improvement(
    before: pd.DataFrame,
    after: pd.DataFrame,
    content_type: str,
    period: str,
    min_works: int = MIN_WORKS,
    weights: Mapping[str, float] | None = None,
    metrics: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Change per member and metric between two coverage snapshots ("enrichment").

    Long frame with columns ``member_id, metric, before, after, change, works_before,
    works_after``; ``change`` is ``after − before`` as a fraction (0.05 = 5 percentage points).
    Members with fewer than ``min_works`` works in the chosen type and period in *either*
    snapshot are dropped. Each member also gets a ``metric == "composite"`` row (composite score
    with ``weights``). Rows where the metric is N/A in both snapshots are left out.
    """
    mb = coverage_matrix(before, content_type, period, metrics)
    ma = coverage_matrix(after, content_type, period, metrics)
    wb = member_works(before, content_type, period)
    wa = member_works(after, content_type, period)
    works = pd.concat({"b": wb, "a": wa}, axis=1, join="inner")
    works = works[(works["b"] >= min_works) & (works["a"] >= min_works)].sort_index()
    ids = works.index
    columns = _metric_order([*mb.columns, *ma.columns]) if metrics is None else list(mb.columns)
    b = mb.reindex(index=ids, columns=columns)
    a = ma.reindex(index=ids, columns=columns)
    b[COMPOSITE] = composite(b, weights)
    a[COMPOSITE] = composite(a, weights)
    names = [*columns, COMPOSITE]

    n_m, n_k = len(ids), len(names)
    bv, av = b[names].to_numpy(dtype=float), a[names].to_numpy(dtype=float)
    out = pd.DataFrame(
        {
            "member_id": np.repeat(ids.to_numpy(), n_k),
            "metric": np.tile(np.asarray(names, dtype=object), n_m),
            "before": bv.ravel(),
            "after": av.ravel(),
            "change": (av - bv).ravel(),
            "works_before": np.repeat(works["b"].to_numpy(dtype=np.int64), n_k),
            "works_after": np.repeat(works["a"].to_numpy(dtype=np.int64), n_k),
        }
    )
    keep = np.isfinite(out["before"].to_numpy()) | np.isfinite(out["after"].to_numpy())
    return out[keep].reset_index(drop=True)


def wilson_interval(k: Any, n: Any, z: float = Z95):
    """Wilson score interval for k successes in n trials; vectorised.

    Returns ``(low, high)`` as floats for scalar input, Series for Series input (same index),
    arrays otherwise. ``n == 0`` gives NaN. Bounds are clipped to [0, 1].
    """
    index = k.index if isinstance(k, pd.Series) else n.index if isinstance(n, pd.Series) else None
    kk = np.asarray(k, dtype=float)
    nn = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = kk / nn
        z2 = z * z
        denom = 1 + z2 / nn
        centre = (p + z2 / (2 * nn)) / denom
        half = z * np.sqrt(p * (1 - p) / nn + z2 / (4 * nn * nn)) / denom
        valid = (nn > 0) & (kk >= 0) & (kk <= nn)
        low = np.where(valid, np.clip(centre - half, 0.0, 1.0), np.nan)
        high = np.where(valid, np.clip(centre + half, 0.0, 1.0), np.nan)
    if index is not None:
        return pd.Series(low, index=index, name="ci_low"), pd.Series(
            high, index=index, name="ci_high"
        )
    if low.ndim == 0:
        return float(low), float(high)
    return low, high


def estimate_rows(samples: pd.DataFrame, z: float = Z95, source: str = "sample") -> pd.DataFrame:
    """Coverage rows (contract schema) from sample counts, with Wilson intervals.

    ``samples`` has ``member_id, content_type, period, metric, k, n`` (``k`` works with the
    element among ``n`` sampled, e.g. from :func:`metrics.tally`) and optionally ``works``, the
    population the sample was drawn from (defaults to ``n``). Output: ``coverage = k/n``,
    ``total = works``, ``covered = round(coverage · works)``, ``ci_low/ci_high`` from (k, n).
    ``n == 0`` or ``works == 0`` gives coverage NaN (not applicable).
    """
    k = _num(samples, "k")
    n = _num(samples, "n")
    works = _num(samples, "works") if "works" in samples else n.copy()
    works = np.nan_to_num(works, nan=0.0)
    low, high = wilson_interval(k, n, z)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.where((n > 0) & (works > 0), k / n, np.nan)
    low = np.where(np.isfinite(p), low, np.nan)
    high = np.where(np.isfinite(p), high, np.nan)
    return pd.DataFrame(
        {
            "member_id": samples["member_id"].to_numpy(dtype=np.int64),
            "content_type": samples["content_type"].to_numpy(),
            "period": samples["period"].to_numpy(),
            "metric": samples["metric"].to_numpy(),
            "covered": np.rint(np.nan_to_num(p * works, nan=0.0)).astype(np.int64),
            "total": np.rint(works).astype(np.int64),
            "coverage": p,
            "source": source,
            "ci_low": low,
            "ci_high": high,
        }
    )
