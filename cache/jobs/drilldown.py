"""Work-level drill-down for one member: what the member summary cannot give.

Five kinds of list request to ``/members/{id}/works``, all through
:class:`~cache.crossref.client.CrossrefClient` (paced to the list limits, retried, and cached for
24 h so an interrupted run resumes from the cache), for each of the member's content types (the
largest ``max_types``) and both periods:

* ``rows=0`` **totals** (``type`` + period filter only): the denominators. Every share divides a
  ``/works`` count by a ``/works`` total of the same type and period, never by the member
  summary (``/members/{id}`` ``counts-type``), which can disagree with ``/works``;
* ``rows=0`` filter **counts** for metrics that have a filter but no member-summary key
  (clinical trials, licence versions, authenticated ORCID, funder DOIs …);
* ``facet=published:*`` per metric → coverage per publication year (all types together);
* ``sample=100`` per type and period → estimates with Wilson 95 % intervals for metrics that can
  only be measured on records (ORCID depth, ROR split …);
* ``has-<x>:false`` cursor lists (``select=DOI,title,type,issued``, capped) per type for the gap
  period → the DOIs to fix.

A request Crossref rejects with ``400 validation-failure`` (e.g. ``filter-not-available`` on a
server without that filter) marks only the metrics that request measures as "not measured" with
Crossref's own message; the rest of the drill-down finishes. Other errors (5xx past the client's
retries, the error budget) stop the whole run.

Requests: 1 + ``T·P`` totals + ``C·T·P`` counts + ``F + 1`` facets + ``T·P`` samples + at least
``G·T`` gap lists (one more per 1000 listed DOIs), for ``T`` types (≤ ``max_types``), ``P`` ≤ 2
periods with works, ``C`` = :func:`extra_filter_metrics`, ``F`` filter-measurable metrics and
``G`` = :func:`gap_metrics`; see :func:`request_plan`.

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
from cache.crossref.errors import ValidationFailure
from cache.crossref.query import parse_filter_clause, period_filters
from cache.crossref.settings import Settings
from cache.jobs.target import crossref_settings
from cache.store import drilldowns
from metrics.scoring import ALL_TYPES, wilson_interval

GAP_SELECT = ("DOI", "title", "type", "issued")
DEFAULT_GAP_CAP = 1000
DEFAULT_MAX_TYPES = 2
PERIODS = ("current", "backfile")
#: The member summary and ``/works`` "agree" when their totals differ by at most this many works
#: or this share of the summary's total, whichever is larger (the summary lags ``/works``).
AGREE_WORKS = 5
AGREE_SHARE = 0.01
Progress = Callable[[int, int, str], Any]


def with_filter(metric: metrics.Metric) -> dict[str, str]:
    """The ``/works`` filters selecting works that have the metric's element.

    Raises ``ValueError`` when the metric has no filter (sample-only metrics).
    """
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
    """The member's content types with dated works (``counts-type`` current + backfile of a
    ``/members/{id}`` message), largest first, at most ``max_types``."""
    counts_type = member.get("counts-type") or {}
    sizes: dict[str, int] = {}
    for period in PERIODS:
        for ctype, n in (counts_type.get(period) or {}).items():
            sizes[ctype] = sizes.get(ctype, 0) + int(n or 0)
    ranked = sorted((t for t, n in sizes.items() if n > 0), key=lambda t: (-sizes[t], t))
    return ranked[:max_types]


def totals_agree(summary: int, works: int) -> bool:
    """Whether a member-summary total and a ``/works`` total of the same type and period agree
    within rounding and lag: ``|summary - works| <= max(AGREE_WORKS, AGREE_SHARE * summary)``."""
    return abs(int(summary) - int(works)) <= max(AGREE_WORKS, AGREE_SHARE * int(summary))


@dataclass(frozen=True)
class _Task:
    """One unit of work for the fan-out: a total, a count, a facet, a sample or a gap list."""

    kind: str
    metric: str | None = None
    content_type: str | None = None
    period: str | None = None


@dataclass(frozen=True)
class _Rejected:
    """A request Crossref refused with 400 ``validation-failure``: its message, verbatim."""

    reason: str
    kind: str | None = None


def _summary_total(member: dict, ctype: str, period: str) -> int:
    counts_type = member.get("counts-type") or {}
    if period == "all":
        return sum(_summary_total(member, ctype, p) for p in PERIODS)
    return int((counts_type.get(period) or {}).get(ctype) or 0)


def _plan(member: dict, types: list[str], gap_period: str) -> list[_Task]:
    slices = [(t, p) for t in types for p in PERIODS if _summary_total(member, t, p) > 0]
    tasks = [_Task("total", None, t, p) for t, p in slices]
    tasks += [_Task("count", m.key, t, p) for m in extra_filter_metrics() for t, p in slices]
    facet_keys = [m.key for m in metrics.REGISTRY.values() if m.measurable_by_filter]
    tasks += [_Task("years")] + [_Task("years", key) for key in facet_keys]
    tasks += [_Task("sample", None, t, p) for t, p in slices]
    gap_types = [t for t in types if _summary_total(member, t, gap_period) > 0]
    tasks += [_Task("gaps", m.key, t, gap_period) for m in gap_metrics() for t in gap_types]
    return tasks


def request_plan(
    member: dict, *, max_types: int = DEFAULT_MAX_TYPES, gap_period: str = "current"
) -> dict[str, int]:
    """Requests a drill-down of this ``/members/{id}`` message will send, by kind (``member``,
    ``total``, ``count``, ``years``, ``sample``, ``gaps``; gap lists count their first page only:
    each 1000 more listed DOIs cost one more)."""
    plan: dict[str, int] = {"member": 1}
    for task in _plan(member, top_types(member, max_types), gap_period):
        plan[task.kind] = plan.get(task.kind, 0) + 1
    return plan


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
    """Run the whole drill-down for one member and return the result document.

    ``gap_cap`` = most DOIs listed per metric and content type; ``gap_period`` = ``current``,
    ``backfile`` or ``all`` (the publication years of the gap lists); ``max_types`` = content
    types measured, largest first. Returns a JSON-ready dict with ``coverage`` rows (``covered``
    of ``total`` works, ``coverage`` a 0–1 fraction, ``source`` ``filter`` | ``sample`` |
    ``not-measured`` with Crossref's ``reason``), ``totals`` (``/works`` vs member-summary totals
    per type and period, ``agree``), ``years`` rows, ``gaps`` per metric (``missing``, ``capped``,
    ``dois`` of every measured type, ``by_type``), ``failures`` and ``requests``.

    Raises ``ValueError`` for a bad ``gap_cap``/``gap_period`` and
    :class:`~cache.crossref.errors.CrossrefError` when Crossref fails other than by rejecting a
    request (400), e.g. 5xx past the client's retries.
    """
    if gap_cap < 1:
        raise ValueError("gap_cap must be at least 1")
    year = current_year or datetime.now(UTC).year
    period_filters(gap_period, year)  # raises ValueError for an unknown period
    started = time.monotonic()
    requests_before = client.stats.requests
    member = client.member(member_id)
    path = f"/members/{int(member_id)}/works"
    types = top_types(member, max_types)
    tasks = _plan(member, types, gap_period)

    def request(task: _Task) -> Any:
        base = {"type": task.content_type, **period_filters(task.period or "all", year)}
        if task.kind == "total":
            return client.count(path, base)
        if task.kind == "count":
            return client.count(path, {**base, **with_filter(metrics.get(task.metric))})
        if task.kind == "years":
            filters = with_filter(metrics.get(task.metric)) if task.metric else {}
            return client.facet(path, filters, "published")
        if task.kind == "sample":
            return client.sample(path, base, n=100)
        return _gap_list(client, path, task.metric, base, gap_cap)

    def run_one(task: _Task) -> Any:
        try:
            return request(task)
        except ValidationFailure as exc:  # this request only: the metric is "not measured"
            return _Rejected(exc.detail or exc.summary, exc.kind)

    def on_progress(finished: int, total: int) -> None:
        if progress is not None:
            progress(finished, total, "work-level requests")

    results = client.map(run_one, tasks, progress=on_progress)
    by_task = dict(zip(tasks, results, strict=True))
    totals = _totals(member, types, by_task)

    coverage = _count_rows(member_id, by_task, totals)
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
        "requests_by_kind": request_plan(member, max_types=max_types, gap_period=gap_period),
        "duration_s": round(time.monotonic() - started, 3),
        "totals": [{"content_type": t, "period": p, **v} for (t, p), v in sorted(totals.items())],
        "coverage": coverage,
        "years": _year_rows(member_id, by_task),
        "gaps": _gaps(by_task),
        "failures": [
            {
                "kind": t.kind,
                "metric": t.metric,
                "content_type": t.content_type,
                "period": t.period,
                "reason": r.reason,
                "type": r.kind,
            }
            for t, r in by_task.items()
            if isinstance(r, _Rejected)
        ],
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


def _gaps(by_task: dict[_Task, Any]) -> dict[str, dict]:
    """Per metric: every measured type's gap list merged (each DOI keeps its ``type``), with the
    per-type ``missing``/``capped``/``shown`` (or Crossref's ``error``) in ``by_type``."""
    out: dict[str, dict] = {}
    for task, value in by_task.items():
        if task.kind != "gaps":
            continue
        gap = out.setdefault(
            task.metric, {"missing": 0, "capped": False, "dois": [], "by_type": {}}
        )
        if isinstance(value, _Rejected):
            gap["by_type"][task.content_type] = {"error": value.reason}
            gap.setdefault("error", value.reason)
            continue
        listed = [{**d, "type": d["type"] or task.content_type} for d in value["dois"]]
        gap["missing"] += int(value["missing"])
        gap["capped"] = gap["capped"] or bool(value["capped"])
        gap["dois"] += listed
        gap["by_type"][task.content_type] = {
            "missing": int(value["missing"]),
            "capped": bool(value["capped"]),
            "shown": len(listed),
        }
    return out


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
    reason: str | None = None,
) -> dict:
    cov = covered / total if total else None
    row = {
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
    if reason is not None:
        row["reason"] = reason
    return row


def _totals(member: dict, types: list[str], by_task: dict[_Task, Any]) -> dict[tuple, dict]:
    """(type, period) → ``{"works": /works total or None, "summary": member-summary total,
    "agree": bool, "error": Crossref's reason or None}``, for both periods and ``all``."""
    out: dict[tuple, dict] = {}
    found = {(t.content_type, t.period): v for t, v in by_task.items() if t.kind == "total"}
    for ctype in types:
        works_all: int | None = 0
        errors: list[str] = []
        for period in PERIODS:
            summary = _summary_total(member, ctype, period)
            value = found.get((ctype, period), 0)  # not asked: the summary has no such works
            if isinstance(value, _Rejected):
                errors.append(value.reason)
                works: int | None = None
            else:
                works = int(value)
            if works is None or works_all is None:
                works_all = None
            else:
                works_all += works
            out[(ctype, period)] = {
                "works": works,
                "summary": summary,
                "agree": works is not None and totals_agree(summary, works),
                "error": value.reason if isinstance(value, _Rejected) else None,
            }
        summary_all = _summary_total(member, ctype, "all")
        out[(ctype, "all")] = {
            "works": works_all,
            "summary": summary_all,
            "agree": works_all is not None and totals_agree(summary_all, works_all),
            "error": errors[0] if errors else None,
        }
    return out


def _count_rows(member_id: int, by_task: dict[_Task, Any], totals: dict[tuple, dict]) -> list[dict]:
    """Filter counts over ``/works`` totals of the same type and period (never the summary)."""
    rows: list[dict] = []
    sums: dict[tuple[str, str], list[Any]] = {}
    for task, covered in by_task.items():
        if task.kind != "count":
            continue
        ctype, period, key = task.content_type, task.period, task.metric
        acc = sums.setdefault((ctype, key), [0, 0, None])
        total = totals[(ctype, period)]
        reason = covered.reason if isinstance(covered, _Rejected) else total["error"]
        if reason is not None:
            rows.append(_row(member_id, ctype, period, key, 0, 0, "not-measured", reason=reason))
            acc[2] = acc[2] or reason
            continue
        works = int(total["works"] or 0)
        covered = min(int(covered), works)
        rows.append(_row(member_id, ctype, period, key, covered, works, "filter"))
        acc[0] += covered
        acc[1] += works
    for (ctype, key), (covered, works, reason) in sums.items():
        if reason is not None:
            rows.append(_row(member_id, ctype, "all", key, 0, 0, "not-measured", reason=reason))
        else:
            rows.append(_row(member_id, ctype, "all", key, covered, works, "filter"))
    return rows


def _sample_rows(member_id: int, by_task: dict[_Task, Any]) -> list[dict]:
    rows: list[dict] = []
    keys = [m.key for m in sample_metrics()]
    for task, items in by_task.items():
        if task.kind != "sample":
            continue
        if isinstance(items, _Rejected):
            rows += [
                _row(
                    member_id,
                    task.content_type,
                    task.period,
                    key,
                    0,
                    0,
                    "not-measured",
                    reason=items.reason,
                )
                for key in keys
            ]
            continue
        if not items:
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
    if isinstance(totals, _Rejected):
        return []
    rows = []
    for task, values in by_task.items():
        if task.kind != "years" or task.metric is None or isinstance(values, _Rejected):
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
    ``options`` go to :func:`fetch` (``gap_cap``, ``gap_period``, ``max_types``,
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
