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
