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
    "COVERAGE_SCHEMA",
    "DEFAULT_WEIGHTS",
    "MIN_WORKS",
    "MIXED",
    "PEER_GROUPINGS",
    "PERIODS",
    "PERIOD_LABELS",
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
#: Publication-date periods of Crossref's member summary (``/members`` ``coverage-type``,
#: ``counts-type``): ``current`` = this calendar year and the two before, ``backfile`` = older,
#: ``all`` = both. The one definition: the snapshot store and the facade import it.
PERIODS: tuple[str, ...] = ("current", "backfile", "all")
#: Period → the label every page shows (segmented controls, headings), in :data:`PERIODS` order.
PERIOD_LABELS: Mapping[str, str] = MappingProxyType(
    {"current": "Current", "backfile": "Backfile", "all": "All time"}
)
#: The tidy coverage table, column → dtype ("str" = text), in file order (docs/architecture.md
#: §3). ``covered``/``total`` are work (or author) counts; ``coverage`` is ``covered / total``
#: as a **fraction 0–1** (never percent); ``ci_low``/``ci_high`` bound it (fractions, NaN for
#: exact rows). The snapshot store validates and stores exactly these columns.
COVERAGE_SCHEMA: Mapping[str, str] = MappingProxyType(
    {
        "member_id": "int64",
        "content_type": "str",
        "period": "str",
        "metric": "str",
        "covered": "int64",
        "total": "int64",
        "coverage": "float64",
        "source": "str",
        "ci_low": "float64",
        "ci_high": "float64",
    }
)
#: The column names of :data:`COVERAGE_SCHEMA`, in order.
COVERAGE_COLUMNS: tuple[str, ...] = tuple(COVERAGE_SCHEMA)
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

#: Peer groupings understood by :func:`peer_groups`: key → the label pages show, in order.
PEER_GROUPINGS: Mapping[str, str] = MappingProxyType(
    {
        "size": "Size tier",
        "gem": "GEM / non-GEM",
        "country": "Country",
        "content-mix": "Content mix",
        "award": "Award group",
    }
)
#: A content type must exceed this share of a member's works (``counts_type.all``) to name the
#: member's content mix; otherwise the mix is ``"mixed"``.
CONTENT_MIX_DOMINANCE = 0.6
MIXED = "mixed"
UNKNOWN = "unknown"
#: Minimum works (in the chosen type and period) in *both* snapshots to rank improvement.
MIN_WORKS = 100
Z95 = 1.96


# ---------------------------------------------------------------------------------------------
# Internal helpers (columnar: strings become integer codes, numbers numpy arrays; filtering a
# whole frame with string columns is the slow part of pandas, so it is avoided)
# ---------------------------------------------------------------------------------------------


def _eq(series: pd.Series, value: str) -> np.ndarray:
    return (series == value).to_numpy(dtype=bool, na_value=False)


def _num(frame: pd.DataFrame, col: str, rows: np.ndarray | None = None) -> np.ndarray:
    if col not in frame:
        return np.full(len(frame) if rows is None else len(rows), np.nan)
    values = pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    return values if rows is None else values[rows]


