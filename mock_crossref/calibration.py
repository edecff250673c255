"""Calibration targets of the demo population and the code that measures them.

Targets come from shared/reference/landscape.md §5 (Crossref-wide figures computed from published
data files, Feb–Jul 2026, and the suggested dashboard bands in §5.5). Each target is a band
(low, high); :func:`measure` computes the same figure on a :class:`Population` from its block
counts (no works are generated), and tests/unit/test_population.py checks every band on the
full 33,000-member population.

Definitions (as in landscape.md):
* *DOI-weighted* = Σ works with the element / Σ works, over current journal articles
  (``coverage-type.current["journal-article"]``) of all members that have any;
* *members at 0* = share of those members whose current-JA coverage is exactly 0;
* *member median* = median of the per-member current-JA coverage.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mock_crossref.population import (
    COUNTRY_INDEX,
    CURRENT,
    TYPE_INDEX,
    E,
    Population,
)

#: DOI-weighted coverage of current journal articles: (low, high). landscape.md §5.2 / §5.5.
DOI_WEIGHTED_CURRENT_JA: dict[str, tuple[float, float]] = {
    "funders": (0.20, 0.30),  # 26.1 % (Feb 2026); "about 25 %"
    "funder-doi": (0.17, 0.26),  # funder ID "about 20–22 %"
    "references": (0.55, 0.65),  # 59.5 % (Jul 2026)
    "abstracts": (0.45, 0.75),  # 45–75 % depending on weighting
    "orcids": (0.40, 0.50),  # "about 40–50 %"
    "affiliations": (0.30, 0.50),  # "about 30 %+" (31 % of 2023 JA in COKI)
    "ror-ids": (0.01, 0.08),  # "a few % and rising"
}
#: Share of members (with current JA) whose current-JA coverage is exactly 0.
MEMBERS_AT_ZERO: dict[str, tuple[float, float]] = {
    "funders": (0.80, 0.95),  # 89.1 % (Feb 2026)
    "references": (0.55, 0.70),  # 63.8 % (Jul 2026)
}
#: Member-level medians "at or near 0" (§5.5).
MEMBER_MEDIAN_MAX: dict[str, float] = {
    "funders": 0.01,
    "ror-ids": 0.01,
    "award-numbers": 0.01,
    "update-policies": 0.05,
}
#: Country effects, DOI-weighted over all-time journal articles of members in that country
#: (landscape.md §5.4: Indonesia abstracts 91.7 %, licences 57.1 %, references 4.1 %,
#: funder ID 0.2 %; Japan abstracts 0.5 %, licences 0.3 %).
COUNTRY_BANDS: dict[tuple[str, str], tuple[float, float]] = {
    ("Indonesia", "abstracts"): (0.80, 0.97),
    ("Indonesia", "licenses"): (0.45, 0.80),
    ("Indonesia", "references"): (0.0, 0.15),
    ("Indonesia", "funders"): (0.0, 0.03),
    ("Japan", "abstracts"): (0.0, 0.05),
    ("Japan", "licenses"): (0.0, 0.05),
    ("Japan", "references"): (0.15, 0.55),
}
#: Size: a few members with millions of works, most with a few hundred or fewer.
SIZE_BANDS: dict[str, tuple[float, float]] = {
    "members_with_1m_plus": (3, 40),
    "median_total_dois": (50, 600),
    "share_zero_dois": (0.02, 0.06),
    "share_no_current": (0.20, 0.40),
    "share_indonesia": (0.11, 0.17),
}


def _ja_current(pop: Population) -> np.ndarray:
    return np.flatnonzero((pop.b_type == TYPE_INDEX["journal-article"]) & (pop.b_period == CURRENT))


def measure(pop: Population) -> dict[str, Any]:
    """All calibration figures of ``pop`` (see the module docstring for definitions)."""
    out: dict[str, Any] = {
        "doi_weighted": {},
        "members_at_zero": {},
        "member_median": {},
        "country": {},
        "size": {},
    }
    ja = _ja_current(pop)
    n = pop.b_n[ja].astype(np.float64)
    extra = [
        "award-numbers",
        "update-policies",
        "licenses",
        "resource-links",
        "similarity-checking",
    ]
    for key in [*DOI_WEIGHTED_CURRENT_JA, *extra]:
        c = pop.b_counts[ja, E[key]].astype(np.float64)
        out["doi_weighted"][key] = float(c.sum() / n.sum())
        cov = c / n
        out["members_at_zero"][key] = float((cov == 0).mean())
        out["member_median"][key] = float(np.median(cov))
    all_ja = np.flatnonzero(pop.b_type == TYPE_INDEX["journal-article"])
    for country, key in COUNTRY_BANDS:
        ci = COUNTRY_INDEX[country]
        sel = all_ja[pop.country[pop.b_member[all_ja]] == ci]
        nn = pop.b_n[sel].sum()
        out["country"][f"{country}/{key}"] = (
            float(pop.b_counts[sel, E[key]].sum() / nn) if nn else float("nan")
        )
    tot = np.bincount(pop.b_member, weights=pop.b_n, minlength=pop.n_members)
    cur = pop.member_totals()["current"]
    out["size"] = {
        "members_with_1m_plus": int((tot >= 1_000_000).sum()),
        "median_total_dois": float(np.median(tot)),
        "share_zero_dois": float((tot == 0).mean()),
        "share_no_current": float((cur == 0).mean()),
        "share_indonesia": float((pop.country == COUNTRY_INDEX["Indonesia"]).mean()),
        "max_total_dois": int(tot.max()),
        "total_works": int(tot.sum()),
    }
    return out


def check(pop: Population) -> list[str]:
    """Human-readable failures (empty when every figure is inside its band)."""
    got = measure(pop)
    bad = []
    for key, (lo, hi) in DOI_WEIGHTED_CURRENT_JA.items():
        v = got["doi_weighted"][key]
        if not lo <= v <= hi:
            bad.append(f"DOI-weighted current JA {key} = {v:.3f} not in [{lo}, {hi}]")
    for key, (lo, hi) in MEMBERS_AT_ZERO.items():
        v = got["members_at_zero"][key]
        if not lo <= v <= hi:
            bad.append(f"members at 0 for {key} = {v:.3f} not in [{lo}, {hi}]")
    for key, mx in MEMBER_MEDIAN_MAX.items():
        v = got["member_median"][key]
        if v > mx:
            bad.append(f"member median {key} = {v:.3f} > {mx}")
    for (country, key), (lo, hi) in COUNTRY_BANDS.items():
        v = got["country"][f"{country}/{key}"]
        if not lo <= v <= hi:
            bad.append(f"{country} {key} = {v:.3f} not in [{lo}, {hi}]")
    for key, (lo, hi) in SIZE_BANDS.items():
        v = got["size"][key]
        if not lo <= v <= hi:
            bad.append(f"size {key} = {v} not in [{lo}, {hi}]")
    return bad


# --------------------------------------------------------------------------------------------
# Countries against Crossref's own figures ("State of Crossref metadata by member country")
# --------------------------------------------------------------------------------------------
#: Counted element -> (member-participation column, journal-article coverage column) of the
#: dataset's two CSV files (README.dataset.md in tests/fixtures/crossref-country-stats).
COUNTRY_ELEMENTS: dict[str, tuple[str, str]] = {
    "references": ("deposits_ref", "with_ref"),
    "abstracts": ("deposits_abstract", "with_abstract"),
    "licenses": ("deposits_license", "with_license"),
    "orcids": ("deposits_orcid", "with_orcid"),
    "funders": ("acknowledges_funding", "acknowledges_funding"),
    "funder-doi": ("deposits_funder_id", "with_funder_id"),
    "ror-ids": ("deposits_ror_id", "with_ror_id"),
}


def country_figures(pop: Population) -> dict[str, dict[str, float]]:
    """Per country (ISO 3166 alpha-3) of the demo population, from its block counts:

    * ``members``: members with at least one work (Crossref's ``total_members``);
    * ``deposit:<element>``: share (0–1) of those members with at least one work of any type
      and year carrying the element (``deposits_*`` / ``total_members``);
    * ``ja:<element>``: DOI-weighted coverage (0–1) of the country's journal articles of all
      years (``with_*`` / ``n_dois`` of ``document_type`` journal-article);
    * ``ja-share``: the country's share (0–1) of all journal articles.

    A country without journal articles has no ``ja:`` figures.
    """
    from mock_crossref.population import COUNTRIES  # the mock's own vocabulary

    tot = np.bincount(pop.b_member, weights=pop.b_n, minlength=pop.n_members)
    active = tot > 0
    has = {
        e: np.bincount(pop.b_member, weights=pop.b_counts[:, E[e]], minlength=pop.n_members) > 0
        for e in COUNTRY_ELEMENTS
    }
    ja = np.flatnonzero(pop.b_type == TYPE_INDEX["journal-article"])
    ja_country = pop.country[pop.b_member[ja]]
    n_ja = float(pop.b_n[ja].sum()) or 1.0
    out: dict[str, dict[str, float]] = {}
    for ci, c in enumerate(COUNTRIES):
        sel = (pop.country == ci) & active
        n_members = int(sel.sum())
        if not n_members:
            continue
        fig: dict[str, float] = {"members": float(n_members)}
        blocks = ja[ja_country == ci]
        n = float(pop.b_n[blocks].sum())
        fig["ja-share"] = n / n_ja
        for e in COUNTRY_ELEMENTS:
            fig[f"deposit:{e}"] = float(has[e][sel].mean())
            if n:
                fig[f"ja:{e}"] = float(pop.b_counts[blocks, E[e]].sum() / n)
        out[c[1]] = fig
    return out


def real_country_figures(
    participation: dict[str, dict[str, float]], journal_articles: dict[str, dict[str, float]]
) -> dict[str, dict[str, float]]:
    """The same figures as :func:`country_figures` from Crossref's files, for one date:
    ``participation`` = iso3 -> measure -> value of member_participation_stats_by_country,
    ``journal_articles`` = iso3 -> measure -> value of the journal-article rows of
    metadata_coverage_stats_by_country (with ``n_dois``). Countries with no members are left
    out; shares are fractions 0–1."""
    out: dict[str, dict[str, float]] = {}
    n_ja = sum(float(v.get("n_dois") or 0) for v in journal_articles.values()) or 1.0
    for iso3, part in participation.items():
        members = float(part.get("total_members") or 0)
        if not members:
            continue
        fig = {"members": members}
        ja = journal_articles.get(iso3) or {}
        n = float(ja.get("n_dois") or 0)
        fig["ja-share"] = n / n_ja
        for e, (dep, cov) in COUNTRY_ELEMENTS.items():
            fig[f"deposit:{e}"] = float(part.get(dep) or 0) / members
            if n:
                fig[f"ja:{e}"] = float(ja.get(cov) or 0) / n
        out[iso3] = fig
    return out


def fit_countries(
    real: dict[str, dict[str, float]],
    countries: list[str],
    *,
    n_members: int = 33000,
    rounds: int = 6,
    fit_sizes: bool = True,
) -> tuple[dict[str, dict[str, tuple[float, float]]], dict[str, float]]:
    """Fit :data:`mock_crossref.population.COUNTRY_CALIBRATION` and ``COUNTRY_SIZE`` (each
    country's share of journal articles) for ``countries`` to ``real``
    (:func:`real_country_figures`) by fixed-point iteration on full builds: each round scales
    an element's keep multiplier by real/demo deposit share and its mean multiplier by real/demo
    journal-article coverage (damped, clipped to [1/50, 50]). Offline tool (about 10 s a round
    at 33,000 members); the table it returns is pasted into population.py."""
    from mock_crossref import population as popmod

    table: dict[str, dict[str, tuple[float, float]]] = {
        c: dict(popmod.COUNTRY_CALIBRATION.get(c, {})) for c in countries
    }
    sizes = {c: popmod.COUNTRY_SIZE.get(c, 1.0) for c in countries}
    saved = popmod.COUNTRY_CALIBRATION, popmod.COUNTRY_SIZE
    try:
        for _ in range(rounds):
            popmod.COUNTRY_CALIBRATION, popmod.COUNTRY_SIZE = table, sizes
            demo = country_figures(popmod.Population(n_members=n_members))
            for c in countries:
                if c not in demo or c not in real:
                    continue
                ratio = (real[c]["ja-share"] + 1e-4) / (demo[c]["ja-share"] + 1e-4)
                if fit_sizes:
                    sizes[c] = round(
                        float(np.clip(sizes[c] * np.clip(ratio, 0.2, 5), 0.02, 500)), 3
                    )
                for e in COUNTRY_ELEMENTS:
                    keep, mm = table[c].get(e, (1.0, 1.0))
                    d_dep, r_dep = demo[c][f"deposit:{e}"], real[c][f"deposit:{e}"]
                    d_ja, r_ja = demo[c].get(f"ja:{e}"), real[c].get(f"ja:{e}")
                    keep *= float(np.clip(((r_dep + 0.005) / (d_dep + 0.005)) ** 0.8, 0.2, 5))
                    if d_ja is not None and r_ja is not None:
                        mm *= float(np.clip(((r_ja + 0.002) / (d_ja + 0.002)) ** 0.8, 0.2, 5))
                    table[c][e] = (
                        round(float(np.clip(keep, 0.02, 50)), 3),
                        round(float(np.clip(mm, 0.02, 50)), 3),
                    )
    finally:
        popmod.COUNTRY_CALIBRATION, popmod.COUNTRY_SIZE = saved
    return table, sizes
