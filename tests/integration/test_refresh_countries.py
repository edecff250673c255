"""Members without a recognisable country: counted by a refresh (summary and meta.json) and listed
by ``python -m cache snapshots --details``, on real /members records (case 17 and fixtures)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from typer.testing import CliRunner

from cache.crossref.client import CrossrefClient
from cache.crossref.settings import Settings
from cache.jobs.cli import app
from cache.jobs.refresh import refresh_members
from cache.store.snapshots import SnapshotStore
from tests import FIXTURES

CASE_17 = FIXTURES / "cases" / "17-member-postal-address-location-and-2018-coverage-keys.json"
ECOLOGY = FIXTURES / "crossref" / "members" / "members-list-query-ecology.2022-11.json"


def real_members() -> list[dict]:
    items = json.loads(CASE_17.read_text(encoding="utf-8"))
    items += json.loads(ECOLOGY.read_text(encoding="utf-8"))["message"]["items"]
    return items


def transport(items: list[dict]) -> httpx.MockTransport:
    by_id = {int(m["id"]): m for m in items}

    def handler(request: httpx.Request) -> httpx.Response:
        member = by_id.get(int(request.url.path.rsplit("/", 1)[1]))
        if member is None:
            return httpx.Response(404, text="Resource not found.")
        return httpx.Response(200, json={"status": "ok", "message": member})

    return httpx.MockTransport(handler)


def test_refresh_counts_and_cli_lists_members_without_country(tmp_path: Path) -> None:
    items = real_members()
    settings = Settings.from_env(
        environ={"CROSSREF_MAILTO": "me@example.org"},
        data_dir=tmp_path,
        list_rate=1000.0,
        pace_margin_s=0.0,
    )
    store = SnapshotStore(tmp_path)
    with CrossrefClient(settings, transport=transport(items), use_cache=False) as client:
        result = refresh_members(client, store, [int(m["id"]) for m in items])

    members = store.read_members(result.snapshot_id).set_index("member_id")
    # the postal addresses of case 17 resolve; "Chisinau" (a city alone) does not
    assert members.loc[5740, "country"] == "IDN" and members.loc[183, "country"] == "USA"
    assert members.loc[31377, "country"] == ""
    expected = sorted(int(i) for i in members.index[members["country"] == ""])
    assert 31377 in expected and 5740 not in expected
    assert result.no_country == len(expected)
    assert f"no_country={len(expected)}" in result.summary()
    meta = store.read_meta(result.snapshot_id)
    assert meta["members_without_country"] == expected
    assert meta["members_without_country_count"] == len(expected)

    out = CliRunner().invoke(app, ["snapshots", "--details", "--data-dir", str(tmp_path)])
    assert out.exit_code == 0, out.output
    assert "no country" in out.stdout
    assert f"{len(expected)} members without a recognisable country" in out.stdout
    assert "31377" in out.stdout and "Chisinau" in out.stdout
    assert "5740" not in out.stdout.split("members without")[1]
    plain = CliRunner().invoke(app, ["snapshots", "--data-dir", str(tmp_path)])
    assert plain.exit_code == 0 and "Chisinau" not in plain.stdout
