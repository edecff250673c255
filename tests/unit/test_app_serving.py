"""Serving for many users: health route, request caps, compression, asset caching, grid caps."""

from __future__ import annotations

import gzip
import json
import re
import time

import pytest
from dash.exceptions import PreventUpdate

pytest_plugins = ("tests.browser.fixtures",)


@pytest.fixture
def client(use_synthetic):
    import app

    return app.server.test_client()


def test_healthz_reports_the_served_snapshot(client, use_synthetic):
    from cache import facade

    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body["status"] == "ok"
    assert body["snapshot_id"] == facade.snapshot_id()
    assert isinstance(body["snapshot_age_s"], int | float) and body["snapshot_age_s"] >= 0
    assert body["refresh_running"] in (False, None)
    assert body["jobs"] == 0


def test_healthz_is_503_without_a_snapshot(client, tmp_path):
    from cache import facade

    facade.configure(tmp_path / "empty")
    try:
        response = client.get("/healthz")
    finally:
        facade.configure(None)
    assert response.status_code == 503
    assert response.get_json()["snapshot_id"] is None


def test_oversized_request_bodies_are_refused(client):
    import app

    body = b"{" + b" " * (app.MAX_REQUEST_BYTES + 10) + b"}"
    response = client.post(
        "/_dash-update-component", data=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413


def test_pages_are_compressed_and_versioned_files_cached_for_a_year(client):
    page = client.get("/", headers={"Accept-Encoding": "gzip"})
    assert page.status_code == 200
    assert page.headers.get("Content-Encoding") == "gzip"
    html = gzip.decompress(page.data).decode()
    suite = re.search(r'/_dash-component-suites/[^"]+\.v[0-9_]+m[0-9]+\.[^"]+\.js', html)
    asset = re.search(r'/assets/[^"]+\?m=[0-9.]+', html)
    assert suite and asset
    for url in (suite.group(0), asset.group(0)):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "max-age=31536000" in response.headers["Cache-Control"], url
        assert "immutable" in response.headers["Cache-Control"], url
    unversioned = client.get(asset.group(0).split("?")[0])
    assert "immutable" not in unversioned.headers.get("Cache-Control", "")


def _conditions(n: int) -> dict:
    return {
        "operator": "OR",
        "conditions": [
            {"filterType": "number", "type": "greaterThan", "filter": i % 100} for i in range(n)
        ],
    }


def test_grid_filter_and_sort_models_are_bounded(use_synthetic):
    from pages import overview as ov

    state = ov.parse({})
    ok = {"startRow": 0, "endRow": 50, "filterModel": {"composite": _conditions(50)}}
    rows, _ = ov.get_rows(ok, state)
    assert rows["rowCount"] > 0
    too_many = {"startRow": 0, "endRow": 50, "filterModel": {"composite": _conditions(51)}}
    with pytest.raises(PreventUpdate):
        ov.get_rows(too_many, state)
    spread = {
        f"col{i}": {"filterType": "text", "type": "contains", "filter": "x"} for i in range(60)
    }
    with pytest.raises(PreventUpdate):
        ov.get_rows({"startRow": 0, "endRow": 50, "filterModel": spread}, state)
    sort = [{"colId": "composite", "sort": "asc"}] * 11
    with pytest.raises(PreventUpdate):
        ov.get_rows({"startRow": 0, "endRow": 50, "sortModel": sort}, state)
    with pytest.raises(PreventUpdate):
        ov.export_csv(1, state, too_many)
    rows, _ = ov.get_rows({"startRow": 0, "endRow": 50, "sortModel": sort[:10]}, state)
    assert rows["rowData"]


def test_a_ten_thousand_condition_filter_costs_nothing_over_http(client):
    """The page-level cap answers a hostile filter before any work (204, no traceback)."""
    payload = {
        "output": "..overview-grid.getRowsResponse...overview-count.children..",
        "outputs": [
            {"id": "overview-grid", "property": "getRowsResponse"},
            {"id": "overview-count", "property": "children"},
        ],
        "inputs": [
            {
                "id": "overview-grid",
                "property": "getRowsRequest",
                "value": {
                    "startRow": 0,
                    "endRow": 100,
                    "filterModel": {"name": _conditions(10_000)},
                },
            }
        ],
        "state": [{"id": "overview-state", "property": "data", "value": {}}],
        "changedPropIds": ["overview-grid.getRowsRequest"],
    }
    response = client.post(
        "/_dash-update-component",
        data=json.dumps(payload),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 204


def test_workers_starting_together_build_the_demo_once(tmp_path, monkeypatch, use_synthetic):
    """N gunicorn workers on an empty data dir: one builds the demo, the others wait for it."""
    import threading

    import app
    from cache import facade
    from cache.crossref.settings import Settings
    from mock_crossref import demo
    from tests.browser import synthetic

    builds = []

    def slow_build(cfg):
        builds.append(threading.get_ident())
        time.sleep(0.5)  # long enough for the other workers to arrive and wait
        return synthetic.publish(cfg.data_dir)

    monkeypatch.setattr(demo, "ensure_snapshot", slow_build)
    cfg = Settings.from_env(data_dir=tmp_path / "fresh")
    ids: list = []
    threads = [threading.Thread(target=lambda: ids.append(app.ensure_data(cfg))) for _ in range(4)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    finally:
        facade.configure(use_synthetic)
    assert len(builds) == 1
    assert len(ids) == 4 and len(set(ids)) == 1 and ids[0]
