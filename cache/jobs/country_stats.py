"""Import Crossref's published country statistics (CSV) into the store.

Reads either file of the dataset "State of Crossref metadata by member country" (Zenodo record
19928426): ``member_participation_stats_by_country.csv`` (one row per date × country: members
depositing each element) and ``metadata_coverage_stats_by_country.csv`` (one row per date ×
country × content type: works with each element). Any subset of dates or rows is accepted; the
file kind is told by its header. Rows are melted to the long table of
:mod:`cache.store.country_stats` and merged (re-importing replaces, never doubles).
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from cache.store import country_stats as store

ID_COLUMNS = ("current_up_to", "region_id", "iso3_code")
COVERAGE_ID_COLUMNS = (*ID_COLUMNS, "document_type", "document_subtype")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_CODE = re.compile(r"[A-Z]{3}")


class CountryStatsError(ValueError):
    """A file that is not one of the dataset's two CSV files (message names the file)."""


@dataclass
class ImportReport:
    """What one import did: rows read and stored per file, and malformed rows (file, line, why)."""

    files: dict[str, int] = field(default_factory=dict)
    rows: int = 0
    malformed: list[tuple[str, int, str]] = field(default_factory=list)
    stored: int = 0

    def summary(self) -> str:
        """One line: files, rows imported, malformed rows, rows now stored."""
        return (
            f"files={len(self.files)} rows={self.rows:,} malformed={len(self.malformed)} "
            f"stored={self.stored:,}"
        )


def _kind(header: list[str]) -> tuple[str, ...]:
    if list(header[: len(COVERAGE_ID_COLUMNS)]) == list(COVERAGE_ID_COLUMNS):
        return COVERAGE_ID_COLUMNS
    if list(header[:3]) == list(ID_COLUMNS) and "total_members" in header:
        return ID_COLUMNS
    raise CountryStatsError(
        "not a Crossref country-statistics file: expected a header starting with "
        f"{','.join(ID_COLUMNS)} (got {','.join(header[:5])}…)"
    )


def _number(text: str) -> int | None:
    if text in ("", "NA"):
        return None
    value = float(text)
    if not math.isfinite(value) or value < 0 or value != int(value):
        raise ValueError(f"not a count: {text!r}")
    return int(value)


def read_file(file: Path, report: ImportReport) -> pd.DataFrame:
    """The rows of one CSV file as the long table of :mod:`cache.store.country_stats`.

    Malformed rows (wrong field count, bad date or code, a value that is not a non-negative number
    or NA) are skipped and recorded in ``report.malformed`` with the file's line number. Raises
    :class:`CountryStatsError` when the header is not one of the dataset's, ``OSError`` when the
    file cannot be read.
    """
    name = str(file)
    out: list[tuple] = []
    with open(file, encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        try:
            header = next(reader)
        except StopIteration:
            raise CountryStatsError(f"{name}: empty file") from None
        try:
            ids = _kind(header)
        except CountryStatsError as exc:
            raise CountryStatsError(f"{name}: {exc}") from None
        measures = header[len(ids) :]
        count = 0
        for row in reader:
            line = reader.line_num
            if len(row) != len(header):
                report.malformed.append((name, line, f"{len(row)} fields, expected {len(header)}"))
                continue
            date, region, iso3 = row[0], row[1], row[2]
            doc_type = row[3] if len(ids) == 5 else ""
            subtype = row[4] if len(ids) == 5 and row[4] != "NA" else ""
            if (
                not _DATE.fullmatch(date)
                or not _CODE.fullmatch(iso3)
                or not _CODE.fullmatch(region)
            ):
                report.malformed.append((name, line, "bad date, region or country code"))
                continue
            try:
                values = [_number(v) for v in row[len(ids) :]]
            except ValueError as exc:
                report.malformed.append((name, line, str(exc)))
                continue
            out.extend(
                (date, region, iso3, doc_type, subtype, m, v)
                for m, v in zip(measures, values, strict=True)
            )
            count += 1
    report.files[name] = count
    report.rows += count
    return pd.DataFrame(out, columns=list(store.COLUMNS))


def import_files(data_dir: Path, files: list[Path]) -> ImportReport:
    """Import every file into ``data_dir`` (all or nothing: nothing is stored when a file's header
    is wrong). Returns the report; raises :class:`CountryStatsError` or ``OSError``."""
    report = ImportReport()
    frames = [read_file(Path(f), report) for f in files]
    table = store.merge(data_dir, pd.concat(frames, ignore_index=True) if frames else store.empty())
    report.stored = len(table)
    return report
