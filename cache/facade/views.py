"""The scored view: everything scored for one (snapshot, content type, period), built once.

`build_view` is pure (a loaded snapshot in, a `View` out); `SnapshotCache.view` in
`cache/facade/loader.py` keeps the few most recently used views per process (LRU, bounded by
`Settings.view_cache_size`), so a callback only filters, sorts and slices frames that exist.

Units: every coverage value in a View is a **fraction 0–1** (NaN = not applicable); pages turn
fractions into text with `cache.facade.export.pct`.
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from metrics import scoring

if TYPE_CHECKING:
    from .loader import Loaded

#: Derived results kept per view (`View.cached`), least recently used dropped first.
VIEW_MEMO_SIZE = 32

#: Member columns every view's `table` carries (shared with the members frame, not copied).
TABLE_MEMBER_COLUMNS = (
    "member_id",
    "name",
    "country",
    "country_name",
    "gem",
    "size_tier",
    "total_dois",
    "name_lc",
    "name_rank",
)


_MISSING = object()


@dataclass
class View:
    """Everything scored for one (snapshot, content type, period). Built once, read many times.

    Frames are indexed by ``member_id``. ``matrix``: member × metric coverage, fractions 0–1 as
    float32, NaN = N/A; ``covered``/``total``: member × metric counts (int32, 0 where the member
    has no row). ``works``: the member's works in this type/period (int64, every member).
    ``composite``: the default-weight composite (fraction 0–1, float64, NaN without data).
    ``table``: every member: `TABLE_MEMBER_COLUMNS` + works + composite + one float32 column per
    metric. ``agg``: index metric; doi_weighted, member_mean, member_median (fractions 0–1),
    members, works. ``estimates``: sample-based rows, index (member_id, metric): covered, total
    (the sample), ci_low, ci_high (fractions; NaN when several rows were combined), rows.
    """

    snapshot_id: str
    content_type: str
    period: str
    metrics: list[str]
    matrix: pd.DataFrame
    covered: pd.DataFrame
    total: pd.DataFrame
    works: pd.Series
    composite: pd.Series
    table: pd.DataFrame
    agg: pd.DataFrame
    estimates: pd.DataFrame | None = None
    _memo: OrderedDict = field(default_factory=OrderedDict, repr=False)

    def cached(self, key: Any, fn: Callable[[], Any]) -> Any:
        """`fn()` computed once per key for this view; dropped with the view (or LRU, past
        `VIEW_MEMO_SIZE` keys). Not locked: two racing callers may both compute, one result wins.
        """
        hit = self._memo.get(key, _MISSING)
        if hit is not _MISSING:
            with contextlib.suppress(KeyError):  # evicted meanwhile by a racing caller
                self._memo.move_to_end(key)
            return hit
        value = fn()
        self._memo[key] = value
        while len(self._memo) > VIEW_MEMO_SIZE:
            self._memo.popitem(last=False)
        return value


def slice_coverage(cov: pd.DataFrame, content_type: str, period: str) -> pd.DataFrame:
    """The tidy coverage rows of one content type (or ALL_TYPES, derived when absent) and period.

    `cov` has the coverage columns (at least member_id, content_type, period, metric, covered,
    total, coverage: fractions 0–1); the result has the same columns, text as plain objects.
    """
    sub = cov[(cov["period"] == period).to_numpy()]
    if content_type != scoring.ALL_TYPES:
        sub = sub[(sub["content_type"] == content_type).to_numpy()]
    if content_type == scoring.ALL_TYPES:
        if not (sub["content_type"] == scoring.ALL_TYPES).any():
            sub = scoring.with_all_types(sub)
        sub = sub[(sub["content_type"] == scoring.ALL_TYPES).to_numpy()]
    return sub


def estimates(samples: pd.DataFrame, content_type: str, period: str) -> pd.DataFrame | None:
    """The sample-based rows of one type/period (all-types: every type's, combined per metric).

    `samples` holds only rows with a finite confidence interval (`Loaded.samples`); None when
    none falls in this type/period.
    """
    if samples.empty:
        return None
    mask = (samples["period"] == period).to_numpy()
    if content_type != scoring.ALL_TYPES:
        mask = mask & (samples["content_type"] == content_type).to_numpy()
    if not mask.any():
        return None
    est = samples.loc[mask, ["member_id", "metric", "covered", "total", "ci_low", "ci_high"]]
    est = est.astype({"metric": str})
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
    out.loc[out["rows"] > 1, ["ci_low", "ci_high"]] = np.nan
    return out


def _count_grids(
    sub: pd.DataFrame, index: pd.Index, keys: list[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """member × metric sums of `covered` and `total` over `sub` (int32; 0 where the member has
    no row: N/A is carried by the coverage matrix)."""
    rows = index.get_indexer(sub["member_id"].to_numpy())
    codes, names = pd.factorize(sub["metric"], use_na_sentinel=True)
    position = pd.Index(keys).get_indexer(pd.Index(np.asarray(names, dtype=object)))
    cols = np.where(codes >= 0, position[codes] if len(position) else -1, -1)
    keep = (rows >= 0) & (cols >= 0)
    grids = []
    for name in ("covered", "total"):
        grid = np.zeros((len(index), len(keys)), dtype=np.int64)
        np.add.at(grid, (rows[keep], cols[keep]), sub[name].to_numpy(dtype=np.int64)[keep])
        grids.append(pd.DataFrame(grid.astype(np.int32), index=index, columns=keys))
    return grids[0], grids[1]


def build_view(snap: Loaded, content_type: str, period: str) -> View:
    """Score one (content type, period) of a loaded snapshot: the matrices, composite, table, agg.

    Pure and uncached (the bench's naive baseline calls it per request); the facade goes
    through `SnapshotCache.view`. Raises ValueError for an unknown period.
    """
    keys = list(snap.metric_keys)
    sub = slice_coverage(snap.coverage, content_type, period)
    matrix = scoring.coverage_matrix(sub, content_type, period, metrics=keys).astype(np.float32)
    covered, total = _count_grids(sub, matrix.index, keys)
    m = snap.members
    works = total.max(axis=1).reindex(m.index).fillna(0).astype("int64")
    works.index.name = "member_id"
    weights = {k: w for k, w in scoring.DEFAULT_WEIGHTS.items() if k in keys and w}
    comp = scoring.composite(matrix, weights).astype(float)
    mat = matrix.reindex(m.index)
    numeric = pd.DataFrame({k: mat[k].to_numpy() for k in keys}, index=m.index)
    numeric.insert(0, "works", works.to_numpy())
    numeric.insert(1, "composite", comp.reindex(m.index).to_numpy())
    # member columns are shared with the members frame (copy-on-write: no copy is made)
    table = pd.concat([m[list(TABLE_MEMBER_COLUMNS)], numeric], axis=1)
    agg = scoring.aggregate(sub, content_type, period).reindex(keys)
    return View(
        snap.id,
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
        estimates(snap.samples, content_type, period),
    )
