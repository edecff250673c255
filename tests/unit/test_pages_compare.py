"""Compare page: member parsing, server-side search, chart + URL."""

from __future__ import annotations

pytest_plugins = ("tests.browser.fixtures",)  # shared fixtures: synthetic_dir, use_synthetic, …


def _c():
    import app  # noqa: F401
    from pages import compare

    return compare


def test_parse_members(use_synthetic):
    c = _c()
    s = c.parse(
        {
            "members": "1001,abc,1002,1001,999999999,-4,"
            + ",".join(str(i) for i in range(1003, 1020))
        }
    )
    assert s["members"][:2] == [1001, 1002] and len(s["members"]) <= 8
    assert c.parse({"members": ["1001", "1002"]})["members"] == [1001, 1002]
    assert c.parse({})["members"] == []


def test_search_is_server_side_and_small(use_synthetic):
    c = _c()
    from pages.components import search

    opts = search.member_options("fictitious", keep=c._picked(["1001"]))
    assert opts[0]["value"] == "1001" and 1 < len(opts) <= 21
    assert search.member_options(None)  # empty search lists the largest members


def test_update_chart_and_url(use_synthetic):
    c = _c()
    search, fig, table = c.update(
        ["1001", "1002", "1003"], "journal-article", "current", "bars", "size"
    )
    assert search == "?members=1001%2C1002%2C1003"
    names = [t.name for t in fig.data]
    assert "Crossref-wide, DOI-weighted" in names and "Member median (all members)" in names
    assert any(n.startswith("Peer median (size tier") for n in names)
    assert sum(t.type == "bar" for t in fig.data) == 3
    search, fig, _ = c.update(["1001", "1002"], "journal-article", "current", "bars", "gem")
    assert "peers=gem" in search and any("GEM" in n for n in [t.name for t in fig.data])
    assert "%" in fig.layout.yaxis.title.text and fig.layout.title.text
    search, fig, _ = c.update(["1001", "1002"], "journal-article", "current", "heatmap", "size")
    assert "chart=heatmap" in search and fig.data[0].type == "heatmap"
    assert all(v != "nan %" for row in fig.data[0].text for v in row)
    search, fig, table = c.update([], "journal-article", "current", "bars", None)
    assert table is None and fig.layout.annotations
    assert c.layout(members="1001,1002", chart="heatmap") is not None


def test_url_round_trip_keeps_members_type_period_chart_and_peers(use_synthetic):
    """layout(**query) → controls → URL → layout again: the same selections, none dropped."""
    from cache import facade
    from tests.urlstate import round_trip

    c = _c()
    ids = [str(i) for i in facade.members().index[[2, 0, 1]]]  # an order that is not sorted
    ctype = next(t for t in facade.content_types() if t != c.DEFAULTS["type"])
    peers = next(k for k in facade.PEER_GROUPINGS if k != c.DEFAULTS["peers"])
    query = {
        "members": ",".join(ids),
        "type": ctype,
        "period": "backfile",
        "chart": "heatmap",
        "peers": peers,
    }
    first, search, second = round_trip(c.layout, c.P, query)
    assert first == [ids, ctype, "backfile", "heatmap", peers]  # the query was read, all of it
    for key, value in query.items():
        assert f"{key}={value}".replace(",", "%2C") in search, (key, search)
    assert second == first
