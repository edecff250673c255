"""Shortlist page: weights from the registry, peer groups, URL round trip, CSV."""

from __future__ import annotations

from urllib.parse import parse_qs

from tests.unit.test_pages_common import all_ids

pytest_plugins = ("tests.browser.fixtures",)  # shared fixtures: synthetic_dir, use_synthetic, …


def _s():
    import app  # noqa: F401
    from pages import shortlist

    return shortlist


def _ids(keys):
    return [{"type": "shortlist-weight", "metric": k} for k in keys]


def test_weight_inputs_come_from_registry(use_synthetic):
    s = _s()
    from cache import facade

    ids = [i for i in all_ids(s.layout()) if isinstance(i, dict)]
    assert [i["metric"] for i in ids] == facade.metric_keys()


def test_update_and_url_round_trip(use_synthetic):
    s = _s()
    from cache import facade

    keys = facade.metric_keys()
    base = facade.default_weights()
    values = [base[k] for k in keys]
    values[0] = 3
    search, groups, enrichment = s.update(
        "journal-article", "current", 10, 5, values, None, None, _ids(keys)
    )
    q = {k: v[0] for k, v in parse_qs(search[1:]).items()}
    assert q["w"] == f"{keys[0]}:3" and q["min_works"] == "10" and q["top"] == "5"
    state = s.parse(q)
    assert state["weights"][keys[0]] == 3 and state["min_works"] == 10 and state["top"] == 5
    assert {
        "shortlist-group-gem",
        "shortlist-group-small",
        "shortlist-group-medium",
        "shortlist-group-large",
    } <= set(all_ids(groups))
    assert "shortlist-one-snapshot" in all_ids(enrichment)


def test_reset_and_export(use_synthetic):
    s = _s()
    from cache import facade

    keys = facade.metric_keys()
    assert s.reset_weights(1, _ids(keys)) == [facade.default_weights()[k] for k in keys]
    out = s.export_csv(1, "journal-article", "current", 10, 3, [1] * len(keys), _ids(keys))
    assert out["content"].splitlines()[0].startswith("peer_group,rank,member_id,name")


def test_hostile_weights(use_synthetic):
    s = _s()
    w = s.parse_weights("references:NaN,abstracts:inf,orcids:-4,bogus:1,::,licenses:7")
    from cache import facade

    base = facade.default_weights()
    assert w["references"] == base["references"] and w["orcids"] == 0 and w["licenses"] == 7
    assert "bogus" not in w


def test_enrichment_between_two_snapshots(two_snapshots):
    s = _s()
    from cache import facade

    _, first, second = two_snapshots
    keys = facade.metric_keys()
    vals = [facade.default_weights()[k] for k in keys]
    _, _, enrichment = s.update(
        "journal-article", "current", 10, 5, vals, first, second, _ids(keys)
    )
    assert "shortlist-enrichment-grid" in all_ids(enrichment)
    _, _, same = s.update("journal-article", "current", 10, 5, vals, second, second, _ids(keys))
    assert "shortlist-enrichment-grid" not in all_ids(same)
