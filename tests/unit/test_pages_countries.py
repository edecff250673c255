"""Countries page: choropleth with ISO3 locations, aggregate switch, table, CSV."""

from __future__ import annotations

pytest_plugins = ("tests.browser.fixtures",)  # shared fixtures: synthetic_dir, use_synthetic, …


def _c():
    import app  # noqa: F401
    from pages import countries

    return countries


def test_map_and_table(use_synthetic):
    c = _c()
    search, fig, _table, count = c.update("journal-article", "current", "funders", "member_median")
    assert search == "?metric=funders&how=member_median"
    trace = fig.data[0]
    assert trace.type == "choropleth" and trace.locationmode == "ISO-3"
    assert all(len(x) == 3 for x in trace.locations)
    assert "Member median" in fig.layout.title.text and "%" in trace.colorbar.title.text
    assert count.endswith("countries")
    _, fig2, _, _ = c.update("journal-article", "current", "composite", "doi_weighted")
    assert "DOI-weighted" in fig2.layout.title.text
    assert c.parse({"metric": "<x>", "how": "sum"}) == c.parse({})


def test_export(use_synthetic):
    c = _c()
    out = c.export_csv(1, "journal-article", "current", "abstracts")
    assert out["content"].splitlines()[0].startswith("metric,country,country_name")
