"""On demo data the member page's drill-down asks the demo population's mock, never Crossref."""

from __future__ import annotations

from cache import facade
from cache.crossref.settings import Settings
from cache.jobs import drilldown
from mock_crossref import demo


def test_demo_drilldown_runs_offline_against_the_demo_population(tmp_path):
    cfg = Settings.from_env(data_dir=tmp_path)  # default API URL: api.crossref.org
    sid = demo.build_demo_snapshot(cfg, n_members=300)
    facade.configure(tmp_path, settings=cfg)
    try:
        members = facade.members()
        member_id = int(members.sort_values("current_dois")["member_id"].iloc[-1])
        # tests/conftest.py refuses any non-loopback connection, so reaching Crossref would fail
        drilldown.run(cfg, member_id, gap_cap=5)
        result = facade.drilldown(member_id)
        assert facade.snapshot_id() == sid
        assert result.member_id == member_id
        assert result.requests > 0
    finally:
        facade.configure(None)
