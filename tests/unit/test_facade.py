"""cache/facade.py: memoised views, league filtering/sorting/slicing, CSV safety, lookups."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

import metrics
from metrics import scoring
from tests.browser.synthetic import FORMULA_ID, HOSTILE_ID, HOSTILE_NAME

CT, PER = "journal-article", "current"

pytest_plugins = ("tests.browser.fixtures",)  # shared fixtures: synthetic_dir, use_synthetic, …


@pytest.fixture
def facade(use_synthetic):
    from cache import facade as f

    return f


def test_freshness_and_vocabulary(facade):
    fr = facade.freshness()
    assert fr["is_demo"] is True and fr["snapshot_id"] and fr["data_as_of"]
    keys = facade.metric_keys()
    assert keys == [k for k in metrics.names() if k in keys]
    assert {"references", "abstracts", "funders"} <= set(keys)
    types = facade.content_types()
    assert types[0] == scoring.ALL_TYPES and "journal-article" in types
    assert facade.valid_type("<script>") == "journal-article"
    assert facade.valid_period(["x"]) == "current"
    assert [t for t, _ in facade.size_tiers()] == [t for t, _ in scoring.SIZE_TIERS]


def test_view_matches_scoring_and_is_memoised(facade):
    v = facade.view(CT, PER)
    assert facade.view(CT, PER) is v
    # the stored table, read whole by the store (every row, plain dtypes), scored directly
    stored = facade.store().load(facade.snapshot_id()).coverage
    direct = scoring.coverage_matrix(stored, CT, PER, metrics=v.metrics)
    assert v.matrix.dtypes.eq(np.float32).all()  # compact: float32 fractions
    pd.testing.assert_frame_equal(
        v.matrix.reindex(direct.index).astype(float),  # no row = N/A, as total 0 is
        direct,
        check_names=False,
        check_column_type=False,
        check_index_type=False,
        atol=1e-6,
    )
    assert v.covered.dtypes.eq(np.int32).all() and v.total.dtypes.eq(np.int32).all()
    comp = scoring.composite(v.matrix)
    assert np.allclose(v.composite.fillna(-1), comp.fillna(-1))
    # all-types view derives from the per-type rows
    va = facade.view(scoring.ALL_TYPES, PER)
    assert va.matrix.shape[1] == len(v.metrics)
    assert (va.works >= v.works.reindex(va.works.index).fillna(0)).all()


def test_na_is_not_zero(facade):
    v = facade.view(CT, PER)
    no_works = v.works[v.works == 0].index
    assert len(no_works) > 0
    assert v.matrix.reindex(no_works).isna().all().all()
    rows, _ = facade.league_page(
        CT, PER, facade.LeagueFilter(), 0, 500, [{"colId": "works", "sort": "asc"}]
    )
    zero = [r for r in rows if r["works"] == 0]
    assert zero and all(r["composite"] is None and r["references"] is None for r in zero)


def test_league_filters(facade):
    F = facade.LeagueFilter
    all_rows = facade.league(CT, PER, F())
    assert len(all_rows) == len(facade.members())
    idn = facade.league(CT, PER, F(country=("IDN",)))
    assert len(idn) and set(idn["country"]) == {"IDN"}
    gem = facade.league(CT, PER, F(gem="gem"))
    assert len(gem) and gem["gem"].all()
    non = facade.league(CT, PER, F(gem="non-gem"))
    assert len(gem) + len(non) == len(all_rows)
    tier = facade.league(CT, PER, F(tier=("small",)))
    assert set(tier["size_tier"]) == {"small"}
    by_name = facade.league(CT, PER, F(search="hostile"))
    assert by_name["member_id"].tolist() == [HOSTILE_ID]
    by_id = facade.league(CT, PER, F(search=str(FORMULA_ID)))
    assert FORMULA_ID in by_id["member_id"].tolist()
    regexy = facade.league(CT, PER, F(search=".*(["))  # not a regex
    assert len(regexy) == 0
    big = facade.league(CT, PER, F(min_works=1000))
    assert (big["works"] >= 1000).all()


def test_league_sort_and_grid_filters(facade):
    F = facade.LeagueFilter
    default = facade.league(CT, PER, F())
    comp = default["composite"].dropna().to_numpy()
    assert (np.diff(comp) <= 1e-12).all()  # composite desc
    assert default["composite"].isna().to_numpy()[len(comp) :].all()  # N/A last
    by_name = facade.league(CT, PER, F(), [{"colId": "name", "sort": "asc"}])
    names = by_name["name"].str.lower().tolist()
    assert names == sorted(names)
    fm = {"references": {"filterType": "number", "type": "greaterThanOrEqual", "filter": 50}}
    hi = facade.league(CT, PER, F(), None, fm)
    assert len(hi) and (hi["references"] >= 0.5 - 1e-9).all()
    fm_text = {"name": {"filterType": "text", "type": "contains", "filter": "press"}}
    assert (
        facade.league(CT, PER, F(), None, fm_text)["name"].str.lower().str.contains("press").all()
    )
    hostile_models = [
        {"__class__": {"filterType": "number", "type": "equals", "filter": 1}},
        {"references": {"filterType": "number", "type": "equals", "filter": "NaN"}},
        {"references": {"filterType": "number", "type": "drop table", "filter": 1}},
        {"references": "garbage"},
        {"name": {"filterType": "text", "type": "contains", "filter": None}},
    ]
    for model in hostile_models:
        assert len(facade.league(CT, PER, F(), [{"colId": "__dict__", "sort": "up"}], model)) > 0


def test_league_page_payload(facade):
    rows, total = facade.league_page(CT, PER, facade.LeagueFilter(), 100, 200)
    assert total == len(facade.members()) and len(rows) == 100
    text = json.dumps(rows, allow_nan=False)  # JSON-safe: no NaN
    assert len(text) < 60_000
    rows, _ = facade.league_page(CT, PER, None, 0, 10_000)
    assert len(rows) <= 500  # one block is capped
    r = rows[0]
    assert 0 <= r["composite"] <= 100 and isinstance(r["member_id"], int)


def test_csv_neutralises_formulas(facade):
    assert facade.csv_safe("=1+1") == "'=1+1"
    for bad in ("+1", "-1", "@SUM(A1)", "\tx", "\rx"):
        assert facade.csv_safe(bad).startswith("'")
    assert facade.csv_safe("Plain") == "Plain" and facade.csv_safe(3) == 3
    text = facade.league_csv(CT, PER, facade.LeagueFilter(search=str(FORMULA_ID)))
    lines = text.splitlines()
    assert lines[0].startswith("member_id,name,country")
    assert any("'=HYPERLINK" in line for line in lines[1:])
    assert not any(line.split(",", 2)[1].startswith("=") for line in lines[1:])
    assert "nan" not in text.lower().replace("name", "")


def test_search_and_member(facade):
    opts = facade.search_members("hostile")
    assert opts and opts[0]["value"] == str(HOSTILE_ID) and HOSTILE_NAME in opts[0]["label"]
    assert facade.search_members(str(FORMULA_ID))[0]["value"] == str(FORMULA_ID)
    kept = facade.search_members("zzz-no-match", keep=["1000", "nope"])
    assert [o["value"] for o in kept] == ["1000"]
    assert len(facade.search_members("", limit=5)) == 5
    # a select sends the chosen label back as its search text: that member must stay in the options
    picked = facade.search_members(f"Some Name ({FORMULA_ID})")
    assert picked[0]["value"] == str(FORMULA_ID)
    assert len(facade.search_members("fictitious", limit=7)) == 7
    assert (
        facade.member("abc") is None
        and facade.member("-1") is None
        and facade.member("1e3") is None
    )
    assert facade.member("123456789") is None
    info = facade.member("1000")
    assert info["member_id"] == 1000 and isinstance(info["dois_by_year"], dict)
    assert not facade.works_by_year(1000).empty


def test_compare_peer_countries_funders_shortlist(facade):
    ids = [str(i) for i in range(1000, 1012)] + ["x", "999999"]
    data = facade.compare(ids, CT, PER)
    assert len(data["ids"]) == 8 and all(isinstance(i, int) for i in data["ids"])
    pos = facade.peer_position(1001, CT, PER, "size")
    f = pos["frame"]
    assert set(f["metric"]) >= set(facade.metric_keys())
    assert f["percentile"].dropna().between(0, 100).all()
    assert facade.peer_position(1001, CT, PER, "bogus")["by"] == "size"
    c = facade.countries(CT, PER, "abstracts")
    assert "" not in set(c["country"]) and c["doi_weighted"].dropna().between(0, 1).all()
    assert facade.countries(CT, PER, "not-a-metric").shape[0] == c.shape[0]
    fs = facade.funders_summary(CT, PER)
    assert "funders" in fs["metrics"]
    # the gap = works without funder info, summed over members with works, from the raw table
    cov = facade.snapshot().coverage
    rows = cov[
        (cov["content_type"] == CT)
        & (cov["period"] == PER)
        & (cov["metric"] == "funders")
        & (cov["total"] > 0)
    ]
    assert fs["gap_works"] == int((rows["total"] - rows["covered"]).sum()) > 0
    groups = facade.shortlist(CT, PER, None, min_works=10, top_n=5)
    assert set(groups) == {"gem", "small", "medium", "large"}
    assert all(len(g) <= 5 for g in groups.values())
    assert groups["gem"]["gem"].all()
    assert not groups["small"]["gem"].any()
    csv_text = facade.shortlist_csv(CT, PER, None, 10, 5)
    assert csv_text.splitlines()[0].startswith("peer_group,rank,member_id")


def test_clean_weights(facade):
    base = facade.default_weights()
    w = facade.clean_weights(
        {"references": "5", "abstracts": "nan", "bogus": 3, "orcids": -2, "licenses": "1e9"}
    )
    assert w["references"] == 5 and w["abstracts"] == base["abstracts"]
    assert "bogus" not in w and w["orcids"] == 0 and w["licenses"] == 100
    assert facade.clean_weights(dict.fromkeys(base, 0)) == base  # all zero → defaults


def test_change_and_enrichment(two_snapshots):
    from cache import facade

    _, first, second = two_snapshots
    assert facade.snapshot_id() == second
    assert facade.previous_snapshot_id() == first
    ch = facade.change_since_previous(1001, CT, PER)
    assert ch["previous"]["id"] == first
    frame = ch["frame"]
    assert {"before", "value", "change_pp"} <= set(frame.columns)
    res = facade.enrichment(first, second, CT, PER, min_works=10, top_n=10)
    assert res is not None and len(res) <= 10
    assert res["composite_change"].is_monotonic_decreasing
    assert facade.enrichment(first, first, CT, PER) is None
    assert facade.enrichment("../../etc", second, CT, PER) is None


def test_single_snapshot_has_no_previous(facade):
    assert facade.previous_snapshot_id() is None
    assert facade.change_since_previous(1001, CT, PER) == {"previous": None, "frame": None}


def test_funder_drilldowns(facade, synthetic_dir):
    assert facade.funder_reports() == []
    d = synthetic_dir / "drilldown"
    d.mkdir(exist_ok=True)
    (d / "funder-100000001.json").write_text(
        json.dumps(
            {
                "id": "10.13039/100000001",
                "name": "<b>Fund</b>",
                "kind": "doi",
                "publishers": [
                    {
                        "publisher": "=cmd|x",
                        "period": "current",
                        "works": 3,
                        "with_award": 1,
                        "award_share": 0.33,
                    }
                ],
            }
        )
    )
    (d / "funder-broken.json").write_text("{not json")
    listed = facade.funder_reports()
    assert [x["key"] for x in listed] == ["100000001"]  # an unreadable file is skipped
    got = facade.funder_report("100000001")
    assert got["name"] == "<b>Fund</b>" and len(got["table"]) == 1
    assert facade.funder_report("../../secrets") is None
    assert facade.funder_report("broken") is None
    for p in d.iterdir():
        p.unlink()


def test_no_snapshot(tmp_path):
    import app  # noqa: F401
    from cache import facade

    facade.configure(tmp_path)
    try:
        assert facade.has_snapshot() is False
        assert facade.freshness()["snapshot_id"] is None
        assert facade.search_members("x") == []
        assert facade.member("1") is None
        with pytest.raises(LookupError):
            facade.view(CT, PER)
    finally:
        facade.configure(None)


def test_pct_formatting():
    from cache import facade

    assert facade.pct(0.1234) == "12.3 %"
    assert facade.pct(float("nan")) == "—" and facade.pct(None) == "—" and facade.pct("x") == "—"
    assert not math.isnan(0.0) and facade.pct(0.0) == "0.0 %"


def test_new_snapshot_is_picked_up_and_old_one_released(tmp_path):
    import time

    import app  # noqa: F401
    from cache import facade
    from tests.browser import synthetic

    first = synthetic.publish(tmp_path, seed=1)
    facade.configure(tmp_path)
    try:
        v1 = facade.view(CT, PER)
        assert v1.snapshot_id == first
        time.sleep(1.05)
        second = synthetic.publish(tmp_path, seed=2)
        assert facade.cache().pointer(refresh=True) == second  # skip the 2 s re-check interval
        assert facade.snapshot_id() == second
        v2 = facade.view(CT, PER)
        assert v2.snapshot_id == second and v2 is not v1
        assert facade.cache().loaded_ids() == [second]  # the old tables are not kept in memory
        assert all(k[0] == second for k in facade.cache().view_keys())
    finally:
        facade.configure(None)


# -- one definition per concept --------------------------------------------------------------


def test_period_labels_peer_groupings_and_columns_are_defined_once(facade):
    from cache.store import snapshots
    from pages.components import ui

    assert facade.PERIOD_LABELS is scoring.PERIOD_LABELS
    assert list(facade.PERIOD_LABELS) == list(scoring.PERIODS) == facade.periods()
    assert not hasattr(ui, "PERIOD_LABELS")  # pages use the facade's labels
    assert snapshots.PERIODS is scoring.PERIODS
    assert facade.PEER_GROUPINGS is scoring.PEER_GROUPINGS
    assert set(facade.PEER_GROUPINGS) >= {"size", "gem", "country", "award"}
    assert tuple(snapshots.COVERAGE_COLUMNS) == scoring.COVERAGE_COLUMNS
    # size tiers read as the ranges of scoring.SIZE_TIERS
    assert facade.size_tiers() == [
        ("small", "< 1,000 works"),
        ("medium", "1,000–49,999 works"),
        ("large", "≥ 50,000 works"),
    ]
    assert facade.estimate_text(0.4234, 0.33, 0.52, 100, " works") == (
        "≈ 42 % (95 % CI 33–52 %, n = 100 works)"
    )


# -- bounded memory ----------------------------------------------------------------------------


def test_views_are_evicted_least_recently_used(synthetic_dir):
    from cache import facade
    from cache.crossref.settings import Settings

    facade.configure(
        synthetic_dir, settings=Settings.from_env(data_dir=synthetic_dir, view_cache_size=2)
    )
    try:
        c = facade.cache()
        a = facade.view(CT, "current")
        a.cached("probe", lambda: "kept with its view")
        facade.view(CT, "all")
        assert facade.view(CT, "current") is a  # a hit refreshes its place
        facade.view(CT, "backfile")  # evicts (CT, "all"), the least recently used
        sid = facade.snapshot_id()
        assert c.view_keys() == [(sid, CT, "current"), (sid, CT, "backfile")]
        facade.view(scoring.ALL_TYPES, "current")
        assert (sid, CT, "current") not in c.view_keys() and len(c.view_keys()) == 2
        again = facade.view(CT, "current")  # rebuilt, equal, and its memo went with the old one
        assert again is not a and again.matrix.equals(a.matrix)
        assert again.cached("probe", lambda: "recomputed") == "recomputed"
    finally:
        facade.configure(synthetic_dir)


# -- fall back, don't fall over -----------------------------------------------------------------


def _damage(folder, how: str) -> None:
    cov = folder / "coverage.parquet"
    if how == "truncated":
        data = cov.read_bytes()
        cov.write_bytes(data[: len(data) // 2])
    elif how == "garbled":
        data = bytearray(cov.read_bytes())
        mid = len(data) // 2
        data[mid : mid + 4096] = np.random.default_rng(1).bytes(4096)
        cov.write_bytes(bytes(data))
    elif how == "missing":
        (folder / "members.parquet").unlink()
    elif how == "bad-meta":
        (folder / "meta.json").write_text("{not json", encoding="utf-8")
    elif how == "wrong-schema":  # a readable file without `total` (checksums dropped: legacy)
        pd.read_parquet(cov).drop(columns=["total"]).to_parquet(cov, index=False)
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        meta.pop("files", None)
        (folder / "meta.json").write_text(json.dumps(meta), encoding="utf-8")


@pytest.mark.parametrize("how", ["truncated", "garbled", "missing", "bad-meta", "wrong-schema"])
def test_unreadable_latest_snapshot_falls_back_with_a_warning(tmp_path, how):
    import app  # noqa: F401
    from cache import facade
    from pages.components import badges
    from tests.browser import synthetic

    first = synthetic.publish(tmp_path, seed=1)
    second = synthetic.publish(tmp_path, seed=2)
    _damage(tmp_path / "snapshots" / second, how)
    facade.configure(tmp_path)
    try:
        fr = facade.freshness()
        assert fr["snapshot_id"] == first and fr["broken"] == [second]
        assert fr["warning"].startswith(f"Snapshot {second} could not be read (")
        assert fr["warning"].endswith(f"; showing {first}")
        # every page keeps working on the older snapshot
        assert len(facade.league(CT, PER)) == len(facade.members()) > 0
        assert facade.previous_snapshot_id() is None  # the broken one is never "previous"
        assert facade.change_since_previous(1001, CT, PER)["previous"] is None
        assert facade.enrichment(first, second, CT, PER) is None
        h = facade.health()
        assert h["snapshot_id"] == first and h["broken"] == [second] and h["members"] > 0
        assert h["snapshot_age_s"] is not None and 0 <= h["snapshot_age_s"] < 600
        header = str(badges.freshness(compact=True))
        assert "Latest snapshot unreadable" in header and second in header and first in header
    finally:
        facade.configure(None)


def test_a_repairing_publish_clears_the_warning_and_nothing_readable_is_no_snapshot(tmp_path):
    import app  # noqa: F401
    from cache import facade
    from tests.browser import synthetic

    first = synthetic.publish(tmp_path, seed=1)
    _damage(tmp_path / "snapshots" / first, "truncated")
    facade.configure(tmp_path)
    try:
        assert facade.has_snapshot() is False
        fr = facade.freshness()
        assert fr["snapshot_id"] is None and fr["broken"] == [first]
        assert fr["warning"].endswith("; no older snapshot can be read")
        assert facade.health()["snapshot_id"] is None
        with pytest.raises(LookupError):
            facade.view(CT, PER)
        second = synthetic.publish(tmp_path, seed=2)
        assert facade.cache().pointer(refresh=True) == second
        fr = facade.freshness()
        assert fr["snapshot_id"] == second and fr["warning"] is None and fr["broken"] == [first]
        assert facade.view(CT, PER).snapshot_id == second
    finally:
        facade.configure(None)


def test_store_compact_filtered_read_matches_the_full_table(facade):
    store = facade.store()
    sid = facade.snapshot_id()
    full = store.load(sid).coverage
    ids = [1001, 1002, HOSTILE_ID]
    got = store.read_coverage(
        sid,
        columns=["member_id", "content_type", "metric", "covered", "total", "coverage"],
        filters=[("period", "=", PER), ("total", ">", 0), ("member_id", "in", ids)],
    )
    want = full[(full["period"] == PER) & (full["total"] > 0) & full["member_id"].isin(ids)]
    assert len(got) == len(want) > 0 and set(got["member_id"]) <= set(ids)
    assert isinstance(got["metric"].dtype, pd.CategoricalDtype)
    assert got["covered"].dtype == np.int32 and got["coverage"].dtype == np.float64
    key = ["member_id", "content_type", "metric"]
    text = dict.fromkeys(key[1:], str)
    merged = got.astype(text).merge(want.astype(text), on=key)
    assert len(merged) == len(want)
    assert (merged["covered_x"] == merged["covered_y"]).all()
    assert np.allclose(merged["coverage_x"], merged["coverage_y"], equal_nan=True)
    with pytest.raises(ValueError):
        store.read_coverage(sid, columns=["not-a-column"])
