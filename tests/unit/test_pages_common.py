"""Every page: layouts callable with no or hostile query args; ids namespaced; no raw HTML."""

from __future__ import annotations

import json

import dash
import pytest
from dash.development.base_component import Component

pytest_plugins = ("tests.browser.fixtures",)  # shared fixtures: synthetic_dir, use_synthetic, …


HOSTILE = {
    "type": ["<script>alert(1)</script>", "x"],
    "period": "../../etc/passwd",
    "country": "IDN,<b>,," * 50,
    "gem": "'; DROP TABLE members; --",
    "tier": ["small", "huge"],
    "q": "\x00<img src=x onerror=alert(1)>",
    "min_works": "1e309",
    "members": "1,abc,-5,99999999999999999999,1001," * 10,
    "chart": "pie",
    "metric": "__class__",
    "how": "eval",
    "w": "references:NaN,abstracts:inf,orcids:-1,x:1,:,::::",
    "top": "99999999",
    "before": "../",
    "after": "20990101T000000Z-api",
    "funder": "../../x",
    "peers": "{}",
    "member_id": "1001",
    "sort": "x",
    "unknown_param": "y",
}


def all_ids(component) -> list:
    out = []

    def walk(c):
        if isinstance(c, Component):
            cid = getattr(c, "id", None)
            if cid is not None:
                out.append(cid)
            for child in (
                c.children
                if isinstance(getattr(c, "children", None), list | tuple)
                else [getattr(c, "children", None)]
            ):
                walk(child)
            for prop in ("label", "leftSection", "rightSection", "title", "description"):
                v = getattr(c, prop, None)
                if isinstance(v, Component):
                    walk(v)
        elif isinstance(c, list | tuple):
            for x in c:
                walk(x)

    walk(component)
    return out


def pages():
    import app  # noqa: F401

    return list(dash.page_registry.values())


@pytest.mark.parametrize("hostile", [False, True])
def test_every_layout_renders(use_synthetic, hostile):
    for page in pages():
        layout = page["layout"]
        out = layout(**HOSTILE) if hostile else layout()
        assert out is not None, page["module"]
        text = json.dumps(out.to_plotly_json(), cls=_Enc)
        assert "dangerouslySetInnerHTML" not in text
        assert '"dangerously_allow_html": true' not in text


class _Enc(json.JSONEncoder):
    def default(self, o):
        if hasattr(o, "to_plotly_json"):
            return o.to_plotly_json()
        return str(o)


def test_ids_are_namespaced(use_synthetic):
    prefixes = {
        "pages.overview": "overview-",
        "pages.member": "member-",
        "pages.compare": "compare-",
        "pages.funders": "funders-",
        "pages.shortlist": "shortlist-",
        "pages.countries": "countries-",
        "pages.methodology": "methodology-",
        "pages.not_found_404": "notfound-",
    }
    seen = {}
    for page in pages():
        prefix = prefixes[page["module"]]
        for cid in all_ids(page["layout"]()):
            name = cid if isinstance(cid, str) else cid.get("type", "")
            if name == "member-drilldown":
                continue
            assert name.startswith(prefix), (page["module"], cid)
            key = json.dumps(cid, sort_keys=True)
            assert key not in seen, f"duplicate id {cid} in {page['module']} and {seen[key]}"
            seen[key] = page["module"]


def test_navigation_built_from_registry(use_synthetic):
    import app

    links = app.navigation()
    hrefs = [link.href for link in links]
    assert hrefs[0] == "/" and "/compare" in hrefs and "/methodology" in hrefs
    assert not any(h.startswith("/member") or h == "/404" for h in hrefs)


def test_shell_has_location_and_freshness(use_synthetic):
    import app

    ids = all_ids(app.shell())
    assert "url" in ids and "freshness" in ids and "_pages_content" in ids
    text = json.dumps(app.shell().to_plotly_json(), cls=_Enc)
    assert "Demo" in text and "app-burger" in ids and "app-shell" in ids


def test_app_config_is_safe(use_synthetic, monkeypatch):
    import app

    assert app.app.config.serve_locally is True
    assert not app.app.config.external_stylesheets and not app.app.config.external_scripts
    # debug stays off unless asked for with --debug
    runs = []
    monkeypatch.setattr(app, "ensure_data", lambda: None)
    monkeypatch.setattr(app.facade, "warm", lambda *args, **kwargs: None)
    monkeypatch.setattr(app.app, "run", lambda **kwargs: runs.append(kwargs))
    assert app.main([]) == 0 and app.main(["--debug", "--port", "8123"]) == 0
    assert runs[0] == {"host": app.settings.host, "port": app.settings.port, "debug": False}
    assert runs[1] == {"host": app.settings.host, "port": 8123, "debug": True}


def _url_queries():
    """Per page: (path args, a query with a non-default value for each of its arguments)."""
    from cache import facade

    ctype = next(t for t in facade.content_types() if t != facade.DEFAULT_TYPE)
    keys = facade.metric_keys()
    peers = next(k for k in facade.PEER_GROUPINGS if k != "size")
    countries = [c for c, _ in facade.country_options()][:2]
    funders = [d["key"] for d in facade.funder_reports()]
    common = {"type": ctype, "period": "backfile"}
    return {
        "countries": ({}, {**common, "metric": keys[-1], "how": "member_median"}),
        "funders": ({}, {**common, **({"funder": funders[-1]} if funders else {})}),
        "member": ({"member_id": str(facade.members().index[0])}, {**common, "peers": peers}),
        "overview": (
            {},
            {
                **common,
                "country": ",".join(countries),
                "gem": "non-gem",
                "tier": facade.tier_names()[-1],
                "q": "press",
                "min_works": "50",
            },
        ),
        "shortlist": ({}, {**common, "min_works": "20", "top": "5", "w": f"{keys[0]}:2.5"}),
    }


@pytest.mark.parametrize("page", ["countries", "funders", "member", "overview", "shortlist"])
def test_url_round_trip_keeps_every_query_argument(use_synthetic, page):
    """layout(**query) → controls → URL → layout again: same controls, every argument kept."""
    import importlib

    import app  # noqa: F401  (registers the pages and their callbacks)
    from tests.urlstate import query_dict, round_trip

    module = importlib.import_module(f"pages.{page}")
    path_args, query = _url_queries()[page]
    first, search, second = round_trip(module.layout, module.P, query, path_args)
    assert second == first, search
    assert query_dict(search) == query  # the URL carries exactly the non-default arguments
