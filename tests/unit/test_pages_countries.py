"""Countries page: choropleth with ISO3 locations, aggregate switch, table, CSV."""

from __future__ import annotations

pytest_plugins = ("tests.browser.fixtures",)  # shared fixtures: synthetic_dir, use_synthetic, …


def _c():
    import app  # noqa: F401
    from pages import countries

    return countries


def test_map_and_table(use_synthetic):
    c = _c()
    search, fig, _table, count, *_ = c.update(
        "journal-article", "current", "funders", "member_median"
    )
    assert search == "?metric=funders&how=member_median"
    trace = fig.data[0]
    assert trace.type == "choropleth" and trace.locationmode == "ISO-3"
    assert all(len(x) == 3 for x in trace.locations)
    assert "Member median" in fig.layout.title.text and "%" in trace.colorbar.title.text
    assert count.endswith("countries")
    _, fig2, *_ = c.update("journal-article", "current", "composite", "doi_weighted")
    assert "DOI-weighted" in fig2.layout.title.text
    assert c.parse({"metric": "<x>", "how": "sum"}) == c.parse({})


def test_export(use_synthetic):
    c = _c()
    out = c.export_csv(1, "journal-article", "current", "abstracts")
    assert out["content"].splitlines()[0].startswith("metric,country,country_name")


def test_crossref_statistics_view(use_synthetic, tmp_path):
    """With Crossref's statistics imported, the map, table, time series and CSV follow the
    selected source, measure, type, date and level, and show Crossref's figures exactly."""
    import csv
    import io

    from cache.jobs import country_stats
    from tests import FIXTURES

    country_stats.import_files(
        use_synthetic, sorted((FIXTURES / "crossref-country-stats").glob("*.csv"))
    )
    c = _c()
    try:
        sel = ("crossref", "with_abstract", "journal-article", "2026-04-30", "country", "IDN")
        search, fig, table, count, series, snap_display, official_display, _ = c.update(
            "journal-article", "current", "abstracts", "doi_weighted", *sel
        )
        assert search.startswith("?source=crossref") and "area=IDN" in search
        assert snap_display == "none" and official_display == "block"
        z = dict(zip(fig.data[0].locations, fig.data[0].z, strict=True))
        assert z["IDN"] == round(100 * 2_713_670 / 2_958_493, 1)
        assert "Crossref statistics as of 2026-04-30" in fig.layout.title.text
        assert "Indonesia" in series.layout.title.text and len(series.data[0].x) == 1
        rows = table.rowData
        idn = next(r for r in rows if r["area"] == "IDN")
        assert idn["numerator"] == 2_713_670 and idn["denominator"] == 2_958_493
        assert count.endswith("countries")
        # the layout reads every argument back from the URL
        again = c.parse(dict(pair.split("=") for pair in search[1:].split("&")))
        assert {k: again[k] for k in ("source", "measure", "otype", "date", "area")} == dict(
            zip(("source", "measure", "otype", "date", "area"), (*sel[:4], sel[5]), strict=True)
        )

        # participation by region, over every imported date
        out = c.update(
            None,
            None,
            None,
            None,
            "crossref",
            "deposits_orcid",
            "all",
            "2019-12-31",
            "region",
            "SSF",
        )
        assert out[3].endswith("regions")
        assert len(out[4].data[0].x) == 38

        text = c.export_csv(1, None, None, None, *sel[:5])["content"]
        parsed = list(csv.DictReader(io.StringIO(text)))
        idn = next(r for r in parsed if r["area"] == "IDN")
        assert idn["with_element"] == "2713670" and idn["current_up_to"] == "2026-04-30"
        assert idn["crossref_share (%)"] == str(round(100 * 2_713_670 / 2_958_493, 2))
    finally:
        (use_synthetic / "country-stats" / "stats.parquet").unlink()
