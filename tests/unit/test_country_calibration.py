"""The demo population's countries against Crossref's own figures of 2026-04-30 (issue 10 §5).

Real figures: ``tests/fixtures/crossref-country-stats`` ("State of Crossref metadata by member
country", Zenodo record 19928426), read with the project's importer
(:func:`cache.jobs.country_stats.read_file`). Demo figures: the full 33,000-member population's
block counts (:func:`mock_crossref.calibration.country_figures`, no HTTP). Compared for the 20
countries with the most members, per figure, within these stated tolerances (absolute, in
fractions 0–1):

* share of members among the 20 countries: ≤ 0.01 each;
* share of members depositing each element (references, abstracts, licences, ORCID iDs,
  funding, funder IDs, ROR IDs): ≤ 0.25 each, ≤ 0.04 on average;
* DOI-weighted coverage of the country's journal articles (all years) for the same elements:
  ≤ 0.30 each, ≤ 0.05 on average.

The widest gaps remain where a country's journal articles sit with one or two large members
(whose element rates are drawn, not fitted one by one). The worst deviations are printed.
"""

from __future__ import annotations

import functools
import time
from collections import defaultdict

import pytest

from cache.jobs.country_stats import ImportReport, read_file
from mock_crossref.calibration import COUNTRY_ELEMENTS, country_figures, real_country_figures
from mock_crossref.population import Population
from tests import FIXTURES

STATS = FIXTURES / "crossref-country-stats"
DATE = "2026-04-30"
TOP = 20
TOLERANCE = {"members-share": (0.01, 0.01), "deposit": (0.25, 0.04), "ja": (0.30, 0.05)}


@functools.cache
def _real() -> dict[str, dict[str, float]]:
    report = ImportReport()
    part = read_file(STATS / "member_participation_stats_by_country.csv", report)
    cov = read_file(STATS / f"metadata_coverage_stats_by_country.{DATE}.csv", report)
    assert not report.malformed
    participation: dict[str, dict[str, float]] = defaultdict(dict)
    for r in part[part.current_up_to == DATE].itertuples():
        participation[r.iso3_code][r.measure] = r.value
    journal_articles: dict[str, dict[str, float]] = defaultdict(dict)
    ja = cov[(cov.current_up_to == DATE) & (cov.document_type == "journal-article")]
    for r in ja.itertuples():
        journal_articles[r.iso3_code][r.measure] = r.value
    return real_country_figures(participation, journal_articles)


@pytest.fixture(scope="module")
def demo() -> dict[str, dict[str, float]]:
    started = time.monotonic()
    pop = Population(n_members=33000)
    print(f"\n33,000-member population built in {time.monotonic() - started:.1f} s")
    return country_figures(pop)


def test_the_real_figures_are_read_exactly():
    real = _real()
    # Indonesia, journal articles, 2026-04-30: 2,713,670 of 2,958,493 with an abstract
    assert real["IDN"]["ja:abstracts"] == pytest.approx(2_713_670 / 2_958_493, abs=1e-12)
    assert real["IDN"]["members"] == 4517


def test_demo_countries_match_crossrefs_figures(demo) -> None:
    real = _real()
    top = sorted(real, key=lambda c: -real[c]["members"])[:TOP]
    assert set(top) <= set(demo), sorted(set(top) - set(demo))
    real_total = sum(real[c]["members"] for c in top)
    demo_total = sum(demo[c]["members"] for c in top)
    rows: list[tuple[float, str, str, float, float]] = []
    for c in top:
        share = (real[c]["members"] / real_total, demo[c]["members"] / demo_total)
        rows.append((abs(share[1] - share[0]), c, "members-share", *share))
        for e in COUNTRY_ELEMENTS:
            for kind in ("deposit", "ja"):
                key = f"{kind}:{e}"
                if key in real[c]:
                    want, got = real[c][key], demo[c][key]
                    rows.append((abs(got - want), c, key, want, got))
    rows.sort(reverse=True)
    print("\nworst deviations (|demo - real|, country, figure, real, demo):")
    for dev, c, key, want, got in rows[:12]:
        print(f"  {dev:.3f}  {c}  {key:<22} real {want:.3f}  demo {got:.3f}")
    failures = []
    for kind, (each, mean) in TOLERANCE.items():
        devs = [r for r in rows if r[2].split(":")[0] == kind]
        assert devs, kind
        failures += [r for r in devs if r[0] > each]
        average = sum(r[0] for r in devs) / len(devs)
        print(f"  {kind}: mean |dev| {average:.3f} (≤ {mean}), max {devs[0][0]:.3f} (≤ {each})")
        assert average <= mean, (kind, average)
    assert not failures, failures
