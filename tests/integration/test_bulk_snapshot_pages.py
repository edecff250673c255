"""A bulk snapshot (work-level metrics for every member) is served like any other snapshot."""

from __future__ import annotations

from typer.testing import CliRunner

from cache import facade
from cache.jobs.cli import app as cli
from tests import FIXTURES

PUBLIC_DATA = FIXTURES / "crossref" / "public-data"


def test_bulk_snapshot_feeds_the_pages(tmp_path):
    import app  # noqa: F401  (pages register themselves on the app)
    from pages import member, overview

    result = CliRunner().invoke(cli, ["bulk", str(PUBLIC_DATA), "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    facade.configure(tmp_path)
    try:
        assert facade.meta()["source"] == "bulk"
        # metrics the member summary never has are columns of the league table now
        for key in ("clinical-trial-numbers", "license-vor", "orcid-author-share", "ror-funder"):
            assert key in facade.metric_keys()
            assert key in facade.view("journal-article", "all").table.columns
        assert overview.layout() is not None
        first = int(facade.members()["member_id"].iloc[0])
        assert member.layout(member_id=str(first)) is not None
    finally:
        facade.configure(None)
