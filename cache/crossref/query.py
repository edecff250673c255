"""Crossref's query vocabulary, shared by every job and by the mock: periods as publication-date
filters and ``filter=`` clauses (REST API docs, "Filter names"; crossref-api.md §3).

Pure: no HTTP, no disk. ``cache.crossref.client`` serialises with :func:`filter_param`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from metrics.scoring import PERIODS

__all__ = ["PERIODS", "filter_param", "param_str", "parse_filter_clause", "period_filters"]


def period_filters(period: str, current_year: int) -> dict[str, str]:
    """Crossref's own period windows as ``/works`` filters.

    ``current`` = published in ``current_year - 2`` or later (``from-pub-date``), ``backfile`` =
    until ``current_year - 3`` (``until-pub-date``), ``all`` = no filter. Raises ``ValueError`` for
    any other period.
    """
    if period == "current":
        return {"from-pub-date": str(current_year - 2)}
    if period == "backfile":
        return {"until-pub-date": str(current_year - 3)}
    if period == "all":
        return {}
    raise ValueError(f"unknown period {period!r}: use {', '.join(PERIODS)}")


def parse_filter_clause(clause: str) -> dict[str, str | list[str]]:
    """``"has-orcid:true,type:book"`` → ``{"has-orcid": "true", "type": "book"}``.

    A repeated name keeps every value, in order, as a list (``"license.version:vor,
    license.version:unspecified"`` → ``{"license.version": ["vor", "unspecified"]}``), which
    :func:`filter_param` writes back as the same repeated filter: Crossref ORs them.
    """
    out: dict[str, str | list[str]] = {}
    for part in clause.split(","):
        name, _, value = part.partition(":")
        name, value = name.strip(), value.strip()
        if name in out:
            prev = out[name]
            out[name] = [*prev, value] if isinstance(prev, list) else [prev, value]
        else:
            out[name] = value
    return out


def param_str(value: Any) -> str:
    """A query-parameter value as Crossref spells it (``True`` → ``"true"``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def filter_param(filters: Mapping[str, Any] | None) -> str:
    """``{"member": 98, "has-orcid": True}`` → ``member:98,has-orcid:true``.

    A list value repeats the filter name (Crossref ORs repeated names).
    """
    parts: list[str] = []
    for name, value in (filters or {}).items():
        values = value if isinstance(value, list | tuple) else [value]
        parts.extend(f"{name}:{param_str(v)}" for v in values)
    return ",".join(parts)
