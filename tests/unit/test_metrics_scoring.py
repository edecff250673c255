"""metrics.scoring: real member summaries, and small frames whose answers are worked out by hand."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import metrics
from metrics import scoring as S
from tests import FIXTURES

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(FIXTURES / "crossref")
MEMBER_FILES = sorted((FIXTURES / "members").glob("*.json"))


# --- helpers ---------------------------------------------------------------------------------


def member_rows(member: dict) -> list[tuple]:
    """Coverage rows (contract §3) for one `/members` item, built the way refresh does.

    One row per type in ``counts-type.all`` (plus any other type listed for the period) ×
    period × metric. ``total`` is ``counts-type[period][type]`` (0 when absent: undated types,
    empty periods); coverage is Crossref's float, NaN when the total is 0.
    """
    rows = []
    counts, cov_type = member.get("counts-type", {}), member.get("coverage-type", {})
    for period in ("current", "backfile", "all"):
        types = dict.fromkeys(counts.get("all", {}))
        types.update(dict.fromkeys(counts.get(period, {})))
        types.update(dict.fromkeys(cov_type.get(period, {})))
        for ctype in types:
            total = int(counts.get(period, {}).get(ctype, 0))
            block = cov_type.get(period, {}).get(ctype) or {}
            for key in metrics.COVERAGE_KEYS:
                value = float(block[key]) if total and key in block else math.nan
                covered = round(value * total) if total else 0
                rows.append(
                    (member["id"], ctype, period, key, covered, total, value, "coverage-type")
                )
    return rows


def coverage_frame(members: list[dict]) -> pd.DataFrame:
    rows = [r for m in members for r in member_rows(m)]
    frame = pd.DataFrame(rows, columns=list(S.COVERAGE_COLUMNS[:8]))
    frame["ci_low"] = np.nan
    frame["ci_high"] = np.nan
    return frame


def load_members(path: Path) -> list[dict]:
    message = json.loads(path.read_text(encoding="utf-8"))["message"]
    return list(message["items"]) if "items" in message else [message]


def hand_frame(rows: list[tuple]) -> pd.DataFrame:
    """Rows of (member_id, content_type, period, metric, covered, total[, source, lo, hi])."""
    out = []
    for r in rows:
        member_id, ctype, period, metric, covered, total, *rest = r
        source = rest[0] if rest else "filter"
        lo, hi = (rest[1], rest[2]) if len(rest) > 1 else (math.nan, math.nan)
        coverage = covered / total if total else math.nan
        out.append((member_id, ctype, period, metric, covered, total, coverage, source, lo, hi))
    return pd.DataFrame(out, columns=list(S.COVERAGE_COLUMNS))


# --- real members --------------------------------------------------------------------------


def test_member_fixtures_are_present():
    """The parametrised tests below would silently vanish without their real records."""
    assert len(MEMBER_FILES) >= 10, MEMBER_FILES


@pytest.mark.parametrize("path", MEMBER_FILES, ids=lambda p: p.name)
def test_all_types_reproduces_crossref_flat_coverage(path):
    members = load_members(path)
    full = S.with_all_types(coverage_frame(members))
    checked = 0
    for period in ("current", "backfile"):
        matrix = S.coverage_matrix(full, S.ALL_TYPES, period)
        for member in members:
            works = member["counts"][f"{period}-dois"]
            row = matrix.reindex(index=[member["id"]], columns=list(metrics.COVERAGE_KEYS)).iloc[0]
            for key in metrics.COVERAGE_KEYS:
                crossref = member["coverage"][f"{key}-{period}"]
                if works == 0:
                    # Crossref reports 0.0 for an empty period; for us it is not applicable
                    assert crossref == 0.0
                    assert math.isnan(row[key]), (member["id"], period, key)
                else:
                    assert row[key] == pytest.approx(crossref, abs=1e-6), (member["id"], key)
                    checked += 1
    # totals: all-types total = counts[period-dois]
    totals = full[(full["content_type"] == S.ALL_TYPES) & (full["metric"] == "references")]
    for member in members:
        for period in ("current", "backfile"):
            got = totals[(totals["member_id"] == member["id"]) & (totals["period"] == period)]
            expected = member["counts"][f"{period}-dois"]
            assert got["total"].sum() == expected
    assert checked or all(m["counts"]["total-dois"] == 0 for m in members)


def test_hindawi_2026_current_is_not_applicable_not_zero():
    member = load_members(FIXTURES / "members" / "member-98-hindawi.2026-06.json")[0]
    assert member["counts"]["current-dois"] == 0
    assert member["coverage"]["licenses-current"] == 0.0
    cov = coverage_frame([member])
    matrix = S.coverage_matrix(cov, S.ALL_TYPES, "current")  # derived on the fly
    assert matrix.loc[98].isna().all()
    assert matrix.loc[98].notna().sum() == 0
    agg = S.aggregate(cov, S.ALL_TYPES, "current")
    assert agg.empty  # no member has current works: nothing to average, not 0 %
    backfile = S.coverage_matrix(cov, S.ALL_TYPES, "backfile")
    # (130272·0.99371 + 6932·0.65046 + …)/137221, as Crossref reports
    assert backfile.loc[98, "licenses"] == pytest.approx(0.976249990890607, abs=1e-9)
    assert S.composite(matrix).isna().all()
    # undated types (journal, component, dataset) are in counts-type.all only
    all_period = S.with_all_types(cov)
    total_all = all_period[
        (all_period["content_type"] == S.ALL_TYPES)
        & (all_period["period"] == "all")
        & (all_period["metric"] == "licenses")
    ]["total"]
    assert total_all.tolist() == [138_567]  # Σ counts-type.all, > total-dois 137,221


def test_type_in_coverage_type_with_zero_count_is_ignored():
    member = load_members(FIXTURES / "members" / "member-1-annals-of-family-medicine.2022-11.json")[
        0
    ]
    base = S.coverage_matrix(coverage_frame([member]), S.ALL_TYPES, "backfile")
    odd = json.loads(json.dumps(member))
    odd["coverage-type"]["backfile"]["book"] = dict.fromkeys(metrics.COVERAGE_KEYS, 1.0)
    changed = S.coverage_matrix(coverage_frame([odd]), S.ALL_TYPES, "backfile")
    pd.testing.assert_frame_equal(base, changed)
    book = S.coverage_matrix(coverage_frame([odd]), "book", "backfile")
    assert book.loc[1].isna().all()  # total 0 → N/A


def test_zero_doi_member_has_no_scores():
    member = load_members(FIXTURES / "members" / "member-9-allen-press-zero-dois.2022-11.json")[0]
    cov = coverage_frame([member])
    assert cov.empty  # no types at all
    full = S.with_all_types(cov)
    assert full.empty
    matrix = S.coverage_matrix(full, S.ALL_TYPES, "current")
    assert matrix.reindex([9]).isna().all().all()


def test_per_type_matrix_is_crossrefs_value():
    member = load_members(
        FIXTURES / "members" / "member-45-british-institute-of-radiology.2022-11.json"
    )[0]
    matrix = S.coverage_matrix(coverage_frame([member]), "journal-article", "current")
    expected = member["coverage-type"]["current"]["journal-article"]
    for key in metrics.COVERAGE_KEYS:
        assert matrix.loc[45, key] == expected[key]
    assert list(matrix.columns) == [k for k in metrics.REGISTRY if k in metrics.COVERAGE_KEYS]


def test_hindawi_improvement_between_snapshots():
    before = coverage_frame(load_members(FIXTURES / "members" / "member-98-hindawi.2022-11.json"))
    after = coverage_frame(load_members(FIXTURES / "members" / "member-98-hindawi.2026-06.json"))
    out = S.improvement(before, after, S.ALL_TYPES, "backfile", min_works=100)
    lic = out[(out["member_id"] == 98) & (out["metric"] == "licenses")].iloc[0]
    # Crossref's own figures: 0.9892643892307927 (2022) → 0.976249990890607 (2026)
    assert lic["before"] == pytest.approx(0.9892643892307927, abs=1e-9)
    assert lic["after"] == pytest.approx(0.976249990890607, abs=1e-9)
    assert lic["change"] == pytest.approx(0.976249990890607 - 0.9892643892307927, abs=1e-9)
    assert lic["works_before"] == 261_932 and lic["works_after"] == 137_221
    # current: 109,050 works in 2022 but none in 2026 → below min_works → not ranked
    assert S.improvement(before, after, S.ALL_TYPES, "current").empty


# --- hand-built frames ----------------------------------------------------------------------


def test_with_all_types_by_hand():
    frame = hand_frame(
        [
            # member 1: 1/3 of 3 journal articles + 1/1 book → (1 + 1)/4 = 0.5
            (1, "journal-article", "current", "abstracts", 1, 3),
            (1, "book", "current", "abstracts", 1, 1),
            (1, "dataset", "current", "abstracts", 0, 0),  # no works: adds nothing
            # member 1 backfile: only empty types → N/A, total 0
            (1, "journal-article", "backfile", "abstracts", 0, 0),
            # member 2: a sample row and a filter row → source "mixed"
            (2, "journal-article", "current", "abstracts", 50, 100, "sample", 0.4, 0.6),
            (2, "book", "current", "abstracts", 0, 100, "filter"),
        ]
    )
    full = S.with_all_types(frame)
    assert len(full) == len(frame) + 3
    agg = full[full["content_type"] == S.ALL_TYPES].set_index(["member_id", "period"])
    one = agg.loc[(1, "current")]
    assert one["coverage"] == pytest.approx(0.5)
    assert one["covered"] == 2 and one["total"] == 4
    assert one["source"] == "filter" and math.isnan(one["ci_low"])
    empty = agg.loc[(1, "backfile")]
    assert empty["total"] == 0 and math.isnan(empty["coverage"])
    two = agg.loc[(2, "current")]
    assert two["coverage"] == pytest.approx(0.25) and two["source"] == "mixed"
    assert math.isnan(two["ci_low"])  # the filter row has no interval: no combined interval
    # idempotent: existing all-types rows are replaced, not doubled
    again = S.with_all_types(full)
    assert len(again) == len(full)
    pd.testing.assert_frame_equal(
        again.sort_values(list(S.COVERAGE_COLUMNS[:4])).reset_index(drop=True),
        full.sort_values(list(S.COVERAGE_COLUMNS[:4])).reset_index(drop=True),
    )
    assert str(full["content_type"].dtype) == str(frame["content_type"].dtype)


def test_all_types_interval_for_sample_rows():
    frame = hand_frame(
        [
            (3, "journal-article", "current", "orcids", 30, 100, "sample", 0.2, 0.4),
            (3, "book", "current", "orcids", 50, 100, "sample", 0.4, 0.6),
        ]
    )
    row = S.with_all_types(frame).iloc[-1]
    assert row["source"] == "sample"
    assert row["coverage"] == pytest.approx(0.4)
    assert row["ci_low"] == pytest.approx(0.3) and row["ci_high"] == pytest.approx(0.5)


def test_coverage_matrix_na_and_options():
    frame = hand_frame(
        [
            (10, "journal-article", "current", "references", 5, 10),
            (10, "journal-article", "current", "abstracts", 0, 10),
            (20, "journal-article", "current", "references", 0, 0),
            (20, "journal-article", "current", "abstracts", 0, 0),
            (30, "book", "current", "references", 1, 1),
        ]
    )
    m = S.coverage_matrix(frame, "journal-article", "current")
    assert list(m.index) == [10, 20]
    assert list(m.columns) == ["references", "abstracts"]
    assert m.loc[10, "references"] == 0.5 and m.loc[10, "abstracts"] == 0.0  # a real zero
    assert m.loc[20].isna().all()  # no works: N/A, not 0
    m2 = S.coverage_matrix(frame, "journal-article", "current", metrics=["abstracts", "orcids"])
    assert list(m2.columns) == ["abstracts", "orcids"]
    assert m2["orcids"].isna().all()
    assert S.coverage_matrix(frame, "journal-article", "backfile").empty
    with pytest.raises(ValueError, match="period"):
        S.coverage_matrix(frame, "journal-article", "recent")
    with pytest.raises(KeyError, match="valid keys"):
        S.coverage_matrix(frame, "journal-article", "current", metrics=["nope"])


def test_doi_weighted_versus_member_mean():
    frame = hand_frame(
        [
            (1, "journal-article", "current", "funders", 900, 900),  # big member, 100 %
            (2, "journal-article", "current", "funders", 0, 100),  # small member, 0 %
            (3, "journal-article", "current", "funders", 0, 0),  # no works: left out
            (4, "journal-article", "current", "funders", 1, 4),  # 25 %
            (1, "journal-article", "current", "abstracts", 0, 900),
            (2, "journal-article", "current", "abstracts", 100, 100),
        ]
    )
    agg = S.aggregate(frame, "journal-article", "current")
    assert list(agg.index) == ["abstracts", "funders"]  # registry order
    f = agg.loc["funders"]
    assert f["doi_weighted"] == pytest.approx(901 / 1004)  # ≈ 0.897: works are mostly member 1
    assert f["member_mean"] == pytest.approx((1 + 0 + 0.25) / 3)  # ≈ 0.417: typical member
    assert f["member_median"] == pytest.approx(0.25)
    assert f["members"] == 3 and f["works"] == 1004
    a = agg.loc["abstracts"]
    assert a["doi_weighted"] == pytest.approx(0.1) and a["member_mean"] == pytest.approx(0.5)
    only = S.aggregate(frame, "journal-article", "current", member_ids=[2, 4])
    assert only.loc["funders", "doi_weighted"] == pytest.approx(1 / 104)
    assert only.loc["funders", "members"] == 2
    assert list(only.columns) == [
        "doi_weighted",
        "member_mean",
        "member_median",
        "members",
        "works",
    ]


def test_composite_renormalises_over_available_metrics():
    matrix = pd.DataFrame(
        {
            "references": [1.0, 1.0, np.nan, 0.2],
            "abstracts": [0.5, 0.5, np.nan, np.nan],
            "orcids": [0.0, np.nan, np.nan, np.nan],
        },
        index=pd.Index([1, 2, 3, 4], name="member_id"),
    )
    w = {"references": 0.5, "abstracts": 0.3, "orcids": 0.2}
    score = S.composite(matrix, w)
    assert score.loc[1] == pytest.approx(0.5 * 1 + 0.3 * 0.5 + 0.2 * 0)  # 0.65
    assert score.loc[2] == pytest.approx((0.5 * 1 + 0.3 * 0.5) / 0.8)  # 0.8125
    assert math.isnan(score.loc[3])  # nothing available
    assert score.loc[4] == pytest.approx(0.2)
    # weights need not sum to 1; zero-weight metrics are ignored
    assert S.composite(matrix, {"references": 2, "abstracts": 0}).loc[4] == pytest.approx(0.2)
    # default weights: a member with every metric at 100 % scores 1
    full = pd.DataFrame([dict.fromkeys(metrics.COVERAGE_KEYS, 1.0)], index=[7])
    assert S.composite(full).loc[7] == pytest.approx(1.0)
    with pytest.raises(KeyError):
        S.composite(matrix, {"nope": 1})
    with pytest.raises(ValueError):
        S.composite(matrix, {"references": -1})
    assert S.composite(matrix, {"descriptions": 1}).isna().all()


def test_size_tiers_and_peer_groups():
    tiers = S.size_tier(pd.Series([0, 999, 1_000, 49_999, 50_000, 2_000_000, np.nan, -1]))
    assert tiers.tolist()[:6] == ["small", "small", "medium", "medium", "large", "large"]
    assert tiers.isna().tolist()[6:] == [True, True]
    members = pd.DataFrame(
        {
            "member_id": [1, 2, 3, 4, 5],
            "total_dois": [10, 5_000, 80_000, 0, 700],
            "gem": [True, False, False, False, True],
            "country": ["GHA", "GBR", "", "USA", None],
            "counts_type": [
                json.dumps({"all": {"journal-article": 7, "book-chapter": 3}}),  # 70 %
                json.dumps({"all": {"journal-article": 60, "book": 40}}),  # 60 %: not > 60 %
                json.dumps({"all": {"book-chapter": 900, "book": 100}}),
                json.dumps({"all": {}}),
                "not json",
            ],
        }
    )
    assert S.peer_groups(members, "size").tolist() == ["small", "medium", "large", "small", "small"]
    assert S.peer_groups(members, "gem").tolist() == ["GEM", "non-GEM", "non-GEM", "non-GEM", "GEM"]
    assert S.peer_groups(members, "country").tolist() == ["GHA", "GBR", "unknown", "USA", "unknown"]
    mix = S.peer_groups(members, "content-mix")
    assert mix.tolist() == ["journal-article", "mixed", "book-chapter", "unknown", "unknown"]
    assert S.peer_groups(members, "award").tolist() == ["GEM", "medium", "large", "small", "GEM"]
    assert list(mix.index) == [1, 2, 3, 4, 5] and mix.index.name == "member_id"
    parsed = members.assign(
        counts_type=[json.loads(v) if v != "not json" else {} for v in members["counts_type"]]
    )
    assert S.peer_groups(parsed, "content-mix").tolist() == mix.tolist()
    with pytest.raises(ValueError, match="size"):
        S.peer_groups(members, "continent")


def test_percentiles_within_groups():
    frame = pd.DataFrame(
        {"abstracts": [0.1, 0.5, 0.9, np.nan, 0.2, 0.2, 0.7]},
        index=pd.Index([1, 2, 3, 4, 5, 6, 7], name="member_id"),
    )
    groups = pd.Series(["a", "a", "a", "a", "b", "b", None], index=frame.index)
    pct = S.percentile_ranks(frame, groups)["abstracts"]
    assert pct.loc[1] == pytest.approx(100 / 3)
    assert pct.loc[2] == pytest.approx(200 / 3)
    assert pct.loc[3] == pytest.approx(100)
    assert math.isnan(pct.loc[4])  # NaN stays NaN and is not counted in its group
    assert pct.loc[5] == pytest.approx(75) and pct.loc[6] == pytest.approx(75)  # tie: average
    assert math.isnan(pct.loc[7])  # no group
    overall = S.percentile_ranks(frame)["abstracts"]
    assert overall.loc[3] == pytest.approx(100) and overall.loc[1] == pytest.approx(100 / 6)
    series = S.percentile_ranks(frame["abstracts"], groups)
    pd.testing.assert_series_equal(series, pct)


def test_improvement_min_volume_and_composite():
    before = hand_frame(
        [
            (1, "journal-article", "current", "abstracts", 30, 150),  # 20 %
            (1, "journal-article", "current", "references", 150, 150),
            (2, "journal-article", "current", "abstracts", 100, 200),  # 50 %
            (2, "journal-article", "current", "references", 100, 200),
            (3, "journal-article", "current", "abstracts", 0, 500),
        ]
    )
    after = hand_frame(
        [
            (1, "journal-article", "current", "abstracts", 40, 80),  # only 80 works now
            (1, "journal-article", "current", "references", 80, 80),
            (2, "journal-article", "current", "abstracts", 240, 300),  # 80 %
            (2, "journal-article", "current", "references", 150, 300),  # 50 %
            (3, "journal-article", "current", "abstracts", 0, 99),  # 99 < 100
        ]
    )
    out = S.improvement(before, after, "journal-article", "current", min_works=100)
    assert set(out["member_id"]) == {2}
    rows = out.set_index("metric")
    assert rows.loc["abstracts", "change"] == pytest.approx(0.3)  # +30 percentage points
    assert rows.loc["references", "change"] == pytest.approx(0.0)
    # composite with default weights over abstracts (0.12) and references (0.12)
    assert rows.loc["composite", "before"] == pytest.approx(0.5)
    assert rows.loc["composite", "after"] == pytest.approx(0.65)
    assert rows.loc["composite", "change"] == pytest.approx(0.15)
    assert list(rows.index) == ["references", "abstracts", "composite"]
    assert (
        rows.loc["abstracts", "works_before"] == 200 and rows.loc["abstracts", "works_after"] == 300
    )
    lower = S.improvement(before, after, "journal-article", "current", min_works=80)
    assert set(lower["member_id"]) == {1, 2, 3}  # 80 and 99 works now pass


def test_wilson_known_values():
    low, high = S.wilson_interval(0, 10)
    assert low == pytest.approx(0.0, abs=1e-12) and high == pytest.approx(0.2775, abs=5e-5)
    low, high = S.wilson_interval(50, 100)
    assert low == pytest.approx(0.4038, abs=5e-5) and high == pytest.approx(0.5962, abs=5e-5)
    low, high = S.wilson_interval(10, 10)
    assert low == pytest.approx(0.7225, abs=5e-5) and high == pytest.approx(1.0)
    low, high = S.wilson_interval(0, 0)
    assert math.isnan(low) and math.isnan(high)
    lo, hi = S.wilson_interval(np.array([0, 50, 3]), np.array([10, 100, 0]))
    assert lo[:2] == pytest.approx([0.0, 0.4038], abs=5e-5) and math.isnan(lo[2])
    assert hi[:2] == pytest.approx([0.2775, 0.5962], abs=5e-5) and math.isnan(hi[2])
    k = pd.Series([50], index=["m"])
    lo_s, _ = S.wilson_interval(k, pd.Series([100], index=["m"]))
    assert list(lo_s.index) == ["m"] and lo_s["m"] == pytest.approx(0.4038, abs=5e-5)


def test_estimate_rows_from_sample_counts():
    samples = pd.DataFrame(
        {
            "member_id": [5, 5, 6],
            "content_type": ["journal-article"] * 3,
            "period": ["current"] * 3,
            "metric": ["clinical-trial-numbers", "ror-affiliation", "ror-affiliation"],
            "k": [50, 0, 0],
            "n": [100, 10, 0],
            "works": [2_000, 10, 40],
        }
    )
    rows = S.estimate_rows(samples)
    assert list(rows.columns) == list(S.COVERAGE_COLUMNS)
    first = rows.iloc[0]
    assert first["coverage"] == 0.5 and first["covered"] == 1_000 and first["total"] == 2_000
    assert first["source"] == "sample"
    assert first["ci_low"] == pytest.approx(0.4038, abs=5e-5)
    assert rows.iloc[1]["ci_high"] == pytest.approx(0.2775, abs=5e-5)
    assert math.isnan(rows.iloc[2]["coverage"]) and math.isnan(rows.iloc[2]["ci_low"])
    # tally → estimate_rows → scoring, end to end
    works = [{"abstract": "<p>x</p>"}, {}, {"abstract": ""}, {"abstract": "y"}]
    k, n = metrics.tally(works, ["abstracts"])["abstracts"]
    est = S.estimate_rows(
        pd.DataFrame(
            {
                "member_id": [9],
                "content_type": ["journal-article"],
                "period": ["all"],
                "metric": ["abstracts"],
                "k": [k],
                "n": [n],
                "works": [400],
            }
        )
    )
    assert est.iloc[0]["coverage"] == 0.5 and est.iloc[0]["covered"] == 200
    m = S.coverage_matrix(S.with_all_types(est), S.ALL_TYPES, "all")
    assert m.loc[9, "abstracts"] == 0.5
