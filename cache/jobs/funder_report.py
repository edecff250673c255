"""Per-funder view: which publishers carry a funder's award numbers and their own funder IDs.

A funder is resolved from a Funder Registry DOI (``10.13039/100000001`` or ``100000001``), a
ROR ID (``https://ror.org/…``) or a name (``/funders?query=``). Its works are then faceted by
``publisher-name`` for the current and backfile periods: all works, works with award numbers
(``has-award:true``), and works whose funder DOI the publisher deposited
(``funder-doi-asserted-by:publisher``; the rest were matched by Crossref).

Six ``rows=0`` facet requests per funder, cached for 24 h. The result lands in
``drilldown/funder-<id>.json`` for the Funders page.
"""

from __future__ import annotations

import logging
import re
import time
from datetime import UTC, datetime
from pathlib import Path

from cache.crossref.client import CrossrefClient
from cache.crossref.errors import NotFound
from cache.crossref.query import period_filters
from cache.crossref.settings import Settings
from cache.jobs.target import crossref_settings
from cache.store import funder_reports

FUNDER_DOI = re.compile(r"^(?:https?://(?:dx\.)?doi\.org/)?(?:10\.13039/)?(\d{6,})$")
logger = logging.getLogger(__name__)

ROR = re.compile(r"^(?:https?://)?ror\.org/(0[a-z0-9]{8})$", re.IGNORECASE)

SERIES = {
    "works": {},
    "with_award": {"has-award": "true"},
    "publisher_asserted": {"funder-doi-asserted-by": "publisher"},
}


class FunderNotFound(LookupError):
    """No funder matched the id or query."""


def resolve(client: CrossrefClient, id_or_query: str) -> dict:
    """The funder record (``id``, ``name``, ``works_path``, ``filters``) for a DOI, ROR or name."""
    text = id_or_query.strip()
    if not text:
        raise FunderNotFound("give a Funder Registry DOI, a ROR ID or a name")
    doi = FUNDER_DOI.match(text)
    if doi:
        try:
            funder = client.get(f"/funders/10.13039/{doi.group(1)}")
        except NotFound:
            raise FunderNotFound(
                f"no funder with Funder Registry ID 10.13039/{doi.group(1)}"
            ) from None
        return _record(funder)
    ror = ROR.match(text)
    if ror:
        ror_url = f"https://ror.org/{ror.group(1).lower()}"
        # ROR-identified funders have no /funders entry; has-ror-id/ror-id covers funder RORs
        # (and affiliation RORs: the report says so).
        return {
            "id": ror_url,
            "name": ror_url,
            "kind": "ror",
            "works_path": "/works",
            "filters": {"ror-id": ror_url},
        }
    found = client.get("/funders", {"query": text, "rows": 5}).get("items") or []
    if not found:
        raise FunderNotFound(f"no funder matches {text!r}")
    return _record(found[0])


def _record(funder: dict) -> dict:
    funder_id = str(funder.get("id") or "")
    return {
        "id": f"10.13039/{funder_id}" if funder_id.isdigit() else funder_id,
        "name": funder.get("name") or funder_id,
        "kind": "doi",
        "works_path": f"/funders/{funder_id}/works",
        "filters": {},
    }


def funder_report(client: CrossrefClient, funder: dict, *, current_year: int | None = None) -> dict:
    """Per publisher and period: works, share with award numbers, share publisher-asserted."""
    year = current_year or datetime.now(UTC).year
    started = time.monotonic()
    tasks = [(period, series) for period in ("current", "backfile") for series in SERIES]

    def run(task: tuple[str, str]) -> dict[str, int]:
        period, series = task
        filters = {**funder["filters"], **period_filters(period, year), **SERIES[series]}
        return client.facet(funder["works_path"], filters, "publisher-name")

    results = dict(zip(tasks, client.map(run, tasks), strict=True))
    rows = []
    for period in ("current", "backfile"):
        works = results[(period, "works")]
        for publisher, n in sorted(works.items(), key=lambda kv: -kv[1]):
            if n <= 0:
                continue
            award = min(results[(period, "with_award")].get(publisher, 0), n)
            asserted = min(results[(period, "publisher_asserted")].get(publisher, 0), n)
            rows.append(
                {
                    "publisher": publisher,
                    "period": period,
                    "works": n,
                    "with_award": award,
                    "award_share": award / n,
                    "publisher_asserted": asserted,
                    "publisher_asserted_share": asserted / n,
                }
            )
    return {
        **{k: funder[k] for k in ("id", "name", "kind")},
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "current_year": year,
        "duration_s": round(time.monotonic() - started, 3),
        "publishers": rows,
    }


def run(settings: Settings, id_or_query: str) -> tuple[dict, Path]:
    """Resolve a funder and build its report against Crossref (or the demo mock on demo data),
    then save it. Returns ``(report, saved path)``. Raises :class:`FunderNotFound` when nothing
    matches, :class:`~cache.crossref.errors.CrossrefError` when Crossref fails past retries."""
    with crossref_settings(settings) as cfg, CrossrefClient(cfg) as client:
        report = funder_report(client, resolve(client, id_or_query))
    return report, funder_reports.save(settings.data_dir, report)
