"""Crossref's published country statistics: import, re-import, malformed rows, long CSV export."""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

from typer.testing import CliRunner

from cache.jobs.cli import app
from cache.store import country_stats
from tests import FIXTURES

DATASET = FIXTURES / "crossref-country-stats"
FILES = sorted(DATASET.glob("*.csv"))


def invoke(*args: str):
    return CliRunner().invoke(app, list(args))


def value(table, date, iso3, measure, doc_type=""):
    row = table[
        (table["current_up_to"] == date)
        & (table["iso3_code"] == iso3)
        & (table["document_type"] == doc_type)
        & (table["document_subtype"] == "")
        & (table["measure"] == measure)
    ]
    assert len(row) == 1, row
    return int(row["value"].iloc[0])


def test_import_reproduces_crossref_figures_and_reimport_changes_nothing(tmp_path: Path) -> None:
    result = invoke("country-stats", *map(str, FILES), "--data-dir", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert "malformed=0" in result.output
    table = country_stats.load(tmp_path)
    # Indonesia, journal articles, 2026-04-30: 2,713,670 of 2,958,493 with an abstract
    assert value(table, "2026-04-30", "IDN", "with_abstract", "journal-article") == 2_713_670
    assert value(table, "2026-04-30", "IDN", "n_dois", "journal-article") == 2_958_493
    # participation rows: members per country, every date of the file
    assert value(table, "2026-04-30", "AUS", "total_members") == 251
    assert value(table, "2018-12-31", "AUS", "deposits_abstract") == 19
    dates = set(table.loc[table["measure"] == "total_members", "current_up_to"])
    assert len(dates) == 38
    before = table.copy()

    again = invoke("country-stats", *map(str, FILES), "--data-dir", str(tmp_path))
    assert again.exit_code == 0, again.output
    after = country_stats.load(tmp_path)
    assert len(after) == len(before)
    assert value(after, "2026-04-30", "IDN", "with_abstract", "journal-article") == 2_713_670


def test_export_long_csv_round_trips(tmp_path: Path) -> None:
    coverage = DATASET / "metadata_coverage_stats_by_country.2026-04-30.csv"
    assert invoke("country-stats", str(coverage), "--data-dir", str(tmp_path)).exit_code == 0
    out = tmp_path / "long.csv"
    result = invoke("export", "--country-stats", "--out", str(out), "--data-dir", str(tmp_path))
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert list(rows[0]) == [
        "current_up_to",
        "region_id",
        "iso3_code",
        "document_type",
        "document_subtype",
        "measure",
        "value",
    ]
    with open(coverage, encoding="utf-8", newline="") as fh:
        wide = list(csv.DictReader(fh))
    measures = len(wide[0]) - 5
    assert len(rows) == len(wide) * measures
    idn = next(
        r
        for r in rows
        if r["iso3_code"] == "IDN"
        and r["document_type"] == "journal-article"
        and r["measure"] == "with_abstract"
    )
    assert idn["value"] == "2713670"  # counts are integers in CSV
    na = [r for r in rows if r["value"] == ""]
    assert na, "the file's NA counts stay empty, never 0"
    posted = {r["document_subtype"] for r in rows if r["document_type"] == "posted-content"}
    assert "preprint" in posted


def test_malformed_rows_are_reported_with_file_and_line(tmp_path: Path) -> None:
    src = DATASET / "member_participation_stats_by_country.csv"
    bad = tmp_path / "participation.csv"
    lines = src.read_text(encoding="utf-8").splitlines()[:6]
    fields = lines[2].split(",")
    lines[2] = ",".join([*fields[:3], "lots", *fields[4:]])  # line 3: not a count
    lines[4] = "2026-04-30,EAS"  # line 5: too few fields
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = invoke("country-stats", str(bad), "--data-dir", str(tmp_path / "d"))
    assert result.exit_code == 0, result.output
    assert f"{bad}:3:" in result.output and f"{bad}:5:" in result.output
    assert "malformed=2" in result.output
    assert len(set(country_stats.load(tmp_path / "d")["iso3_code"])) == 3


def test_not_a_country_stats_file_fails_and_stores_nothing(tmp_path: Path) -> None:
    other = tmp_path / "other.csv"
    shutil.copy(FIXTURES / "crossref-country-stats" / "SOURCES.md", other)
    result = invoke("country-stats", str(other), "--data-dir", str(tmp_path / "d"))
    assert result.exit_code != 0
    assert "not a Crossref country-statistics file" in result.output
    assert country_stats.load(tmp_path / "d").empty
