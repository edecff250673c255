"""Work-level drill-down for one member: what the member summary cannot give.

Four kinds of list request, all through :class:`~cache.crossref.client.CrossrefClient` (paced to the
list limits, retried, and cached for 24 h so an interrupted run resumes from the cache):

* ``rows=0`` filter counts per content type and period for metrics that have a filter but no
  member-summary key (clinical trials, licence versions, authenticated ORCID, funder DOIs …);
* ``facet=published:*`` per metric → coverage per publication year (all types together);
* ``sample=100`` per period → estimates with Wilson 95 % intervals for metrics that can only be
  measured on records (ORCID depth, ROR split, CC licences …);
* ``has-<x>:false`` cursor lists (``select=DOI,title,type,issued``, capped) → the DOIs to fix.

The result is one JSON document per member in ``drilldown/member-<id>.json``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import metrics
from cache.crossref.client import CrossrefClient
from cache.crossref.query import parse_filter_clause, period_filters
from cache.crossref.settings import Settings
from cache.jobs.target import crossref_settings
from cache.store import drilldowns
from metrics.scoring import ALL_TYPES, wilson_interval

GAP_SELECT = ("DOI", "title", "type", "issued")
DEFAULT_GAP_CAP = 1000
DEFAULT_MAX_TYPES = 2
Progress = Callable[[int, int, str], Any]


def with_filter(metric: metrics.Metric) -> dict[str, str]:
    """The filters selecting works that have the metric's element."""
    clause = metric.gap_filter(True)
    if clause is None:
        raise ValueError(f"metric {metric.key!r} cannot be counted with a filter")
    return parse_filter_clause(clause)


def extra_filter_metrics() -> list[metrics.Metric]:
    """Metrics countable by filter that the member summary does not already give."""
    return [m for m in metrics.REGISTRY.values() if m.measurable_by_filter and not m.coverage_key]


def sample_metrics() -> list[metrics.Metric]:
    """Metrics that only work records can measure (no filter exists)."""
    return [
        m for m in metrics.REGISTRY.values() if m.measurable_on_works and not m.measurable_by_filter
    ]


def gap_metrics() -> list[metrics.Metric]:
    """Metrics with a negatable filter, so the works *without* them can be listed."""
    return [m for m in metrics.REGISTRY.values() if m.works_filter]


def top_types(member: dict, max_types: int) -> list[str]:
    """The member's content types with dated works, largest first."""
    counts_type = member.get("counts-type") or {}
    sizes: dict[str, int] = {}
    for period in ("current", "backfile"):
        for ctype, n in (counts_type.get(period) or {}).items():
            sizes[ctype] = sizes.get(ctype, 0) + int(n or 0)
    ranked = sorted((t for t, n in sizes.items() if n > 0), key=lambda t: (-sizes[t], t))
    return ranked[:max_types]


@dataclass(frozen=True)
class _Task:
    """One unit of work for the fan-out: a count, a facet, a sample or a gap list."""

    kind: str
    metric: str | None = None
    content_type: str | None = None
    period: str | None = None


def fetch(
    client: CrossrefClient,
    member_id: int,
    *,
    current_year: int | None = None,
    gap_cap: int = DEFAULT_GAP_CAP,
    gap_period: str = "current",
    max_types: int = DEFAULT_MAX_TYPES,
    progress: Progress | None = None,
) -> dict:
    """Run the whole drill-down for one member and return the result document."""
    if gap_cap < 1:
        raise ValueError("gap_cap must be at least 1")
    year = current_year or datetime.now(UTC).year
    started = time.monotonic()
    requests_before = client.stats.requests
    member = client.member(member_id)
    path = f"/members/{int(member_id)}/works"
    counts_type = member.get("counts-type") or {}
    types = top_types(member, max_types)

    tasks: list[_Task] = [
        _Task("count", m.key, t, p)
        for m in extra_filter_metrics()
        for t in types
        for p in ("current", "backfile")
        if int((counts_type.get(p) or {}).get(t) or 0) > 0
    ]
    facet_keys = [m.key for m in metrics.REGISTRY.values() if m.measurable_by_filter]
    tasks += [_Task("years")] + [_Task("years", key) for key in facet_keys]
    if types:
        tasks += [
            _Task("sample", None, types[0], p)
            for p in ("current", "backfile")
            if int((counts_type.get(p) or {}).get(types[0]) or 0) > 0
        ]
    tasks += [_Task("gaps", m.key, None, gap_period) for m in gap_metrics()]

    def run(task: _Task) -> Any:
        if task.kind == "count":
            filters = {"type": task.content_type, **period_filters(task.period, year)}
            return client.count(path, {**filters, **with_filter(metrics.get(task.metric))})
        if task.kind == "years":
            filters = with_filter(metrics.get(task.metric)) if task.metric else {}
            return client.facet(path, filters, "published")
        if task.kind == "sample":
            filters = {"type": task.content_type, **period_filters(task.period, year)}
            return client.sample(path, filters, n=100)
        return _gap_list(client, path, task.metric, period_filters(task.period, year), gap_cap)

    def on_progress(finished: int, total: int) -> None:
        if progress is not None:
            progress(finished, total, "work-level requests")

    results = client.map(run, tasks, progress=on_progress)
    by_task = dict(zip(tasks, results, strict=True))

    coverage = _count_rows(member_id, member, by_task)
    coverage += _sample_rows(member_id, by_task)
    return {
        "member_id": int(member_id),
        "name": member.get("primary-name") or "",
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "current_year": year,
        "types": types,
        "gap_period": gap_period,
        "gap_cap": gap_cap,
        "requests": client.stats.requests - requests_before,
        "duration_s": round(time.monotonic() - started, 3),
        "coverage": coverage,
        "years": _year_rows(member_id, by_task),
        "gaps": {t.metric: by_task[t] for t in tasks if t.kind == "gaps"},
    }


