"""The member drill-down as pages read it: the saved result of `cache.jobs.drilldown`.

`drilldown(member_id)` reads `drilldown/member-<id>.json` through `cache.store.drilldowns`
(memoised on the file's mtime) and wraps it in a `Drilldown` whose methods give pages
ready-to-show frames. Running one is a job (`cache.jobs.drilldown.run`), started by the member
page's background callback or the CLI; this module never writes.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

import metrics
from cache.store import drilldowns
from cache.store.csvsafe import csv_text
from metrics import scoring

from .export import estimate_text
from .loader import data_dir
from .roster import parse_member_id

logger = logging.getLogger(__name__)

#: Registry metrics the member summary does not carry: only a drill-down measures them.
WORK_LEVEL_KEYS: tuple[str, ...] = tuple(
    k for k, m in metrics.REGISTRY.items() if not m.coverage_key
)

_memo_lock = threading.Lock()
_memo: dict[str, tuple[tuple[int, int], Drilldown]] = {}  # file path → ((mtime_ns, size), result)
_MEMO_MAX = 32


def label(key: str) -> str:
    try:
        return metrics.get(key).label
    except KeyError:
        return str(key)


def _num(x: Any) -> float:
    try:
        f = float(x)
    except (TypeError, ValueError):
        return math.nan
    return f if math.isfinite(f) else math.nan


@dataclass
class Drilldown:
    """A saved drill-down result (from `cache.jobs.drilldown.drill_down`) with query helpers."""

    doc: dict
    _cache: dict = field(default_factory=dict, repr=False)

    # -- facts ---------------------------------------------------------------------------------
    @property
    def member_id(self) -> int:
        return int(self.doc.get("member_id") or 0)

    @property
    def created(self) -> str:
        return str(self.doc.get("created") or "")

    @property
    def types(self) -> list[str]:
        return [str(t) for t in self.doc.get("types") or [] if isinstance(t, str)]

    @property
    def current_year(self) -> int | None:
        y = self.doc.get("current_year")
        return int(y) if isinstance(y, int | float) and not isinstance(y, bool) else None

    @property
    def gap_period(self) -> str:
        p = self.doc.get("gap_period")
        return p if p in scoring.PERIODS else "current"

    @property
    def gap_cap(self) -> int:
        try:
            return int(self.doc.get("gap_cap") or 0)
        except (TypeError, ValueError):
            return 0

    @property
    def requests(self) -> int:
        try:
            return int(self.doc.get("requests") or 0)
        except (TypeError, ValueError):
            return 0

    @property
    def duration_s(self) -> float:
        d = _num(self.doc.get("duration_s"))
        return 0.0 if math.isnan(d) else d

    def period_text(self, period: str) -> str:
        """The years of a period ('2024–2026', 'up to 2023', 'in any year') for the result."""
        y = self.current_year
        if y is None:
            return {"current": "in the last 3 years", "backfile": "before the last 3 years"}.get(
                period, "in any year"
            )
        return {"current": f"{y - 2}–{y}", "backfile": f"up to {y - 3}"}.get(period, "in any year")

    # -- coverage rows -------------------------------------------------------------------------
    def coverage(self) -> pd.DataFrame:
        def compute():
            rows = [r for r in self.doc.get("coverage") or [] if isinstance(r, Mapping)]
            cols = [
                "content_type",
                "period",
                "metric",
                "covered",
                "total",
                "coverage",
                "source",
                "ci_low",
                "ci_high",
            ]
            df = pd.DataFrame([{c: r.get(c) for c in cols} for r in rows], columns=cols)
            for c in ("covered", "total"):
                df[c] = pd.to_numeric(df[c], errors="coerce").fillna(0).astype("int64")
            for c in ("coverage", "ci_low", "ci_high"):
                df[c] = pd.to_numeric(df[c], errors="coerce").astype(float)
            for c in ("content_type", "period", "metric", "source"):
                df[c] = df[c].astype(object).where(df[c].notna(), "").astype(str)
            return df

        return self._cached("coverage", compute)

    def metric_table(
        self, content_type: str, period: str, keys: Iterable[str] = WORK_LEVEL_KEYS
    ) -> pd.DataFrame:
        """One row per metric (registry order) for a content type and period.

        Columns: metric, label, family, status ("measured" | "estimate" | "not measured" | "n/a"),
        source, value (0–1 or NaN), covered, total, ci_low, ci_high, text (what to show).
        """
        cov = self.coverage()
        sub = cov[(cov["content_type"] == content_type) & (cov["period"] == period)]
        by_metric = dict(list(sub.groupby("metric", sort=False)))
        rows = []
        for k in keys:
            m = metrics.REGISTRY.get(k)
            if m is None:
                continue
            g = by_metric.get(k)
            row = {
                "metric": k,
                "label": m.label,
                "family": m.family_label,
                "status": "not measured",
                "source": "",
                "value": math.nan,
                "covered": None,
                "total": None,
                "ci_low": math.nan,
                "ci_high": math.nan,
                "text": "not measured",
            }
            if g is not None and len(g):
                # exact counts win over a sample of the same metric
                g = g.sort_values(
                    "source", key=lambda s: s.map({"filter": 0, "sample": 1}).fillna(2)
                )
                r = g.iloc[0]
                total, covered = int(r["total"]), int(r["covered"])
                row.update(source=r["source"], covered=covered, total=total)
                if total <= 0:
                    row.update(status="n/a", text="— (no works)")
                elif r["source"] == "sample":
                    value = covered / total
                    unit = " authors" if m.kind == "depth" else " works"
                    row.update(
                        status="estimate",
                        value=value,
                        ci_low=_num(r["ci_low"]),
                        ci_high=_num(r["ci_high"]),
                        text=estimate_text(
                            value, _num(r["ci_low"]), _num(r["ci_high"]), total, unit
                        ),
                    )
                else:
                    value = covered / total
                    row.update(
                        status="measured",
                        value=value,
                        text=f"{value * 100:.1f} % ({covered:,} of {total:,} works)",
                    )
            rows.append(row)
        return pd.DataFrame(rows)

    # -- per-year coverage ----------------------------------------------------------------------
    def years(self) -> pd.DataFrame:
        """year, metric, label, covered, total, coverage (0–1): all content types together."""

        def compute():
            rows = []
            for r in self.doc.get("years") or []:
                if not isinstance(r, Mapping):
                    continue
                try:
                    year, covered, total = int(r["year"]), int(r["covered"]), int(r["total"])
                except (KeyError, TypeError, ValueError):
                    continue
                if total <= 0:
                    continue
                rows.append(
                    {
                        "year": year,
                        "metric": str(r.get("metric") or ""),
                        "covered": covered,
                        "total": total,
                    }
                )
            df = pd.DataFrame(rows, columns=["year", "metric", "covered", "total"])
            df = df[df["metric"].isin(list(metrics.REGISTRY))]
            df["label"] = df["metric"].map(label)
            df["coverage"] = df["covered"] / df["total"]
            return df.sort_values(["metric", "year"]).reset_index(drop=True)

        return self._cached("years", compute)

    def year_metrics(self) -> list[str]:
        present = set(self.years()["metric"])
        return [k for k in metrics.REGISTRY if k in present]

    # -- gap lists -----------------------------------------------------------------------------
    def gap_metrics(self) -> list[str]:
        gaps = self.doc.get("gaps") or {}
        return [k for k in metrics.REGISTRY if isinstance(gaps.get(k), Mapping)]

    def gap(self, key: str) -> dict:
        """{missing, capped, shown, rows: [{DOI, title, type, year}]} for one metric (read-only)."""
        return self._cached(("gap", key), lambda: self._gap(key))

    def _gap(self, key: str) -> dict:
        g = (self.doc.get("gaps") or {}).get(key)
        if not isinstance(g, Mapping):
            return {"missing": None, "capped": False, "shown": 0, "rows": []}
        rows = []
        for item in g.get("dois") or []:
            if not isinstance(item, Mapping):
                continue
            year = item.get("year")
            rows.append(
                {
                    "DOI": str(item.get("DOI") or ""),
                    "title": str(item.get("title") or ""),
                    "type": str(item.get("type") or ""),
                    "year": int(year)
                    if isinstance(year, int) and not isinstance(year, bool)
                    else None,
                }
            )
        try:
            missing = int(g.get("missing"))
        except (TypeError, ValueError):
            missing = len(rows)
        return {
            "missing": missing,
            "capped": bool(g.get("capped")),
            "shown": len(rows),
            "rows": rows,
        }

    def gaps_csv(self, key: str) -> str:
        """The DOIs lacking ``key`` as CSV: ``metric, doi, title, type, issued_year``, one row per
        DOI (text cells formula-guarded)."""
        rows = [
            [key, r["DOI"], r["title"], r["type"], r["year"] or ""] for r in self.gap(key)["rows"]
        ]
        return csv_text(["metric", "doi", "title", "type", "issued_year"], rows)

    def _cached(self, key, fn):
        if key not in self._cache:
            self._cache[key] = fn()
        return self._cache[key]


def drilldown_keys() -> tuple[str, ...]:
    """The registry metrics only a drill-down measures (the member summary has no key for them)."""
    return WORK_LEVEL_KEYS


def drilldown(member_id: Any) -> Drilldown | None:
    """The saved drill-down of a member, or None (never saved, unreadable, or another member's)."""
    mid = parse_member_id(member_id)
    if mid is None:
        return None
    path = drilldowns.path(data_dir(), mid)
    try:
        st = path.stat()
    except OSError:
        return None
    stamp = (st.st_mtime_ns, st.st_size)
    with _memo_lock:
        hit = _memo.get(str(path))
        if hit is not None and hit[0] == stamp:
            return hit[1]
    try:
        doc = drilldowns.load(data_dir(), mid)
    except (OSError, ValueError):
        logger.exception("reading the work-level result of member %s failed", mid)
        return None
    if not isinstance(doc, dict) or parse_member_id(doc.get("member_id")) != mid:
        return None
    dd = Drilldown(doc)
    with _memo_lock:
        if len(_memo) >= _MEMO_MAX:
            _memo.clear()
        _memo[str(path)] = (stamp, dd)
    return dd


def drilldown_csv(member_id: Any, key: str) -> str | None:
    dd = drilldown(member_id)
    if dd is None or key not in dd.gap_metrics():
        return None
    return dd.gaps_csv(key)
