"""Shortlist page: weights from the registry, peer groups, URL round trip, CSV."""

from __future__ import annotations

import csv
import io
import json
from urllib.parse import parse_qs

import pytest

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
    base = s.default_percent()
    values = [base[k] for k in keys]
    values[0] = 3
    search, groups, enrichment, total, color, note, rules = s.update(
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
    assert total == f"Total {sum(values):g} %" and color == "orange" and "not 100 %" in note
    assert sum(base.values()) == pytest.approx(100)  # the defaults in percent sum to 100
    assert "Minimum volume" in json.dumps([r.to_plotly_json() for r in rules], default=str)


def test_reset_and_export(use_synthetic):
    s = _s()
    from cache import facade

    keys = facade.metric_keys()
    assert s.reset_weights(1, _ids(keys)) == [s.default_percent()[k] for k in keys]
    out = s.export_csv(1, "journal-article", "current", 10, 3, [1] * len(keys), _ids(keys))
    assert (
        out["content"]
        .splitlines()[0]
        .startswith("peer_group,rank,tie,group_members,small_group,member_id,name")
    )
    rows = list(csv.DictReader(io.StringIO(out["content"])))
    assert rows and {r["snapshot_id"] for r in rows} == {facade.snapshot_id()}
    assert all(
        float(r[f"weight {facade.metric_label(k)} (%)"]) == pytest.approx(100 / len(keys), abs=0.01)
        for r in rows
        for k in keys
    )
    assert {r["min_works"] for r in rows} == {"10"} and all(r["tie_rule"] for r in rows)
    # ranks are integers; a tie shares the rank of the best of its members
    for g in {r["peer_group"] for r in rows}:
        ranks = [int(r["rank"]) for r in rows if r["peer_group"] == g]
        assert ranks == sorted(ranks) and ranks[0] == 1


def test_hostile_weights(use_synthetic):
    s = _s()
    w = s.parse_weights("references:NaN,abstracts:inf,orcids:-4,bogus:1,::,licenses:7")

    base = s.default_percent()
    assert w["references"] == base["references"] and w["orcids"] == 0 and w["licenses"] == 7
    assert "bogus" not in w


def test_enrichment_between_two_snapshots(two_snapshots):
    s = _s()
    from cache import facade

    _, first, second = two_snapshots
    keys = facade.metric_keys()
    vals = [s.default_percent()[k] for k in keys]
    _, _, enrichment, *_ = s.update(
        "journal-article", "current", 10, 5, vals, first, second, _ids(keys)
    )
    assert "shortlist-enrichment-grid" in all_ids(enrichment)
    state = s._state("journal-article", "current", 10, 5, vals, _ids(keys), first, second)
    frame = s.enrichment_frame(state)
    assert len(frame) and (frame["composite_change"] > 0).all()  # no member without improvement
    named = frame[frame["most_improved"] != ""]
    assert (named["most_improved_change"] > 0).all()
    # the same pair picked in reverse order ranks the same (older → newer)
    swapped = s._state("journal-article", "current", 10, 5, vals, _ids(keys), second, first)
    assert s.enrichment_frame(swapped)["member_id"].tolist() == frame["member_id"].tolist()
    _, _, same, *_ = s.update("journal-article", "current", 10, 5, vals, second, second, _ids(keys))
    assert "shortlist-enrichment-grid" not in all_ids(same)
