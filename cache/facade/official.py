"""Crossref's own published country statistics, as pages read them.

Source: Crossref, "State of Crossref metadata by member country" (Zenodo record 19928426), imported
with ``python -m cache country-stats FILE…`` into the long table of
:mod:`cache.store.country_stats`. Every figure here is a share (fraction 0–1) of a named
denominator, computed from Crossref's counts exactly as published; nothing is estimated.

Measures come from :data:`MEASURES`: coverage measures divide a count of works (or references) by
its total for the same date, country and content type; participation measures divide a count of
members by ``total_members`` (those rows have no content type).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pycountry

from cache.store import country_stats as store

from .loader import data_dir

ALL_TYPES = "all"


@dataclass(frozen=True)
class Measure:
    """One published share: ``numerator / denominator`` columns of Crossref's files."""

    key: str
    label: str
    numerator: str
    denominator: str
    metric: str | None = None  # our registry key measuring the same thing, for the comparison

    @property
    def participation(self) -> bool:
        """True for shares of members (participation file), False for shares of works."""
        return self.denominator == "total_members"


_M = Measure
MEASURES: dict[str, Measure] = {
    m.key: m
    for m in (
        _M("with_ref", "Works with references", "with_ref", "n_dois", "references"),
        _M("with_doi_ref", "Works with references carrying DOIs", "with_doi_ref", "n_dois"),
        _M(
            "references_with_dois",
            "References with a DOI (share of references)",
            "references_with_dois",
            "references",
        ),
        _M(
            "references_with_doi_asserted_by_publisher",
            "Reference DOIs asserted by the publisher (share of reference DOIs)",
            "references_with_doi_asserted_by_publisher",
            "references_with_dois",
        ),
        _M("with_abstract", "Works with abstracts", "with_abstract", "n_dois", "abstracts"),
        _M("with_license", "Works with licences", "with_license", "n_dois", "licenses"),
        _M(
            "with_crossmark",
            "Works with a Crossmark policy",
            "with_crossmark",
            "n_dois",
            "update-policies",
        ),
        _M(
            "with_crossmark_update",
            "Works that received an update",
            "with_crossmark_update",
            "n_dois",
        ),
        _M(
            "update_assertions_from_retraction_watch",
            "Update assertions from Retraction Watch (share of update assertions)",
            "update_assertions_from_retraction_watch",
            "update_assertions",
        ),
        _M("retractions", "Retracted works", "retractions", "n_dois"),
        _M(
            "with_textmining",
            "Works with text-mining links",
            "with_textmining",
            "n_dois",
            "resource-links",
        ),
        _M(
            "acknowledges_funding",
            "Works with any funding metadata",
            "acknowledges_funding",
            "n_dois",
        ),
        _M("with_funder_id", "Works with funder IDs", "with_funder_id", "n_dois", "funders"),
        _M("with_grant_id", "Works with grant IDs", "with_grant_id", "n_dois"),
        _M("with_orcid", "Works with ORCID iDs", "with_orcid", "n_dois", "orcids"),
        _M(
            "with_orcid_for_authors",
            "Works with an author ORCID iD",
            "with_orcid_for_authors",
            "n_dois",
        ),
        _M(
            "with_orcid_for_editors",
            "Works with an editor ORCID iD",
            "with_orcid_for_editors",
            "n_dois",
        ),
        _M("with_ror_id", "Works with ROR IDs", "with_ror_id", "n_dois", "ror-ids"),
        _M(
            "with_ror_id_for_affiliations",
            "Works with affiliation ROR IDs",
            "with_ror_id_for_affiliations",
            "n_dois",
        ),
        _M(
            "with_ror_id_for_institutions",
            "Works with institution ROR IDs",
            "with_ror_id_for_institutions",
            "n_dois",
        ),
        _M(
            "with_ror_id_for_funders",
            "Works with funder ROR IDs",
            "with_ror_id_for_funders",
            "n_dois",
        ),
        _M("deposits_ref", "Members depositing references", "deposits_ref", "total_members"),
        _M(
            "deposits_abstract",
            "Members depositing abstracts",
            "deposits_abstract",
            "total_members",
        ),
        _M("deposits_license", "Members depositing licences", "deposits_license", "total_members"),
        _M("deposits_orcid", "Members depositing ORCID iDs", "deposits_orcid", "total_members"),
        _M(
            "deposits_funder_id",
            "Members depositing funder IDs",
            "deposits_funder_id",
            "total_members",
        ),
        _M(
            "deposits_grant_id",
            "Members depositing grant IDs",
            "deposits_grant_id",
            "total_members",
        ),
        _M("deposits_ror_id", "Members depositing ROR IDs", "deposits_ror_id", "total_members"),
        _M(
            "deposits_crossmark",
            "Members depositing Crossmark policies",
            "deposits_crossmark",
            "total_members",
        ),
        _M("deposits_updates", "Members depositing updates", "deposits_updates", "total_members"),
    )
}
del _M

