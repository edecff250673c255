"""Funders page: ranking, gap chart, per-funder section with and without drilldown files."""

from __future__ import annotations

import json

from tests.unit.test_pages_common import _Enc, all_ids

pytest_plugins = ("tests.browser.fixtures",)  # shared fixtures: synthetic_dir, use_synthetic, …


def _f():
    import app  # noqa: F401
    from pages import funders

    return funders


def test_layout_without_drilldowns(use_synthetic):
    f = _f()
    out = f.layout()
    text = json.dumps(out.to_plotly_json(), cls=_Enc)
    assert "python -m cache funder" in text
    assert "funders-no-drilldown" in all_ids(out)


def test_update_and_export(use_synthetic):
    f = _f()
    search, _headline, fig, _table, count = f.update("journal-article", "current", None)
    assert search == ""
    assert fig.layout.xaxis.title.text == "Works (count)" and fig.layout.title.text
    assert count.endswith("members")
    out = f.export_csv(1, "journal-article", "current")
    header = out["content"].splitlines()[0]
    assert header.startswith("member_id,name,country") and "Funders (%)" in header


def test_drilldown_file_is_listed_and_shown(use_synthetic):
    f = _f()
    d = use_synthetic / "drilldown"
    d.mkdir(exist_ok=True)
    p = d / "funder-10.13039_100000001.json"
    p.write_text(
        json.dumps(
            {
                "id": "10.13039/100000001",
                "name": "<script>x</script> Foundation",
                "kind": "doi",
                "publishers": [
                    {
                        "publisher": "Pub A",
                        "period": "current",
                        "works": 10,
                        "with_award": 4,
                        "award_share": 0.4,
                        "publisher_asserted": 3,
                        "publisher_asserted_share": 0.3,
                    }
                ],
            }
        )
    )
    try:
        out = f.layout()
        assert "funders-funder" in all_ids(out)
        detail = f.funder_detail("10.13039_100000001", "current")
        assert "funders-funder-grid" in all_ids(detail)
        assert "10.13039_" not in json.dumps(detail.to_plotly_json(), default=str)
        assert f.funder_detail("../../etc/passwd", "current") is not None  # a message
        assert f.funder_detail(None, "current") is None
        assert f.parse({"funder": "10.13039_100000001"})["funder"] == "10.13039_100000001"
    finally:
        p.unlink()