def _codes(series: pd.Series, rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes (−1 for missing) and the distinct values, for all rows or ``rows``."""
    part = series if rows is None else series.take(rows)
    codes, uniques = pd.factorize(part, sort=False, use_na_sentinel=True)
    return codes.astype(np.int64), np.asarray(uniques, dtype=object)


def _dense(*codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Dense group ids for rows keyed by several code arrays (−1 allowed), and one row per group.

    Groups are numbered in the order of their combined key, i.e. sorted by the first code array,
    then the second, and so on.
    """
    n_rows = len(codes[0])
    combined = np.zeros(n_rows, dtype=np.int64)
    span = 1
    for c in codes:
        size = int(c.max(initial=-1)) + 2
        combined = combined * size + (c + 1)
        span *= size
    if n_rows == 0:
        return combined, np.empty(0, dtype=np.int64)
    if span <= 4 * n_rows + 1_000_000:  # dense key space: count directly
        present = np.bincount(combined, minlength=span) > 0
        gid = (np.cumsum(present) - 1)[combined]
    else:
        _, gid = np.unique(combined, return_inverse=True)
    gid = gid.astype(np.int64, copy=False)
    representative = np.empty(int(gid.max()) + 1, dtype=np.int64)
    representative[gid] = np.arange(n_rows)  # any row of a group represents it
    return gid, representative


def _zero_nan(values: np.ndarray) -> np.ndarray:
    return np.where(np.isnan(values), 0.0, values)


def _sum(gid: np.ndarray, n_groups: int, values: np.ndarray) -> np.ndarray:
    return np.bincount(gid, weights=values, minlength=n_groups)


def _type_sums(gid: np.ndarray, n: int, cols: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per-group all-types figures from per-type rows (see :func:`with_all_types`)."""
    tot = _zero_nan(cols["total"])
    cov = cols["coverage"]
    usable = (tot > 0) & np.isfinite(cov)
    total = _sum(gid, n, tot)
    num = _sum(gid, n, np.where(usable, cov * tot, 0.0))
    den = _sum(gid, n, np.where(usable, tot, 0.0))
    out = {
        "covered": np.rint(_sum(gid, n, _zero_nan(cols["covered"]))).astype(np.int64),
        "total": np.rint(total).astype(np.int64),
        "ci_low": np.full(n, np.nan),
        "ci_high": np.full(n, np.nan),
        "same_source": np.ones(n, dtype=bool),
    }
    with np.errstate(invalid="ignore", divide="ignore"):
        out["coverage"] = np.where((den > 0) & (total > 0), num / den, np.nan)
        # Intervals: the work-weighted mean of the per-type bounds, only when every type with
        # works has one (sample rows); it bounds the stratified estimate conservatively.
        lo, hi = cols["ci_low"], cols["ci_high"]
        has_ci = (tot > 0) & np.isfinite(lo) & np.isfinite(hi)
        if has_ci.any():
            need = _sum(gid, n, (tot > 0).astype(float))
            ci_w = _sum(gid, n, np.where(has_ci, tot, 0.0))
            ok = (need > 0) & (_sum(gid, n, has_ci.astype(float)) == need) & (ci_w > 0)
            out["ci_low"] = np.where(ok, _sum(gid, n, np.where(has_ci, lo * tot, 0)) / ci_w, np.nan)
            out["ci_high"] = np.where(
                ok, _sum(gid, n, np.where(has_ci, hi * tot, 0)) / ci_w, np.nan
            )
    # The source agrees across a group iff n·Σs² == (Σs)².
    src = cols["source"]
    if len(src) and src.max() > 0:
        s = src.astype(float)
        s1 = _sum(gid, n, s)
        out["same_source"] = np.isclose(
            _sum(gid, n, s * s) * _sum(gid, n, np.ones_like(s)), s1 * s1
        )
    return out


def _from_codes(codes: np.ndarray, uniques: np.ndarray, like: pd.Series) -> pd.Series:
    """``uniques[codes]`` (−1 = missing) as a column in the dtype of ``like``.

    Taking from the few distinct values is much cheaper than taking from a long string column.
    """
    values = pd.Series([*uniques, None], dtype=like.dtype)
    codes = np.where(codes < 0, len(uniques), codes)
    return values.take(codes).reset_index(drop=True)


def _numeric_cols(frame: pd.DataFrame, rows: np.ndarray | None = None) -> dict[str, np.ndarray]:
    cols = {c: _num(frame, c, rows) for c in ("covered", "total", "coverage", "ci_low", "ci_high")}
    if "source" in frame:
        cols["source"], cols["source_names"] = _codes(frame["source"], rows)
    else:
        cols["source"] = np.zeros(len(cols["total"]), dtype=np.int64)
    return cols


def _constant(value: str, n: int, like: pd.Series) -> pd.Series:
    """``n`` copies of ``value`` in the dtype of ``like`` (object when it cannot hold it)."""
    one = pd.Series([value], dtype=like.dtype)
    if one.iloc[0] != value:
        one = pd.Series([value], dtype=object)
    return one.iloc[np.zeros(n, dtype=np.intp)].reset_index(drop=True)


def _check_period(period: str) -> None:
    if period not in PERIODS:
        raise ValueError(f"unknown period {period!r}; expected one of {', '.join(PERIODS)}")


def _check_metric(key: str) -> None:
    if key not in REGISTRY:
        raise UnknownMetricError(f"unknown metric {key!r}; valid keys are: {', '.join(REGISTRY)}")


def _metric_order(present: Iterable[str]) -> list[str]:
    """Registry order first, then any other metric strings in order of appearance."""
    present = list(dict.fromkeys(present))
    have = set(present)
    return [k for k in REGISTRY if k in have] + [k for k in present if k not in REGISTRY]


def _light(coverage: pd.DataFrame, rows: np.ndarray) -> pd.DataFrame:
    """The scoring columns of ``rows`` as a small frame (metric as a categorical)."""
    codes, names = _codes(coverage["metric"], rows)
    return pd.DataFrame(
        {
            "member_id": coverage["member_id"].to_numpy()[rows],
            "metric": pd.Categorical.from_codes(codes, categories=names),
            "covered": _num(coverage, "covered", rows),
            "total": _num(coverage, "total", rows),
            "coverage": _num(coverage, "coverage", rows),
        }
    )


def _derived_light(coverage: pd.DataFrame, rows: np.ndarray) -> pd.DataFrame:
    """All-types rows (light frame) derived from the per-type ``rows`` of one period."""
    member_codes, _ = _codes(coverage["member_id"], rows)
    metric_codes, names = _codes(coverage["metric"], rows)
    gid, rep = _dense(member_codes, metric_codes)
    sums = _type_sums(gid, len(rep), _numeric_cols(coverage, rows))
    return pd.DataFrame(
        {
            "member_id": coverage["member_id"].to_numpy()[rows][rep],
            "metric": pd.Categorical.from_codes(metric_codes[rep], categories=names),
            "covered": sums["covered"].astype(float),
            "total": sums["total"].astype(float),
            "coverage": sums["coverage"],
        }
    )


def _select(coverage: pd.DataFrame, content_type: str, period: str) -> pd.DataFrame:
    """Light frame of one content type (or ALL_TYPES, derived when absent) and one period."""
    _check_period(period)
    in_period = _eq(coverage["period"], period)
    is_all = _eq(coverage["content_type"], ALL_TYPES)
    if content_type == ALL_TYPES:
        chosen = in_period & is_all
        if chosen.any():
            return _light(coverage, np.flatnonzero(chosen))
        return _derived_light(coverage, np.flatnonzero(in_period & ~is_all))
    chosen = in_period & ~is_all & _eq(coverage["content_type"], content_type)
    return _light(coverage, np.flatnonzero(chosen))


# ---------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------


def with_all_types(coverage: pd.DataFrame) -> pd.DataFrame:
    """``coverage`` plus one ALL_TYPES row per member × period × metric.

    The all-types figure is the count-weighted mean over the member's types:
    ``Σ_t coverage_t · total_t / Σ_t total_t`` using the exact coverage floats (types with no
    works add nothing), with ``covered`` and ``total`` summed. This reproduces Crossref's flat
    ``coverage["<metric>-current"|"-backfile"]`` values. A member/period with no works at all
    gets ``total`` 0 and coverage NaN (not applicable). Sample rows keep an interval (the
    work-weighted mean of the per-type bounds); ``source`` is kept when all types agree, else
    ``"mixed"``. Existing ALL_TYPES rows are replaced.
    """
    is_all = _eq(coverage["content_type"], ALL_TYPES)
    base = coverage[~is_all].reset_index(drop=True) if is_all.any() else coverage
    if base.empty:
        return base.reset_index(drop=True)
    member_codes, _ = _codes(base["member_id"])
    period_codes, periods = _codes(base["period"])
    metric_codes, metrics = _codes(base["metric"])
    gid, rep = _dense(member_codes, period_codes, metric_codes)
    n = len(rep)
    cols = _numeric_cols(base)
    sums = _type_sums(gid, n, cols)
    extra = {
        "member_id": base["member_id"].to_numpy()[rep],
        "content_type": _constant(ALL_TYPES, n, base["content_type"]),
        "period": _from_codes(period_codes[rep], periods, base["period"]),
        "metric": _from_codes(metric_codes[rep], metrics, base["metric"]),
        "covered": sums["covered"],
        "total": sums["total"],
        "coverage": sums["coverage"],
    }
    if "source" in base:
        source = _from_codes(cols["source"][rep], cols["source_names"], base["source"])
        if not sums["same_source"].all():
            source = source.where(sums["same_source"], _constant("mixed", n, source))
        extra["source"] = source
    extra["ci_low"] = sums["ci_low"]
    extra["ci_high"] = sums["ci_high"]
    return pd.concat([base, pd.DataFrame(extra)], ignore_index=True)


def coverage_matrix(
    coverage: pd.DataFrame,
    content_type: str,
    period: str,
    metrics: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Member × metric coverage (fractions 0–1) for one content type (or ALL_TYPES) and period.

    Index ``member_id`` (sorted), columns in registry order (or the order of ``metrics``),
    float64. Not applicable (no works, or no row) is NaN, never 0. ``coverage`` is the tidy
    table of :data:`COVERAGE_SCHEMA`. Raises ``ValueError`` for an unknown period and
    :class:`~metrics.UnknownMetricError` for an unknown key in ``metrics``.
    """
    rows = _select(coverage, content_type, period)
    names = np.asarray(rows["metric"].cat.categories, dtype=object)
    if metrics is not None:
        columns = list(metrics)
        for key in columns:
            _check_metric(key)
    else:
        columns = _metric_order(names[np.unique(rows["metric"].cat.codes.to_numpy())])
    position = np.array([columns.index(k) if k in columns else -1 for k in names], dtype=np.int64)
    col = position[rows["metric"].cat.codes.to_numpy()] if len(names) else np.empty(0, np.int64)
    keep = col >= 0
    member_ids, member_idx = np.unique(rows["member_id"].to_numpy()[keep], return_inverse=True)
    values = rows["coverage"].to_numpy()[keep]
    values = np.where(rows["total"].to_numpy()[keep] > 0, values, np.nan)
    grid = np.full((len(member_ids), len(columns)), np.nan)
    grid[member_idx, col[keep]] = values
    return pd.DataFrame(
        grid,
        index=pd.Index(member_ids, name="member_id"),
        columns=pd.Index(columns, name="metric", dtype=object),
    )


def aggregate(
    coverage: pd.DataFrame,
    content_type: str,
    period: str,
    member_ids: Iterable[int] | None = None,
) -> pd.DataFrame:
    """Per-metric aggregates over members, both kinds, always labelled.

    Columns: ``doi_weighted`` (Σcovered / Σtotal: the share of all works), ``member_mean`` and
    ``member_median`` (the typical member; members with no works are left out), ``members``
    (members with works) and ``works`` (Σtotal; authors for the depth metric). Index
    ``metric`` in registry order. Coverage values are **fractions 0–1** (NaN without works).
    Raises ``ValueError`` for an unknown period.
    """
    rows = _select(coverage, content_type, period)
    if member_ids is not None:
        rows = rows[rows["member_id"].isin(list(member_ids))]
    rows = rows[(rows["total"].to_numpy() > 0) & np.isfinite(rows["coverage"].to_numpy())]
    grouped = rows.groupby("metric", sort=False, observed=True)
    covered = grouped["covered"].sum()
    total = grouped["total"].sum()
    out = pd.DataFrame(
        {
            "doi_weighted": covered / total,
            "member_mean": grouped["coverage"].mean(),
            "member_median": grouped["coverage"].median(),
            "members": grouped["coverage"].count().astype(np.int64),
            "works": total.astype(np.int64),
        }
    )
    out.index = pd.Index(out.index.astype(object), name="metric", dtype=object)
    return out.reindex(pd.Index(_metric_order(out.index), name="metric", dtype=object))


def composite(matrix: pd.DataFrame, weights: Mapping[str, float] | None = None) -> pd.Series:
    """Weighted mean of a member's available metrics (NaN = not applicable, skipped).

    Weights default to :data:`DEFAULT_WEIGHTS`; they are renormalised per member over the
    metrics that member has (non-NaN), so a metric that does not apply does not count against
    the member. NaN when none of the weighted metrics is available. ``matrix`` is
    :func:`coverage_matrix` (fractions 0–1); returns a float Series on its index, **fraction
    0–1**. Raises :class:`~metrics.UnknownMetricError` for an unknown weight key and
    ``ValueError`` for a negative or non-finite weight.
    """
    chosen = dict(DEFAULT_WEIGHTS if weights is None else weights)
    for key, weight in chosen.items():
        _check_metric(key)
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

    A Series named ``size_tier`` (object dtype) on the input's index; missing or negative
    counts give None.
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
    """Works per member in one type (or ALL_TYPES) and period (largest presence-metric total).

    A float Series named ``works``, index ``member_id``. Raises ``ValueError`` for an unknown
    period.
    """
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