def _gap_list(
    client: CrossrefClient, path: str, metric_key: str, filters: dict[str, str], cap: int
) -> dict:
    metric = metrics.get(metric_key)
    clause = parse_filter_clause(metric.gap_filter(False) or "")
    params = {"filter": {**filters, **clause}, "select": ",".join(GAP_SELECT)}
    totals: list[int] = []
    items = list(
        client.iter_cursor(path, params, rows=min(cap, 1000), max_items=cap, on_total=totals.append)
    )
    dois = [
        {
            "DOI": item.get("DOI") or "",
            "title": _first(item.get("title")),
            "type": item.get("type") or "",
            "year": metrics.issued_year(item),
        }
        for item in items
    ]
    missing = totals[0] if totals else len(dois)
    return {"missing": missing, "capped": missing > len(dois), "dois": dois}


def _first(value: Any) -> str:
    if isinstance(value, list):
        return str(value[0]) if value else ""
    return str(value or "")


def _row(
    member_id: int,
    ctype: str,
    period: str,
    key: str,
    covered: int,
    total: int,
    source: str,
    ci: tuple[float, float] | None = None,
) -> dict:
    cov = covered / total if total else None
    return {
        "member_id": int(member_id),
        "content_type": ctype,
        "period": period,
        "metric": key,
        "covered": int(covered),
        "total": int(total),
        "coverage": cov,
        "source": source,
        "ci_low": ci[0] if ci else None,
        "ci_high": ci[1] if ci else None,
    }


def _count_rows(member_id: int, member: dict, by_task: dict[_Task, Any]) -> list[dict]:
    counts_type = member.get("counts-type") or {}
    rows: list[dict] = []
    sums: dict[tuple[str, str], list[int]] = {}
    for task, covered in by_task.items():
        if task.kind != "count":
            continue
        total = int((counts_type.get(task.period) or {}).get(task.content_type) or 0)
        covered = min(int(covered), total)
        rows.append(
            _row(member_id, task.content_type, task.period, task.metric, covered, total, "filter")
        )
        acc = sums.setdefault((task.content_type, task.metric), [0, 0])
        acc[0] += covered
        acc[1] += total
    for (ctype, key), (covered, total) in sums.items():
        rows.append(_row(member_id, ctype, "all", key, covered, total, "filter"))
    return rows


def _sample_rows(member_id: int, by_task: dict[_Task, Any]) -> list[dict]:
    rows: list[dict] = []
    keys = [m.key for m in sample_metrics()]
    for task, items in by_task.items():
        if task.kind != "sample" or not items:
            continue
        for key, (num, den) in metrics.tally(items, keys).items():
            if den == 0:
                continue
            low, high = wilson_interval(num, den)
            rows.append(
                _row(
                    member_id,
                    task.content_type,
                    task.period,
                    key,
                    num,
                    den,
                    "sample",
                    (float(low), float(high)),
                )
            )
    return rows


def _year_rows(member_id: int, by_task: dict[_Task, Any]) -> list[dict]:
    totals = next((v for t, v in by_task.items() if t.kind == "years" and t.metric is None), {})
    rows = []
    for task, values in by_task.items():
        if task.kind != "years" or task.metric is None:
            continue
        for year, total in totals.items():
            if not str(year).isdigit() or int(total) == 0:
                continue
            covered = min(int(values.get(year, 0)), int(total))
            rows.append(
                {
                    "member_id": int(member_id),
                    "content_type": ALL_TYPES,
                    "year": int(year),
                    "metric": task.metric,
                    "covered": covered,
                    "total": int(total),
                    "source": "filter",
                }
            )
    return sorted(rows, key=lambda r: (r["metric"], r["year"]))


def run(
    settings: Settings,
    member_id: int,
    progress: Progress | None = None,
    *,
    use_cache: bool = True,
    **options: Any,
) -> tuple[dict, Path]:
    """Drill into one member against Crossref (or the demo mock on demo data) and save the result.

    Slow (tens of paced list requests): call it from the CLI or a background callback only.
    ``options`` go to :func:`drill_down` (``gap_cap``, ``gap_period``, ``max_types``,
    ``current_year``). Returns ``(result document, saved path)``. Raises
    :class:`~cache.crossref.errors.CrossrefError` when Crossref fails past the client's retries and
    ``OSError`` when the result cannot be written; finished requests stay in the raw-response cache,
    so a re-run resumes.
    """
    with crossref_settings(settings) as cfg, CrossrefClient(cfg, use_cache=use_cache) as client:
        result = fetch(client, int(member_id), progress=progress, **options)
        result["stats"] = {
            "cache_hits": client.stats.cache_hits,
            "retries": client.stats.retries,
            "http_429": client.stats.http_429,
        }
    return result, drilldowns.save(settings.data_dir, result)
