"""What an ingest returns: per-file reports, malformed-line issues, the result and its error."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import pandas as pd


class BulkIssue(NamedTuple):
    """One malformed line: ``(file, line, message)``; ``line`` is 1-based."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class BulkIngestError(ValueError):
    """A malformed line under ``strict=True``, or input that cannot be read at all."""

    def __init__(self, message: str, file: str | None = None, line: int | None = None):
        super().__init__(message)
        self.file = file
        self.line = line


@dataclass
class FileReport:
    path: str
    format: str  # "jsonl" | "items"
    compression: str  # "gzip" | "bz2" | "xz" | "none"
    bytes: int
    works: int = 0  # objects attributed to a member (scored)
    errors: int = 0  # malformed lines
    no_member: int = 0  # JSON objects without a usable `member` (not scored)
    path_taken: str = "fast"  # "fast" | "stream" (DuckDB could not read it in one go)
    size: int | None = None  # uncompressed bytes when known (plain files, gzip ISIZE)


@dataclass
class BulkResult:
    files: list[FileReport]
    works: int
    error_count: int
    errors: list[BulkIssue]  # the first MAX_LISTED_ERRORS, in file and line order
    no_member: int
    members: pd.DataFrame
    coverage: pd.DataFrame
    years: pd.DataFrame
    meta: dict[str, Any]
    snapshot_id: str | None
    duration_s: float
    current_year: int

    @property
    def works_per_second(self) -> float:
        return self.works / self.duration_s if self.duration_s > 0 else float("nan")

    def summary(self, max_errors: int = 5) -> str:
        lines = [
            f"bulk: {self.works:,} works of {len(self.members):,} members from "
            f"{len(self.files)} file(s) in {self.duration_s:.1f} s "
            f"({self.works_per_second:,.0f} works/s)"
        ]
        if self.snapshot_id:
            lines.append(f"published snapshot {self.snapshot_id}")
        if self.error_count:
            lines.append(f"{self.error_count:,} malformed line(s) skipped:")
            lines += [f"  {issue}" for issue in self.errors[:max_errors]]
            if self.error_count > max_errors:
                lines.append(f"  … and {self.error_count - max_errors:,} more")
        if self.no_member:
            lines.append(f"{self.no_member:,} record(s) without a member id were not scored")
        return "\n".join(lines)