#: World Bank regions, as coded in Crossref's files.
REGIONS: dict[str, str] = {
    "EAS": "East Asia & Pacific",
    "ECS": "Europe & Central Asia",
    "LCN": "Latin America & Caribbean",
    "MEA": "Middle East & North Africa",
    "NAC": "North America",
    "SAS": "South Asia",
    "SSF": "Sub-Saharan Africa",
}

_lock = threading.Lock()
_loaded: tuple[tuple[int, int] | None, pd.DataFrame] = (None, store.empty())
_results: dict[tuple, object] = {}  # (function, args) → result, for the loaded file only


def _table() -> pd.DataFrame:
    """The imported table, re-read when the file changes (memoised on mtime and size)."""
    global _loaded
    path = store.path(data_dir())
    try:
        st = path.stat()
        stamp: tuple[int, int] | None = (st.st_mtime_ns, st.st_size)
    except OSError:
        stamp = None
    with _lock:
        if _loaded[0] != stamp:
            _loaded = (stamp, store.load(data_dir()) if stamp else store.empty())
            _results.clear()
        return _loaded[1]


def _memoised(fn):
    """Memoise a read of the imported table per arguments until the file changes (a page
    callback asks the same few questions again and again; a pivot costs ~100 ms)."""

    def wrapper(*args):
        _table()  # re-reads the file (and forgets results) when it changed
        key = (fn.__name__, *args)
        with _lock:
            if key in _results:
                return _results[key]
        value = fn(*args)
        with _lock:
            if len(_results) > 256:
                _results.clear()
            _results[key] = value
        return value

    wrapper.__name__, wrapper.__doc__ = fn.__name__, fn.__doc__
    return wrapper


def official_available() -> bool:
    """True when Crossref's country statistics have been imported."""
    return not _table().empty


@_memoised
def official_options() -> dict:
    """What the imported data offers: ``{"dates": [newest first], "types": [...],
    "measures": {key: label}}`` (only measures whose columns were imported)."""
    t = _table()
    present = set(t["measure"].unique())
    types = sorted(x for x in t["document_type"].unique() if x)
    measures = {k: m.label for k, m in MEASURES.items() if {m.numerator, m.denominator} <= present}
    return {
        "dates": sorted(t["current_up_to"].unique(), reverse=True),
        "types": [ALL_TYPES, *types] if types else [],
        "measures": measures,
    }


def area_name(code: str) -> str:
    """A region or country name for a World Bank region code or an ISO 3166 alpha-3 code."""
    if code in REGIONS:
        return REGIONS[code]
    country = pycountry.countries.get(alpha_3=code)
    return (
        getattr(country, "common_name", None) or getattr(country, "name", code) if country else code
    )


