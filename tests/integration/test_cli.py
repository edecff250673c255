"""``python -m cache`` commands: snapshots, export, refresh (failure paths without a server),
and refresh/export against the mock Crossref API over loopback."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from cache.cli import EXPORT_COLUMNS, app
from cache.snapshots import SnapshotStore

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
            "name": ["=HYPERLINK(\"http://x\")", "Plain, Press", "@risky <b>bold</b>"],
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
    assert rows[0]["member_name"] == "'=HYPERLINK(\"http://x\")"  # neutralised
    assert rows[0]["coverage"] == repr(1 / 3) and float(rows[0]["coverage"]) == 1 / 3
    assert rows[1]["coverage"] == ""  # N/A, not 0
    assert rows[1]["total"] == "0"
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
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "no snapshots" in proc.stdout
    assert "token" not in json.dumps(proc.stdout).lower()
    assert re.search(r"no snapshots in .*snapshots", proc.stdout)
