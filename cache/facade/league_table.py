"""Overview: the league table (server-side filter, sort, slice), its CSV, headline, distribution."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .export import to_csv
from .loader import view
from .roster import parse_member_id
from .views import View
from .vocab import metric_label

LEAGUE_BASE_COLUMNS = ["member_id", "name", "country", "size_tier", "gem", "works", "composite"]


@dataclass(frozen=True)
class LeagueFilter:
    """The overview's filters (all combined with AND; empty means no filter).

    ``country``: ISO 3166 alpha-3 codes; ``gem``: ``any`` | ``gem`` | ``non-gem`` (Crossref's
    Global Equitable Membership countries); ``tier``: size-tier labels; ``search``: a name
    substring or an exact member id; ``min_works``: at least this many works of the type and
    period.
    """

    country: tuple[str, ...] = ()
    gem: str = "any"  # any | gem | non-gem
    tier: tuple[str, ...] = ()
    search: str = ""
    min_works: int = 0


def league(
    content_type: str,
    period: str,
    flt: LeagueFilter | None = None,
    sort_model: Sequence[Mapping] | None = None,
    filter_model: Mapping | None = None,
) -> pd.DataFrame:
    """All members matching the filters, sorted (default: composite desc, N/A last).

    Rows of the view's table (index member_id; columns member_id, name, country, country_name,
    gem, size_tier, works, composite and one column per metric, **fractions 0–1**, NaN = N/A).
    ``sort_model``/``filter_model`` are AG Grid's. LookupError without a snapshot.
    """
    v = view(content_type, period)
    return v.table.iloc[league_positions(v, flt, sort_model, filter_model)]


def league_positions(
    v: View, flt: LeagueFilter | None = None, sort_model=None, filter_model=None
) -> np.ndarray:
    """Row positions in `v.table` of the matching members, in display order.

    Filtering is boolean masks over columns; ordering is one `np.lexsort` over key arrays (no
    frame is reordered), so a request costs a few milliseconds at 33k members.
    """
    t = v.table
    flt = flt or LeagueFilter()
    mask = np.ones(len(t), dtype=bool)
    if flt.country:
        mask &= t["country"].isin(flt.country).to_numpy()
    if flt.gem == "gem":
        mask &= t["gem"].to_numpy(dtype=bool)
    elif flt.gem == "non-gem":
        mask &= ~t["gem"].to_numpy(dtype=bool)
    if flt.tier:
        mask &= t["size_tier"].isin(flt.tier).to_numpy()
    if flt.min_works > 0:
        mask &= (t["works"] >= flt.min_works).to_numpy()
    if flt.search:
        q = flt.search.strip().lower()[:100]
        hit = t["name_lc"].str.contains(q, regex=False).to_numpy(dtype=bool)
        qid = parse_member_id(q)
        if qid is not None:
            hit = hit | (t["member_id"] == qid).to_numpy()
        mask &= hit
    if filter_model:
        mask &= _grid_mask(t, filter_model, v.metrics)
    positions = np.flatnonzero(mask)
    return positions[_order(v, positions, sort_model)]


_PCT_COLUMNS = {"composite"}
_TEXT_SORT = {"name": "name_rank", "country": None, "country_name": None, "size_tier": None}


def _grid_mask(t: pd.DataFrame, model: Mapping, keys: list[str]) -> np.ndarray:
    """AG Grid column filter model (text and number filters) as a mask, applied on the server."""
    allowed = set(LEAGUE_BASE_COLUMNS) | set(keys) | {"country_name"}
    out = np.ones(len(t), dtype=bool)
    if not isinstance(model, Mapping):
        return out
    for col, spec in model.items():
        if col not in allowed or not isinstance(spec, Mapping):
            continue
        conds = spec.get("conditions") if isinstance(spec.get("conditions"), list) else [spec]
        op = str(spec.get("operator", "AND")).upper()
        masks = [
            _cond_mask(t, col, c, pct=col in keys or col in _PCT_COLUMNS)
            for c in conds
            if isinstance(c, Mapping)
        ]
        masks = [np.asarray(m, dtype=bool) for m in masks if m is not None]
        if not masks:
            continue
        combined = masks[0]
        for m in masks[1:]:
            combined = (combined | m) if op == "OR" else (combined & m)
        out &= combined
    return out


def _cond_mask(df: pd.DataFrame, col: str, cond: Mapping, pct: bool):
    kind = cond.get("filterType")
    typ = cond.get("type")
    series = df[col]
    if kind == "text":
        val = str(cond.get("filter") or "").lower()[:200]
        s = series.astype(str).str.lower()
        ops = {
            "contains": lambda: s.str.contains(val, regex=False),
            "notContains": lambda: ~s.str.contains(val, regex=False),
            "equals": lambda: s == val,
            "notEqual": lambda: s != val,
            "startsWith": lambda: s.str.startswith(val),
            "endsWith": lambda: s.str.endswith(val),
            "blank": lambda: s.str.strip() == "",
            "notBlank": lambda: s.str.strip() != "",
        }
        return ops[typ]().to_numpy(dtype=bool) if typ in ops else None
    if kind == "number":

        def num(x):
            try:
                f = float(x)
            except (TypeError, ValueError):
                return None
            if not math.isfinite(f):
                return None
            return f / 100.0 if pct else f

        a, b = num(cond.get("filter")), num(cond.get("filterTo"))
        s = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)
        if typ == "blank":
            return np.isnan(s)
        if typ == "notBlank":
            return ~np.isnan(s)
        if a is None:
            return None
        eps = 1e-9 if not pct else 0.0005
        with np.errstate(invalid="ignore"):
            ops = {
                "equals": lambda: np.abs(s - a) <= eps,
                "notEqual": lambda: ~(np.abs(s - a) <= eps),
                "greaterThan": lambda: s > a,
                "greaterThanOrEqual": lambda: s >= a - eps,
                "lessThan": lambda: s < a,
                "lessThanOrEqual": lambda: s <= a + eps,
                "inRange": lambda: (s >= a) & (s <= (b if b is not None else a)),
            }
            return ops[typ]() if typ in ops else None
    return None


def _sort_key(v: View, col: str) -> np.ndarray:
    """A numeric array that sorts like column `col` (text columns: cached rank codes)."""
    t = v.table
    if col in _TEXT_SORT:
        rank_col = _TEXT_SORT[col]
        if rank_col:
            return t[rank_col].to_numpy(dtype=float)
        return v.cached(
            ("sortkey", col),
            lambda: t[col].astype(str).str.lower().rank(method="dense").to_numpy(dtype=float),
        )
    if col == "gem":
        return t["gem"].to_numpy(dtype=float)
    return t[col].to_numpy(dtype=float)


def _order(v: View, positions: np.ndarray, sort_model: Sequence[Mapping] | None) -> np.ndarray:
    allowed = set(LEAGUE_BASE_COLUMNS) | set(v.metrics) | {"country_name", "total_dois"}
    items = []
    for item in sort_model if isinstance(sort_model, list | tuple) else ():
        if (
            isinstance(item, Mapping)
            and item.get("colId") in allowed
            and item.get("sort") in ("asc", "desc")
        ):
            items.append((item["colId"], item["sort"] == "asc"))
    if not items:
        items = [("composite", False), ("works", False)]
    keys: list[np.ndarray] = [v.table["member_id"].to_numpy()[positions]]  # final tie-break
    for col, asc in reversed(items):
        vals = _sort_key(v, col)[positions]
        nan = np.isnan(vals)
        vals = np.where(nan, 0.0, vals if asc else -vals)
        keys.append(vals)
        keys.append(nan)  # N/A last whatever the direction
    return np.lexsort(keys)


def league_page(
    content_type: str,
    period: str,
    flt: LeagueFilter | None,
    start: int,
    end: int,
    sort_model=None,
    filter_model=None,
) -> tuple[list[dict], int]:
    """One block of rows for the AG Grid infinite row model, plus the total row count.

    Rows ``start``…``end`` (at most 500) of :func:`league` as :func:`records` (percent 0–100);
    the count is of all matching members. LookupError without a snapshot.
    """
    v = view(content_type, period)
    pos = league_positions(v, flt, sort_model, filter_model)
    start = max(0, int(start))
    end = max(start, min(int(end), start + 500))
    return records(v.table.iloc[pos[start:end]], v.metrics), len(pos)


def records(df: pd.DataFrame, keys: Sequence[str]) -> list[dict]:
    """Grid rows: JSON-safe, percentages as 0–100 rounded to 0.1, N/A as None."""
    cols = [c for c in [*LEAGUE_BASE_COLUMNS, "country_name", *keys] if c in df.columns]
    arrays = {}
    for c in cols:
        col = df[c]
        if c in keys or c == "composite":
            vals = np.round(col.to_numpy(dtype=float) * 100, 1)
            arrays[c] = [None if math.isnan(x) else float(x) for x in vals]
        elif c == "gem":
            arrays[c] = [bool(x) for x in col.to_numpy()]
        elif c in ("member_id", "works"):
            arrays[c] = [int(x) for x in col.to_numpy()]
        else:
            arrays[c] = [str(x) for x in col.to_numpy(dtype=object)]
    return [{c: arrays[c][i] for c in cols} for i in range(len(df))]


def league_csv(
    content_type: str, period: str, flt: LeagueFilter | None, sort_model=None, filter_model=None
) -> str:
    """CSV text of every matching member (not one grid block), in the grid's sort order.

    Columns: member_id, name, country, country_name, gem, size_tier, works, then
    ``composite (%)`` and one ``<metric label> (%)`` per metric: **percent 0–100** rounded to
    0.01, N/A empty. ``sort_model``/``filter_model`` are AG Grid's models. Text cells are
    formula-guarded (:func:`cache.store.csvsafe.frame_csv`). LookupError without a snapshot.
    """
    v = view(content_type, period)
    df = league(content_type, period, flt, sort_model, filter_model)
    cols = [
        "member_id",
        "name",
        "country",
        "country_name",
        "gem",
        "size_tier",
        "works",
        "composite",
        *v.metrics,
    ]
    out = df[cols].copy()
    for k in ["composite", *v.metrics]:
        out[k] = (out[k].astype(float) * 100).round(2)
    rename = {k: f"{metric_label(k)} (%)" for k in v.metrics}
    rename["composite"] = "composite (%)"
    out = out.rename(columns=rename)
    return to_csv(out)


def headline(content_type: str, period: str) -> dict:
    """Overview headline for one type and period.

    ``members`` (all members, int), ``scored`` (members with works of this type and period),
    ``works`` (their works, int) and ``agg`` (:func:`metrics.scoring.aggregate`: index metric,
    columns doi_weighted, member_mean, member_median…, **fractions 0–1**).
    """
    v = view(content_type, period)
    scored = int((v.works > 0).sum())
    return {"members": len(v.table), "scored": scored, "works": int(v.works.sum()), "agg": v.agg}


def distribution(content_type: str, period: str) -> pd.DataFrame:
    """Box statistics per metric over members with works (member-level), in percent.

    Index metric; columns n, min, q1, median, q3, max, lowerfence, upperfence (Tukey 1.5 IQR),
    mean, at_zero (share of members at 0 %). Summaries, so the chart ships a few numbers per metric
    instead of one point per member.
    """
    v = view(content_type, period)

    def compute():
        active = v.works.reindex(v.matrix.index).fillna(0).to_numpy() > 0
        rows = {}
        for k in v.metrics:
            x = v.matrix[k].to_numpy(dtype=float)[active]
            x = x[np.isfinite(x)] * 100
            if len(x) == 0:
                continue
            q1, med, q3 = np.percentile(x, [25, 50, 75])
            iqr = q3 - q1
            lo = x[x >= q1 - 1.5 * iqr].min()
            hi = x[x <= q3 + 1.5 * iqr].max()
            rows[k] = {
                "n": len(x),
                "min": x.min(),
                "q1": q1,
                "median": med,
                "q3": q3,
                "max": x.max(),
                "lowerfence": lo,
                "upperfence": hi,
                "mean": x.mean(),
                "at_zero": float((x == 0).mean()),
            }
        return pd.DataFrame.from_dict(rows, orient="index")

    return v.cached("distribution", compute)