def _counts(measure: Measure, doc_type: str) -> pd.DataFrame:
    """Numerator and denominator per (date, region, country), summed over types for "all".

    Columns: current_up_to, region_id, iso3_code, numerator, denominator (float64; NaN when the
    file says NA)."""
    t = _table()
    rows = t[t["measure"].isin([measure.numerator, measure.denominator])]
    if measure.participation:
        rows = rows[rows["document_type"] == ""]
    elif doc_type != ALL_TYPES:
        rows = rows[rows["document_type"] == doc_type]
    else:
        rows = rows[rows["document_type"] != ""]
    wide = rows.pivot_table(
        index=["current_up_to", "region_id", "iso3_code"],
        columns="measure",
        values="value",
        aggfunc=lambda s: s.sum(min_count=1),
    )
    wide = wide.reindex(columns=[measure.numerator, measure.denominator]).astype("float64")
    wide.columns = ["numerator", "denominator"]
    return wide.reset_index()


@_memoised
def official_table(measure: str, doc_type: str, date: str, level: str = "country") -> pd.DataFrame:
    """Crossref's published share of ``measure`` per country (or World Bank region) at ``date``.

    Columns: ``area`` (ISO3 or region code), ``area_name``, ``region_id``, ``numerator``,
    ``denominator`` (counts, float64), ``share`` (fraction 0–1; NaN when the denominator is 0).
    Sorted by denominator, largest first. Raises ``KeyError`` for an unknown measure.
    """
    m = MEASURES[measure]
    counts = _counts(m, doc_type)
    counts = counts[counts["current_up_to"] == date]
    key = "region_id" if level == "region" else "iso3_code"
    g = counts.groupby(key, observed=True)
    out = pd.DataFrame(
        {
            "region_id": g["region_id"].first(),
            "numerator": g["numerator"].sum(min_count=1),
            "denominator": g["denominator"].sum(min_count=1),
        }
    ).reset_index(names="area")
    out["share"] = out["numerator"] / out["denominator"].where(out["denominator"] > 0)
    out.insert(1, "area_name", [area_name(a) for a in out["area"]])
    return out.sort_values("denominator", ascending=False, kind="stable").reset_index(drop=True)


@_memoised
def official_series(measure: str, doc_type: str, area: str | None = None) -> pd.DataFrame:
    """Crossref's published share of ``measure`` at every imported date, for one country (ISO3),
    one World Bank region, or the world (``area`` None).

    Columns: ``current_up_to`` (str date, ascending), ``numerator``, ``denominator`` (float64),
    ``share`` (fraction 0–1). Raises ``KeyError`` for an unknown measure.
    """
    counts = _counts(MEASURES[measure], doc_type)
    if area in REGIONS:
        counts = counts[counts["region_id"] == area]
    elif area:
        counts = counts[counts["iso3_code"] == area]
    g = counts.groupby("current_up_to")
    out = pd.DataFrame(
        {
            "numerator": g["numerator"].sum(min_count=1),
            "denominator": g["denominator"].sum(min_count=1),
        }
    ).reset_index()
    out["share"] = out["numerator"] / out["denominator"].where(out["denominator"] > 0)
    return out.sort_values("current_up_to").reset_index(drop=True)


def with_snapshot(official: pd.DataFrame, measure: str, ours: pd.DataFrame | None) -> pd.DataFrame:
    """``official`` (from :func:`official_table`, country level) with our snapshot's DOI-weighted
    share next to Crossref's: adds ``snapshot_share`` (fraction 0–1) and ``difference_pp``
    (percentage points, ours − Crossref's). ``ours`` is :func:`cache.facade.countries` output for
    the matching metric, or None when the measure has no counterpart (columns then stay NaN)."""
    out = official.copy()
    if ours is None or ours.empty:
        out["snapshot_share"] = np.nan
    else:
        out["snapshot_share"] = out["area"].map(ours.set_index("country")["doi_weighted"])
    out["difference_pp"] = (out["snapshot_share"] - out["share"]) * 100
    return out
