"""Methodology page (registry text, no raw HTML) and the 404 page."""

from __future__ import annotations

import json

from tests.unit.test_pages_common import _Enc, all_ids

pytest_plugins = ("tests.browser.fixtures",)  # shared fixtures: synthetic_dir, use_synthetic, …


def test_methodology(use_synthetic):
    import app  # noqa: F401
    from pages import methodology

    out = methodology.layout()
    text = json.dumps(out.to_plotly_json(), cls=_Enc)
    assert '"dangerously_allow_html": false' in text
    assert "Crossref data as of" in text and "methodology-markdown" in all_ids(out)


def test_not_found_page(use_synthetic):
    import app  # noqa: F401
    from pages import not_found_404

    assert "notfound-title" in all_ids(not_found_404.layout(anything="<x>"))
