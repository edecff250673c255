"""The metric registry: the single place that says what we measure.

``REGISTRY`` maps each metric key to its :class:`~metrics.base.Metric`, in the order of the
contract table (docs/architecture.md §4). The UI builds dropdowns, grid columns and ids from it,
so adding a metric means adding one object to a family module.

Pure: no network, no disk, no httpx, no dash.
"""

from __future__ import annotations

from collections.abc import Iterable
from types import MappingProxyType

from metrics import (
    abstracts,
    affiliations,
    crossmark,
    descriptions,
    funding,
    licences,
    links,
    orcid,
    references,
    relations,
    ror,
    trials,
    updates,
)
from metrics.base import CROSSREF_COVERAGE_KEYS, FAMILIES, Metric, Work, issued_year, period_of

__all__ = [
    "COVERAGE_KEYS",
    "FAMILIES",
    "PRESENCE_KEYS",
    "REGISTRY",
    "WORK_KEYS",
    "Metric",
    "UnknownMetricError",
    "by_family",
    "evaluate",
    "get",
    "issued_year",
    "names",
    "period_of",
    "tally",
    "tally_by_slice",
]

_MODULES = (
    references,
    abstracts,
    orcid,
    affiliations,
    ror,
    funding,
    crossmark,
    links,
    licences,
    descriptions,
    trials,
    relations,
    updates,
)


def _build() -> dict[str, Metric]:
    registry: dict[str, Metric] = {}
    for module in _MODULES:
        for metric in module.METRICS:
            if metric.key in registry:
                raise ValueError(f"duplicate metric key {metric.key!r}")
            registry[metric.key] = metric
    summary = {m.coverage_key for m in registry.values() if m.coverage_key}
    if summary != set(CROSSREF_COVERAGE_KEYS):
        raise ValueError(f"coverage keys {sorted(summary)} != Crossref's")
    return registry


#: key → Metric, ordered as in the contract table. Read-only.
REGISTRY: MappingProxyType[str, Metric] = MappingProxyType(_build())

#: The 12 keys Crossref reports in `/members` `coverage-type`, in Crossref's own order. Each is
#: also the key of the registry metric measuring it.
COVERAGE_KEYS: tuple[str, ...] = tuple(
    next(m.key for m in REGISTRY.values() if m.coverage_key == ck) for ck in CROSSREF_COVERAGE_KEYS
)

#: Presence metrics that can be evaluated on a work record (everything but depth metrics).
PRESENCE_KEYS: tuple[str, ...] = tuple(k for k, m in REGISTRY.items() if m.kind == "presence")

#: Every metric that can be measured on work records (presence predicates and depth shares).
WORK_KEYS: tuple[str, ...] = tuple(k for k, m in REGISTRY.items() if m.measurable_on_works)


class UnknownMetricError(KeyError, ValueError):
    """Raised by :func:`get` for an unknown key; catchable as KeyError or ValueError."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


def names() -> list[str]:
    """All metric keys, in registry (contract-table) order."""
    return list(REGISTRY)


def get(key: str) -> Metric:
    """The metric for ``key``; raises :class:`UnknownMetricError` naming the valid keys."""
    try:
        return REGISTRY[key]
    except (KeyError, TypeError):
        raise UnknownMetricError(
            f"unknown metric {key!r}; valid keys are: {', '.join(REGISTRY)}"
        ) from None


def by_family() -> dict[str, list[Metric]]:
    """Family key → its metrics (registry order); every family in :data:`FAMILIES` order."""
    grouped: dict[str, list[Metric]] = {family: [] for family in FAMILIES}
    for metric in REGISTRY.values():
        grouped[metric.family].append(metric)
    return grouped


def evaluate(work: Work, keys: Iterable[str] | None = None) -> dict[str, bool]:
    """Presence of each presence metric in one work record (depth metrics are skipped)."""
    selected = PRESENCE_KEYS if keys is None else [get(k).key for k in keys]
    return {k: bool(REGISTRY[k].evaluate(work)) for k in selected if REGISTRY[k].predicate}


def tally(works: Iterable[Work], keys: Iterable[str] | None = None) -> dict[str, tuple[int, int]]:
    """``key → (numerator, denominator)`` over a set of work records.

    Presence metrics give (works with the element, works); depth metrics give Σnum, Σden of
    their per-work share. Feed the result to :func:`metrics.scoring.estimate_rows`.
    """
    selected = [get(k) for k in (WORK_KEYS if keys is None else keys)]
    counts = {m.key: [0, 0] for m in selected}
    for work in works:
        record = work if isinstance(work, dict) else {}
        for metric in selected:
            slot = counts[metric.key]
            if metric.share is not None:
                num, den = metric.share(record)
                slot[0] += num
                slot[1] += den
            elif metric.predicate is not None:
                slot[0] += bool(metric.predicate(record))
                slot[1] += 1
    return {k: (v[0], v[1]) for k, v in counts.items()}


def tally_by_slice(
    works: Iterable[Work], current_year: int, keys: Iterable[str] | None = None
) -> dict[tuple[int, str, str], dict[str, tuple[int, int]]]:
    """:func:`tally` per ``(member, content type, period)``; a work counts in ``all`` and in its
    period (undated works only in ``all``), as in Crossref's ``counts-type``."""
    groups: dict[tuple[int, str, str], list[Work]] = {}
    for work in works:
        member, ctype = int(work["member"]), work.get("type") or "unknown"
        period = period_of(issued_year(work), current_year)
        for p in ("all", period) if period else ("all",):
            groups.setdefault((member, ctype, p), []).append(work)
    return {cell: tally(group, keys) for cell, group in groups.items()}
