"""The demo population: determinism, invariants, fictitious names, calibration (full 33k)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from mock_crossref import calibration
from mock_crossref.population import (
    COUNTED,
    COUNTRIES,
    COVERAGE_KEYS,
    CURRENT,
    PARENT,
    TYPE_INDEX,
    E,
    Perm,
    Population,
)

ROOT = Path(__file__).resolve().parents[2]
GEM_CSV = ROOT / "cache" / "jobs" / "data" / "gem-countries.csv"


@pytest.fixture(scope="module")
def small() -> Population:
    return Population(2000, seed=42)


@pytest.fixture(scope="module")
def full() -> Population:
    return Population()


def test_perm_is_a_bijection_and_invertible():
    for m in (1, 2, 3, 7, 64, 65, 1000, 12345):
        p = Perm(m, 0xDEADBEEF ^ m)
        v = p(np.arange(m))
        assert sorted(v.tolist()) == list(range(m))
        assert np.array_equal(p.inverse(v), np.arange(m))


def test_same_seed_same_population(small):
    again = Population(2000, seed=42)
    for m in (0, 1, 17, 500, 1999):
        assert small.member_json(m) == again.member_json(m)
    other = Population(2000, seed=43)
    assert [small.member_json(m) for m in range(5)] != [other.member_json(m) for m in range(5)]


def test_counts_respect_subsets(small):
    c, n = small.b_counts, small.b_n
    assert (c >= 0).all()
    assert (c[:, : len(COUNTED)] <= n[:, None]).all()
    for child, parent in PARENT.items():
        assert (c[:, child] <= c[:, parent]).all(), COUNTED[child]
    # award ⊆ funders, ROR ⊆ affiliations, funder DOI ⊆ funders
    assert (c[:, E["award-numbers"]] <= c[:, E["funders"]]).all()
    assert (c[:, E["ror-ids"]] <= c[:, E["affiliations"]]).all()


def test_member_items_are_consistent(small):
    for m in range(0, 2000, 37):
        item = small.member_item(m)
        counts = item["counts"]
        assert counts["total-dois"] == counts["current-dois"] + counts["backfile-dois"]
        assert sum(item["counts-type"]["current"].values()) == counts["current-dois"]
        assert sum(item["counts-type"]["backfile"].values()) == counts["backfile-dois"]
        assert sum(item["counts-type"]["all"].values()) >= counts["total-dois"]
        assert sum(c for _, c in item["breakdowns"]["dois-by-issued-year"]) == counts["total-dois"]
        pairs = item["breakdowns"]["dois-by-issued-year"]
        assert pairs == sorted(pairs, key=lambda p: (-p[1], -p[0]))
        for period in ("current", "backfile"):
            tot = counts[f"{period}-dois"]
            per = item["coverage-type"][period]
            assert set(per) == set(item["counts-type"][period])
            for key in COVERAGE_KEYS:
                flat = item["coverage"][f"{key}-{period}"]
                if tot == 0:
                    assert flat == 0.0
                    assert per == {}
                    continue
                weighted = sum(item["counts-type"][period][t] * per[t][key] for t in per) / tot
                assert flat == pytest.approx(weighted, abs=1e-12)
                assert item["flags"][f"deposits-{key}-{period}"] == (flat > 0)
        assert item["flags"]["deposits"] == bool(item["counts-type"]["all"])
        assert item["flags"]["deposits-articles"] == (
            "journal-article" in item["counts-type"]["all"]
        )


def test_population_has_the_odd_members(small):
    items = [json.loads(t) for t in small.members_json(range(small.n_members))]
    zero = [i for i in items if not i["counts-type"]["all"]]
    assert zero, "a few members with no works at all (like Allen Press, member 9)"
    z = zero[0]
    assert z["coverage-type"] == {"all": {}, "backfile": {}, "current": {}}
    assert z["breakdowns"] == {"dois-by-issued-year": []}
    assert not any(z["flags"].values())
    assert any(
        i["counts"]["current-dois"] == 0 and i["counts"]["backfile-dois"] > 0 for i in items
    ), "members with no current works"
    assert any(sum(i["counts-type"]["all"].values()) > i["counts"]["total-dois"] for i in items), (
        "members with undated works (counted in counts-type.all only)"
    )
    assert any(len(i["counts-type"]["all"]) >= 3 for i in items), "multi-type members"
    assert any(len(i["prefixes"]) > 1 for i in items)


def test_names_are_fictitious_unique_and_locations_parse(full):
    names = full.names
    assert len(set(names)) == len(names)
    real = (
        "Elsevier",
        "Springer",
        "Wiley",
        "Taylor",
        "Hindawi",
        "MDPI",
        "Sage",
        "Oxford",
        "Cambridge",
        "Nature",
        "IEEE",
        "American",
    )
    assert not any(r.lower() in n.lower() for n in names for r in real)
    countries = {c[0] for c in COUNTRIES}
    last = [loc.rsplit(",", 1)[-1].strip() for loc in full.locations]
    share_parsable = np.mean([x in countries for x in last])
    assert 0.95 < share_parsable < 1.0  # a few locations carry no country, as in Crossref
    with GEM_CSV.open(encoding="utf-8") as fh:
        gem_iso = {row["iso3"] for row in csv.DictReader(fh)}
    present_iso = {COUNTRIES[c][1] for c in np.unique(full.country)}
    assert len(gem_iso & present_iso) >= 30
    assert all(p.startswith("10.9") and len(p) == 9 for ps in full.prefixes for p in ps)
    funder_ids = [f.id for f in full.registry_funders]
    assert len(set(funder_ids)) == len(funder_ids) >= 300
    assert all(i.startswith("5") and len(i) == 9 for i in funder_ids)
    assert any(f.ror and not f.id for f in full.funders)  # ROR-only funders exist


def test_full_population_is_small():
    # Speed is measured in bench/, not asserted here (shared machines are noisy).
    pop = Population()
    assert pop.n_members == 33000
    nbytes = sum(v.nbytes for v in vars(pop).values() if isinstance(v, np.ndarray))
    assert nbytes < 80e6, nbytes


def test_members_page_is_valid_and_repeatable(full):
    page = b",".join(full.members_json(range(20000, 21000)))
    again = b",".join(full.members_json(range(20000, 21000)))
    assert page == again
    assert len(json.loads(b"[" + page + b"]")) == 1000


def test_calibration_targets_on_full_population(full):
    failures = calibration.check(full)
    assert not failures, "\n".join(failures)


def test_country_effects(full):
    got = calibration.measure(full)["country"]
    assert got["Indonesia/abstracts"] > 0.8 > 0.05 > got["Japan/abstracts"]
    assert got["Indonesia/licenses"] > 10 * max(got["Japan/licenses"], 0.001)
    assert got["Indonesia/references"] < got["Japan/references"]
    # per-member view: typical Indonesian member high abstracts, typical Japanese member none
    ja = np.flatnonzero((full.b_type == TYPE_INDEX["journal-article"]) & (full.b_period == CURRENT))
    cov = full.b_counts[ja, E["abstracts"]] / full.b_n[ja]
    ctry = full.country[full.b_member[ja]]
    idn = next(i for i, c in enumerate(COUNTRIES) if c[0] == "Indonesia")
    jpn = next(i for i, c in enumerate(COUNTRIES) if c[0] == "Japan")
    assert np.median(cov[ctry == idn]) > 0.8
    assert np.median(cov[ctry == jpn]) == 0.0
    fund = full.b_counts[ja, E["funders"]] / full.b_n[ja]
    assert np.mean(fund[ctry == idn] == 0) > 0.95
