"""``python -m cache`` commands: snapshots, export, refresh (failure paths without a server),
and refresh/export against the mock Crossref API over loopback."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from cache.jobs.cli import EXPORT_COLUMNS, app
from cache.jobs.refresh import COVERAGE_KEYS
from cache.store.snapshots import SnapshotStore

ROOT = Path(__file__).resolve().parents[2]
FAST_RETRIES = {
    "CROSSREF_BACKOFF_BASE_S": "0.001",
    "CROSSREF_MAX_ATTEMPTS": "3",
    "CROSSREF_MAILTO": "test@example.org",  # polite pool: 3 attempts fit in one second
}


def runner() -> CliRunner:
    return CliRunner()


def tree_digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def publish_sample(data_dir: Path) -> str:
    members = pd.DataFrame(
        {
            "member_id": [1, 2, 3],
            "name": ['=HYPERLINK("http://x")', "Plain, Press", "@risky <b>bold</b>"],
            "location": ["", "", ""],
            "country": ["", "", ""],
            "country_name": ["", "", ""],
            "gem": [False, False, False],
            "prefixes": ["", "", ""],
            "total_dois": [3, 0, 1],
            "current_dois": [3, 0, 1],
            "backfile_dois": [0, 0, 0],
            "counts_type": ["{}", "{}", "{}"],
            "dois_by_year": ["{}", "{}", "{}"],
            "last_status_check": [0, 0, 0],
        }
    )
    coverage = pd.DataFrame(
        {
            "member_id": [1, 1, 3],
            "content_type": ["journal-article", "journal-article", "-dataset"],
            "period": ["current", "backfile", "current"],
            "metric": ["orcids", "orcids", "licenses"],
            "covered": [1, 0, 1],
            "total": [3, 0, 1],
            "coverage": [1 / 3, np.nan, 1.0],
            "source": ["coverage-type"] * 3,
            "ci_low": [np.nan] * 3,
            "ci_high": [np.nan] * 3,
        }
    )
    return SnapshotStore(data_dir).publish(members, coverage, {"source": "api"})


def test_snapshots_lists(tmp_path: Path) -> None:
    result = runner().invoke(app, ["snapshots", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0 and "no snapshots" in result.stdout
    sid = publish_sample(tmp_path)
    result = runner().invoke(app, ["snapshots", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0
    assert sid in result.stdout and "api" in result.stdout and " 3 " in result.stdout
    for header in ("id", "date", "source", "members"):
        assert header in result.stdout


def test_export_csv(tmp_path: Path) -> None:
    sid = publish_sample(tmp_path)
    result = runner().invoke(app, ["export", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "member_id,member_name,content_type,period,metric,covered,total,coverage"
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert tuple(rows[0]) == EXPORT_COLUMNS
    assert rows[0]["member_name"] == '\'=HYPERLINK("http://x")'  # neutralised
    # rows sorted by member, content type, period, metric: member 1's backfile comes first
    assert [r["period"] for r in rows[:2]] == ["backfile", "current"]
    assert rows[1]["coverage"] == repr(1 / 3) and float(rows[1]["coverage"]) == 1 / 3
    assert rows[0]["coverage"] == ""  # N/A, not 0
    assert rows[0]["total"] == "0"
    assert rows[2]["member_name"] == "'@risky <b>bold</b>"
    assert rows[2]["content_type"] == "'-dataset"
    assert rows[2]["coverage"] == "1.0"

    out = tmp_path / "out.csv"
    result = runner().invoke(
        app, ["export", "--data-dir", str(tmp_path), "--out", str(out), "--snapshot", sid]
    )
    assert result.exit_code == 0 and "wrote 3 rows" in result.stderr
    assert out.read_text(encoding="utf-8") == "\n".join(lines) + "\n"


def test_export_errors(tmp_path: Path) -> None:
    result = runner().invoke(app, ["export", "--data-dir", str(tmp_path)])
    assert result.exit_code == 1 and "export failed: no snapshot" in result.stderr
    publish_sample(tmp_path)
    result = runner().invoke(app, ["export", "--data-dir", str(tmp_path), "--snapshot", "../etc"])
    assert result.exit_code == 1 and "not a snapshot id" in result.stderr


def test_refresh_unreachable_keeps_previous_snapshot(tmp_path: Path) -> None:
    sid = publish_sample(tmp_path)
    before = tree_digest(tmp_path / "snapshots")
    env = {"CROSSREF_API_URL": "http://127.0.0.1:9", **FAST_RETRIES}
    result = runner().invoke(app, ["refresh", "--data-dir", str(tmp_path)], env=env)
    assert result.exit_code == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last == (
        "refresh failed: error budget exceeded: 1 of 1 requests failed "
        f"(last: connection error from /members) — previous snapshot {sid} is still the latest"
    )
    assert tree_digest(tmp_path / "snapshots") == before


def test_module_entry_point(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "cache", "snapshots", "--data-dir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "no snapshots" in proc.stdout
    assert "token" not in json.dumps(proc.stdout).lower()
    assert re.search(r"no snapshots in .*snapshots", proc.stdout)


# ---------------------------------------------------------------------------------------------
# Against the mock Crossref API over loopback
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def mock_population():  # type: ignore[no-untyped-def]
    from mock_crossref import population

    return population.Population(n_members=1200, seed=23, current_year=2026)


@pytest.fixture
def mock_api(mock_population):  # type: ignore[no-untyped-def]
    from mock_crossref import server

    with server.MockCrossref(mock_population, rate_limit=3, concurrency=3) as api:
        yield api


def mock_env(url: str) -> dict[str, str]:
    return {"CROSSREF_API_URL": url, **FAST_RETRIES}


def test_refresh_then_export_equals_server_values(
    tmp_path: Path,
    mock_api,
    mock_population,  # type: ignore[no-untyped-def]
) -> None:
    result = runner().invoke(
        app, ["refresh", "--data-dir", str(tmp_path)], env=mock_env(mock_api.url)
    )
    assert result.exit_code == 0, result.stderr
    line = result.stdout.strip().splitlines()[-1]
    match = re.fullmatch(
        r"members=1200 requests=2 retries=0 429s=0 duration=\d+\.\ds snapshot=(\S+)"
        r"( no_country=\d+)?",
        line,
    )
    assert match, line
    sid = match.group(1)
    assert SnapshotStore(tmp_path).latest_id() == sid
    assert {r.status for r in mock_api.log} == {200}

    export = runner().invoke(app, ["export", "--data-dir", str(tmp_path)])
    assert export.exit_code == 0, export.stderr
    rows = list(csv.DictReader(io.StringIO(export.stdout)))
    got = {(int(r["member_id"]), r["content_type"], r["period"], r["metric"]): r for r in rows}

    expected = 0
    na = 0
    for text in mock_population.members_json(range(mock_population.n_members)):
        item = json.loads(text)
        for period in ("current", "backfile", "all"):
            counts = item["counts-type"][period]
            coverage = item["coverage-type"][period]
            types = set(coverage) | set(counts) or set(item["counts-type"]["all"])
            for ctype in types:
                total = counts.get(ctype, 0)
                for metric in COVERAGE_KEYS:
                    row = got[(item["id"], ctype, period, metric)]
                    expected += 1
                    assert int(row["total"]) == total
                    if total == 0:
                        assert row["coverage"] == ""  # N/A where the period has no works
                        na += 1
                    else:
                        value = coverage[ctype][metric]
                        assert float(row["coverage"]) == value  # exactly the server's float
                        assert int(row["covered"]) == round(value * total)
    assert expected == len(rows) and na > 0


def test_refresh_single_members(tmp_path: Path, mock_api, mock_population) -> None:  # type: ignore[no-untyped-def]
    ids = [int(mock_population.ids[5]), int(mock_population.ids[17])]
    args = [
        "refresh",
        "--data-dir",
        str(tmp_path),
        "--member",
        str(ids[0]),
        "--member",
        str(ids[1]),
    ]
    result = runner().invoke(app, args, env=mock_env(mock_api.url))
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1].startswith("members=2 requests=2 ")
    assert sorted(r.path for r in mock_api.log) == sorted(f"/members/{i}" for i in ids)
    snap = SnapshotStore(tmp_path).load()
    assert snap.members["member_id"].tolist() == ids and snap.meta["scope"] == "members"

    missing = runner().invoke(
        app,
        ["refresh", "--data-dir", str(tmp_path), "--member", "99999999"],
        env=mock_env(mock_api.url),
    )
    assert missing.exit_code == 1
    assert missing.stderr.strip().splitlines()[-1] == (
        "refresh failed: 404 Not Found from /members/99999999: Resource not found. — "
        f"previous snapshot {snap.id} is still the latest"
    )


def test_all_requests_failing_keeps_previous_snapshot(
    tmp_path: Path,
    mock_api,  # type: ignore[no-untyped-def]
) -> None:
    from mock_crossref import server

    sid = publish_sample(tmp_path)
    before = tree_digest(tmp_path)
    mock_api.faults = server.FaultConfig(error_rate=1.0, kinds=("500",))
    result = runner().invoke(
        app, ["refresh", "--data-dir", str(tmp_path)], env=mock_env(mock_api.url)
    )
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "refresh failed: error budget exceeded: 1 of 1 requests failed "
        f"(last: 500 Internal Server Error from /members) — previous snapshot {sid} is still "
        "the latest"
    )
    assert tree_digest(tmp_path / "snapshots") == {
        k.removeprefix("snapshots/"): v for k, v in before.items() if k.startswith("snapshots/")
    }
    assert SnapshotStore(tmp_path).latest_id() == sid
    assert len(SnapshotStore(tmp_path).load().members) == 3


# ---------------------------------------------------------------------------------------------
# Bad configuration, damaged state (issue 13)
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PORT": "eighty"}, "configuration error: PORT must be a whole number, not 'eighty'"),
        ({"CROSSREF_API_URL": "ftp://x"}, "configuration error: CROSSREF_API_URL must start"),
        ({"CROSSREF_TIMEOUT_S": "soon"}, "configuration error: CROSSREF_TIMEOUT_S must be a"),
    ],
)
def test_bad_environment_is_one_line_exit_2(
    tmp_path: Path, env: dict[str, str], message: str
) -> None:
    for command in (["refresh"], ["snapshots"], ["export"]):
        result = runner().invoke(app, [*command, "--data-dir", str(tmp_path)], env=env)
        assert result.exit_code == 2, (command, result.stderr)
        assert result.stderr.startswith(message) and result.stderr.count("\n") == 1
        assert "Traceback" not in result.stderr


def test_data_dir_that_is_a_file_or_read_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a_file = tmp_path / "data"
    a_file.write_text("not a folder")
    for command in ("refresh", "snapshots", "export", "demo"):
        result = runner().invoke(app, [command, "--data-dir", str(a_file)])
        assert result.exit_code == 2, (command, result.output)
        assert "is a file, not a directory" in result.stderr and result.stderr.count("\n") == 1
    read_only = tmp_path / "ro"
    read_only.mkdir()
    publish_sample(read_only)
    if os.geteuid() == 0:  # root may write anywhere: make the OS answer "read-only" for it
        real = os.access
        monkeypatch.setattr(
            os,
            "access",
            lambda p, mode, **kw: (
                False if Path(p) == read_only and mode & os.W_OK else real(p, mode, **kw)
            ),
        )
    else:
        read_only.chmod(0o555)
    try:
        result = runner().invoke(app, ["refresh", "--data-dir", str(read_only)])
        assert result.exit_code == 2
        assert result.stderr.strip() == (
            f"configuration error: data directory '{read_only}' is read-only for this user "
            "(it must be writable)"
        )
        listed = runner().invoke(app, ["snapshots", "--data-dir", str(read_only)])
        assert listed.exit_code == 0  # reading a read-only data directory is fine
        exported = runner().invoke(app, ["export", "--data-dir", str(read_only)])
        assert exported.exit_code == 0 and exported.stdout.startswith("member_id,")
    finally:
        read_only.chmod(0o700)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PORT": "99999"}, "configuration error: PORT must be within 1–65535, not 99999"),
        ({"CROSSREF_API_URL": "http://[::1"}, "configuration error: CROSSREF_API_URL is not a"),
        ({"CROSSREF_API_URL": "javascript:alert(1)"}, "configuration error: CROSSREF_API_URL"),
    ],
)
def test_app_start_with_bad_config(tmp_path: Path, env: dict[str, str], message: str) -> None:
    proc = subprocess.run(
        [sys.executable, "app.py"],
        cwd=ROOT,
        env={**os.environ, "DASHBOARD_DATA_DIR": str(tmp_path), **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith(message) and proc.stderr.count("\n") == 1, proc.stderr
    assert proc.stdout == ""


def test_app_start_with_a_file_as_data_dir(tmp_path: Path) -> None:
    a_file = tmp_path / "data"
    a_file.write_text("x")
    proc = subprocess.run(
        [sys.executable, "app.py"],
        cwd=ROOT,
        env={**os.environ, "DASHBOARD_DATA_DIR": str(a_file)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        f"configuration error: data directory '{a_file}' is a file, not a directory "
        "(set DASHBOARD_DATA_DIR or --data-dir to a folder)"
    )


def test_no_cache_never_opens_a_corrupt_raw_cache(tmp_path: Path, mock_api) -> None:  # type: ignore[no-untyped-def]
    http = tmp_path / "http"
    http.mkdir(parents=True)
    (http / "cache.db").write_bytes(b"garbage, not sqlite" * 100)
    before = tree_digest(http)
    result = runner().invoke(
        app, ["refresh", "--no-cache", "--data-dir", str(tmp_path)], env=mock_env(mock_api.url)
    )
    assert result.exit_code == 0, result.stderr
    assert tree_digest(http) == before  # not opened, not moved, not repaired
    assert not list(tmp_path.glob("http.broken-*"))
    # without --no-cache the broken cache is moved aside and the refresh still works
    result = runner().invoke(
        app, ["refresh", "--data-dir", str(tmp_path)], env=mock_env(mock_api.url)
    )
    assert result.exit_code == 0, result.stderr
    assert "raw-response cache" in result.stderr and "moved it to http.broken-" in result.stderr
    assert len(list(tmp_path.glob("http.broken-*"))) == 1


@pytest.mark.parametrize("kind", ["directory", "not-utf8"])
def test_broken_latest_never_blocks_refresh(tmp_path: Path, mock_api, kind: str) -> None:  # type: ignore[no-untyped-def]
    old = publish_sample(tmp_path)
    latest = tmp_path / "snapshots" / "LATEST"
    latest.unlink()
    if kind == "directory":
        latest.mkdir()
    else:
        latest.write_bytes(b"\x80\x81\xfe")
    listed = runner().invoke(app, ["snapshots", "--data-dir", str(tmp_path)])
    assert listed.exit_code == 0 and "ok, served" in listed.stdout and old in listed.stdout
    result = runner().invoke(
        app, ["refresh", "--data-dir", str(tmp_path)], env=mock_env(mock_api.url)
    )
    assert result.exit_code == 0, result.stderr
    sid = re.search(r"snapshot=(\S+)", result.stdout).group(1)  # type: ignore[union-attr]
    assert latest.is_file() and latest.read_text().strip() == sid


def test_member_refresh_merges_into_newest_readable(
    tmp_path: Path, mock_api, mock_population
) -> None:  # type: ignore[no-untyped-def]
    full = runner().invoke(
        app, ["refresh", "--data-dir", str(tmp_path)], env=mock_env(mock_api.url)
    )
    assert full.exit_code == 0, full.stderr
    store = SnapshotStore(tmp_path)
    good = store.latest_id()
    bad = publish_sample(tmp_path)
    (tmp_path / "snapshots" / bad / "members.parquet").write_bytes(b"PAR1")
    member = int(mock_population.ids[9])
    result = runner().invoke(
        app,
        ["refresh", "--data-dir", str(tmp_path), "--member", str(member)],
        env=mock_env(mock_api.url),
    )
    assert result.exit_code == 0, result.stderr
    assert f"skipped unreadable snapshot {bad}" in result.stderr
    snap = store.load()
    assert snap.meta["based_on"] == good and len(snap.members) == 1200
