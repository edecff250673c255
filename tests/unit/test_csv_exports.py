"""Every CSV the product writes, fed hostile member names (issue 13 item 1).

A snapshot is built by the real conversion from real Crossref member records
(tests/fixtures/crossref/members) with the names replaced by formula-injection and row-splitting
payloads. Each export (overview league table, shortlist, funders, countries, drill-down gap list
writer, `python -m cache export`) is parsed back with Python's csv module and with pandas: no cell
starts with ``= + - @ \\t \\r`` unless it is a number or carries the ``'`` guard, no cell holds a
line break, there is exactly one row per member (per member × type × period × metric for the
CLI), and counts are integers.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from cache.jobs.cli import app
from cache.jobs.refresh import members_to_tables
from cache.store.csvsafe import csv_text, frame_csv
from cache.store.snapshots import SnapshotStore
from tests import FIXTURES

MEMBERS = FIXTURES / "crossref" / "members"
REAL = [
    "member-98-hindawi.2026-06.json",
    "member-1-annals-of-family-medicine.2022-11.json",
    "member-10-ama.2022-11.json",
    "member-45-british-institute-of-radiology.2022-11.json",
]
HOSTILE = [
    "\r=cmd|' /C calc'!A0",
    "\n+1",
    "\t@x",
    "=1+1",
    "-2+3",
    "@SUM(A1:A9)",
    "+cmd|'/c notepad'!A1",
    'Acme\r\n=HYPERLINK("http://evil.example","x")',
    "Acme Press\r=cmd|' /C calc'!A0",
    "Plain\n-1+1",
    'Quote "inside", and, commas',
    "Line\u2028=sep",
    "\u2029+para",
    "\x0b=vertical-tab",
    "\x85=next-line",
    "\r\r\n\n-cmd",
    "\x0c@form-feed",
    "Tab\tmid=1",
    "Ünïcödé Presse — éditions",
    "Ordinary Publishing Ltd",
]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
N = 60  # members: every hostile name three times, over four real records


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = [json.loads((MEMBERS / n).read_text(encoding="utf-8"))["message"] for n in REAL]
    items = []
    for i in range(N):
        item = dict(base[i % len(base)])
        item["id"] = 5000 + i
        item["primary-name"] = HOSTILE[i % len(HOSTILE)]
        items.append(item)
    members, coverage = members_to_tables(items)
    root = tmp_path_factory.mktemp("hostile")
    SnapshotStore(root).publish(members, coverage, {"source": "api"})
    return root


@pytest.fixture
def facade(data_dir: Path):  # type: ignore[no-untyped-def]
    from cache import facade as f

    f.configure(data_dir)
    yield f
    f.configure(data_dir)


def is_number(cell: str) -> bool:
    try:
        return math.isfinite(float(cell))
    except ValueError:
        return False


def check(text: str, id_column: str | None = "member_id") -> list[dict[str, str]]:
    """Parse ``text`` both ways; assert the safety rules; return the csv-module rows."""
    assert "\r" not in text  # one "\n" per record, no bare CR anywhere
    rows = list(csv.reader(io.StringIO(text, newline="")))
    header, body = rows[0], rows[1:]
    assert body, "no data rows"
    assert len(text.rstrip("\n").split("\n")) == len(rows)  # every record on one line
    for row in rows:
        assert len(row) == len(header)
        for cell in row:
            assert "\n" not in cell and "\r" not in cell
            if cell.startswith(FORMULA_START):
                assert is_number(cell), f"unguarded formula cell {cell!r}"
    frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    assert len(frame) == len(body)
    for col in frame.columns:
        for cell in frame[col]:
            assert not cell.startswith(FORMULA_START) or is_number(cell), (col, cell)
    records = [dict(zip(header, row, strict=True)) for row in body]
    if id_column:
        ids = [r[id_column] for r in records]
        assert all(re.fullmatch(r"[1-9]\d*", i) for i in ids), ids[:5]  # integers, no ".0"
        assert len(set(ids)) == len(ids), "a member appears twice"
        assert pd.read_csv(io.StringIO(text))[id_column].dtype.kind == "i"
    return records


def assert_counts_are_integers(records: list[dict[str, str]], columns: tuple[str, ...]) -> None:
    for r in records:
        for c in columns:
            if c in r and r[c] != "":
                assert re.fullmatch(r"\d+", r[c]), (c, r[c])


def guarded_names(records: list[dict[str, str]], column: str) -> set[str]:
    return {r[column] for r in records}


def test_league_csv(facade) -> None:  # type: ignore[no-untyped-def]
    text = facade.league_csv("journal-article", "all", None)
    records = check(text)
    assert len(records) == N  # every member has journal articles in the real records
    assert_counts_are_integers(records, ("works",))
    names = guarded_names(records, "name")
    assert "'=cmd|' /C calc'!A0" in {n.lstrip() for n in names} or "' =cmd|' /C calc'!A0" in names
    assert 'Quote "inside", and, commas' in names
    assert "Ünïcödé Presse — éditions" in names


def test_shortlist_csv(facade) -> None:  # type: ignore[no-untyped-def]
    text = facade.shortlist_csv("journal-article", "all", None, min_works=1, top_n=N)
    records = check(text)
    assert records and {"peer_group", "rank"} <= set(records[0])
    assert_counts_are_integers(records, ("rank", "works"))


def test_funders_csv(facade) -> None:  # type: ignore[no-untyped-def]
    summary = facade.funders_summary("journal-article", "all")
    text = facade.to_csv(summary["table"])
    records = check(text)
    assert len(records) == N
    assert_counts_are_integers(records, ("works", "with_funder", "without_funder"))


def test_countries_csv(facade) -> None:  # type: ignore[no-untyped-def]
    table = facade.countries("journal-article", "all", "abstracts")
    records = check(facade.to_csv(table), id_column=None)
    assert len({r["country"] for r in records}) == len(records)
    assert_counts_are_integers(records, ("members", "works"))  # works: a sum, not "12.0"


def test_gap_list_writer_guards_titles() -> None:
    """The drill-down gap CSV (`Drilldown.gaps_csv`) goes through `csv_text` with work titles."""
    rows = [
        ["abstracts", f"10.5555/{i}", title, "journal-article", 2024]
        for i, title in enumerate(HOSTILE)
    ]
    records = check(csv_text(["metric", "doi", "title", "type", "issued_year"], rows), None)
    assert len(records) == len(HOSTILE)
    assert_counts_are_integers(records, ("issued_year",))


def test_cli_export(data_dir: Path) -> None:
    result = CliRunner().invoke(app, ["export", "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.stderr
    text = result.stdout
    records = check(text, id_column=None)
    keys = [(r["member_id"], r["content_type"], r["period"], r["metric"]) for r in records]
    assert len(set(keys)) == len(keys)  # one row per member × type × period × metric
    assert keys == sorted(keys, key=lambda k: (int(k[0]), k[1], k[2], k[3]))
    snap = SnapshotStore(data_dir).load()
    assert len(records) == len(snap.coverage)
    assert_counts_are_integers(records, ("member_id", "covered", "total"))
    assert {r["member_id"] for r in records} == {str(i) for i in range(5000, 5000 + N)}
    again = CliRunner().invoke(app, ["export", "--data-dir", str(data_dir)])
    assert again.stdout == text  # byte-identical


def test_frame_csv_integer_columns_with_missing_values() -> None:
    frame = pd.DataFrame(
        {
            "member_id": pd.array([1, 2, None], dtype="Int64"),
            "works": [12.0, 3.0, 0.0],
            "name": ["\r=x", None, "ok"],
        }
    )
    text = frame_csv(frame)
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[1][0] == "1" and rows[3][0] == ""
    assert rows[1][2] == "' =x" and rows[2][2] == ""
