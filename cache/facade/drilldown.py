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
                "reason",
            ]
            df = pd.DataFrame([{c: r.get(c) for c in cols} for r in rows], columns=cols)
            for c in ("covered", "total"):
                df[c] = pd.to_numeric(df[c], errors="coerce").fillna(0).astype("int64")
            for c in ("coverage", "ci_low", "ci_high"):
                df[c] = pd.to_numeric(df[c], errors="coerce").astype(float)
            for c in ("content_type", "period", "metric", "source", "reason"):
                df[c] = df[c].astype(object).where(df[c].notna(), "").astype(str)
            return df

        return self._cached("coverage", compute)

    def metric_table(
        self, content_type: str, period: str, keys: Iterable[str] = WORK_LEVEL_KEYS
    ) -> pd.DataFrame:
        """One row per metric (registry order) for a content type and period.

        Columns: metric, label, family, status ("measured" | "estimate" | "not measured" | "n/a"),
        source, value (0–1 or NaN), covered, total, ci_low, ci_high, text (what to show),
        reason (Crossref's message when it rejected the request, else ""). Exact shares divide a
        ``/works`` filter count by the ``/works`` total of the same type and period.
        """
        cov = self.coverage()
        works_total = self.totals(content_type, period)
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
                "reason": "",
            }
            if g is not None and len(g):
                # exact counts win over a sample of the same metric
                g = g.sort_values(
                    "source", key=lambda s: s.map({"filter": 0, "sample": 1}).fillna(2)
                )
                r = g.iloc[0]
                total, covered = int(r["total"]), int(r["covered"])
                row.update(source=r["source"], covered=covered, total=total)
                if r["source"] == "not-measured":
                    reason = r["reason"] or "Crossref rejected the request"
                    row.update(
                        covered=None, total=None, reason=reason, text=f"not measured: {reason}"
                    )
                elif total <= 0:
                    summary = works_total["summary"] if works_total else 0
                    text = "— (no works)"
                    if r["source"] == "filter" and summary > 0:
                        text = f"— (/works finds no works; the member summary counts {summary:,})"
                    row.update(status="n/a", text=text)
                elif r["source"] == "sample":
                    value = covered / total
                    unit = f" {m.unit}"  # what the denominator counts (registry)
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

    def totals(self, content_type: str, period: str) -> dict | None:
        """``{"works", "summary", "agree", "error"}`` for a type and period: the ``/works``
        ``rows=0`` total (None when Crossref rejected it), the member summary's
        ``counts-type`` total, whether they agree within rounding (see
        :func:`cache.jobs.drilldown.totals_agree`) and Crossref's reason for a rejection; None
        when this drill-down did not measure that type (or predates the totals)."""
        for r in self.doc.get("totals") or []:
            if (
                isinstance(r, Mapping)
                and r.get("content_type") == content_type
                and r.get("period") == period
            ):
                works = r.get("works")
                return {
                    "works": int(works) if isinstance(works, int | float) else None,
                    "summary": int(r.get("summary") or 0),
                    "agree": bool(r.get("agree")),
                    "error": str(r["error"]) if r.get("error") else None,
                }
        return None

    def totals_note(self, content_type: str, period: str) -> str | None:
        """A sentence for the page when the member summary and ``/works`` disagree on how many
        works of this type and period there are (None when they agree or were not compared)."""
        t = self.totals(content_type, period)
        if t is None or t["agree"] or t["works"] is None:
            return None
        return (
            f"Crossref's member summary counts {t['summary']:,} works of this type "
            f"{self.period_text(period)}, but /works finds {t['works']:,}. Exact shares here "
            "divide /works counts by the /works total, so they are not computed across the two "
            "sources and may not match the summary's figures above."
        )

    def failures(self) -> list[dict]:
        """Requests Crossref rejected (400): ``[{kind, metric, content_type, period, reason}]``
        (``reason`` is Crossref's own message)."""
        return [dict(f) for f in self.doc.get("failures") or [] if isinstance(f, Mapping)]

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

    def gap_types(self) -> list[str]:
        """Content types that have gap lists (the measured types with works in the gap period;
        a result saved before per-type lists: its largest type)."""
        seen: list[str] = []
        for g in (self.doc.get("gaps") or {}).values():
            if isinstance(g, Mapping) and isinstance(g.get("by_type"), Mapping):
                seen += [t for t in g["by_type"] if t not in seen]
        if not seen and self.gap_metrics():
            return self.types[:1]
        return [t for t in self.types if t in seen] + [t for t in seen if t not in self.types]

    def gap(self, key: str, content_type: str | None = None) -> dict:
        """One metric's DOIs to fix: ``{missing, capped, shown, error, rows: [{DOI, title, type,
        year}]}`` for ``content_type`` (None: every listed type together). ``missing`` counts
        the works without the element (Crossref's ``total-results`` of the ``has-…:false``
        list; None when unknown), ``rows`` the listed ones (up to the cap); ``error`` is
        Crossref's reason when it rejected the request. Read-only."""
        return self._cached(("gap", key, content_type), lambda: self._gap(key, content_type))

    def _gap(self, key: str, content_type: str | None) -> dict:
        g = (self.doc.get("gaps") or {}).get(key)
        if not isinstance(g, Mapping):
            return {"missing": None, "capped": False, "shown": 0, "rows": [], "error": None}
        by_type = g.get("by_type") if isinstance(g.get("by_type"), Mapping) else None
        part: Mapping = g
        if content_type is not None and by_type is not None:
            part = by_type.get(content_type) or {}
            if not isinstance(part, Mapping):
                part = {}
        error = part.get("error") if content_type is not None else g.get("error")
        rows = []
        for item in g.get("dois") or []:
            if not isinstance(item, Mapping):
                continue
            if (
                content_type is not None
                and by_type is not None
                and item.get("type") != content_type
            ):
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
            missing: int | None = int(part.get("missing"))
        except (TypeError, ValueError):
            missing = None if error or part is not g else len(rows)
        return {
            "missing": missing,
            "capped": bool(part.get("capped")),
            "shown": len(rows),
            "rows": rows,
            "error": str(error) if error else None,
        }

    def gaps_csv(self, key: str, content_type: str | None = None) -> str:
        """The DOIs lacking ``key`` (of ``content_type``; None = all listed types) as CSV:
        ``metric, doi, title, type, issued_year``, one row per DOI (text cells
        formula-guarded)."""
        rows = [
            [key, r["DOI"], r["title"], r["type"], r["year"] or ""]
            for r in self.gap(key, content_type)["rows"]
        ]
        return csv_text(["metric", "doi", "title", "type", "issued_year"], rows)

    def dois_to_fix(self) -> pd.DataFrame:
        """Every listed DOI that lacks at least one element, once: columns ``doi, title, type,
        issued_year`` (int or None) and ``missing`` (the metric labels it lacks, registry order,
        joined with "; "), sorted by type, year and DOI. Covers the gap period and the measured
        types; a capped gap list contributes only its listed DOIs (see :meth:`gap`)."""

        def compute():
            by_doi: dict[str, dict] = {}
            for key in self.gap_metrics():
                for r in self.gap(key)["rows"]:
                    if not r["DOI"]:
                        continue
                    entry = by_doi.setdefault(
                        r["DOI"].casefold(),
                        {
                            "doi": r["DOI"],
                            "title": r["title"],
                            "type": r["type"],
                            "issued_year": r["year"],
                            "keys": [],
                        },
                    )
                    if key not in entry["keys"]:
                        entry["keys"].append(key)
            rows = [
                {
                    **{k: v for k, v in e.items() if k != "keys"},
                    "missing": "; ".join(map(label, e["keys"])),
                }
                for e in by_doi.values()
            ]
            cols = ["doi", "title", "type", "issued_year", "missing"]
            df = pd.DataFrame(rows, columns=cols)
            order = df.assign(_y=df["issued_year"].fillna(0))
            return df.loc[order.sort_values(["type", "_y", "doi"]).index].reset_index(drop=True)

        return self._cached("dois_to_fix", compute)

    def dois_to_fix_csv(self) -> str:
        """:meth:`dois_to_fix` as CSV (``doi, title, type, issued_year, missing``; one row per
        DOI; text cells formula-guarded; years as integers)."""
        df = self.dois_to_fix()
        rows = [
            [
                r.doi,
                r.title,
                r.type,
                ""
                if r.issued_year is None or r.issued_year != r.issued_year
                else int(r.issued_year),
                r.missing,
            ]
            for r in df.itertuples()
        ]
        return csv_text(["doi", "title", "type", "issued_year", "missing"], rows)

    def any_gap_capped(self) -> bool:
        """True when some gap list holds fewer DOIs than the works it counts (the cap)."""
        return any(self.gap(k)["capped"] for k in self.gap_metrics())

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


def drilldown_csv(member_id: Any, key: str, content_type: str | None = None) -> str | None:
    """CSV of the DOIs lacking metric ``key`` (of ``content_type``; None = every listed type)
    from the member's saved drill-down, or None (no drill-down, no such gap list)."""
    dd = drilldown(member_id)
    if dd is None or key not in dd.gap_metrics():
        return None
    return dd.gaps_csv(key, content_type)


def dois_to_fix_csv(member_id: Any) -> str | None:
    """The member's one CSV of DOIs to fix (``doi, title, type, issued_year, missing``; see
    :meth:`Drilldown.dois_to_fix`), or None when no drill-down is saved."""
    dd = drilldown(member_id)
    return None if dd is None else dd.dois_to_fix_csv()
