"""What an ingest returns: per-file and per-input reports, malformed-line issues, the result and
its errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

import pandas as pd


class BulkIssue(NamedTuple):
    """One malformed line: ``(file, line, message)``; ``line`` is 1-based.

    ``file`` is the name shown to people: the path as given, or ``archive.tar:member`` for a
    member of a tar archive.
    """

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class BulkIngestError(ValueError):
    """A malformed line or damaged file under ``strict=True``, input that cannot be read at all,
    or (:class:`NothingScored`) a run that scored no work."""

    def __init__(self, message: str, file: str | None = None, line: int | None = None):
        super().__init__(message)
        self.file = file
        self.line = line


class NothingScored(BulkIngestError):
    """The inputs held no work that could be scored; nothing was published.

    ``inputs`` lists every input with what was found in it (:class:`InputReport`).
    """

    def __init__(self, message: str, inputs: list[InputReport]):
        super().__init__(message, inputs[0].path if inputs else None)
        self.inputs = inputs


#: What :func:`cache.jobs.bulk.inputs.sniff_kind` found, in words (for messages).
KIND_WORDS = {
    "jsonl": "a JSON Lines file",
    "items": 'a {"items": [...]} chunk',
    "api-list": "an API response envelope of message-type work-list",
    "api-work": "an API response envelope of message-type work",
    "array": "a JSON array",
    "work": "a single JSON object",
    "empty": "an empty file",
}


@dataclass
class FileReport:
    """One works file, or one works file inside a tar archive, and what scoring it found.

    ``path`` is the file read (for a tar member: a temporary copy of the member, deleted once
    scored); ``name`` the name shown in messages. ``works`` counts records attributed to a
    member (before duplicates across files are dropped); ``no_member`` JSON objects without a
    usable ``member``; ``errors`` malformed lines (and a damaged end of data). ``damage`` says
    where the compressed data stopped being readable (byte offset, line reached), ``notes``
    lists things worth knowing that are not errors (a line too long for DuckDB's reader).
    """

    path: str
    format: str  # "jsonl" | "items" | "api-list" | "api-work" | "array" | "work"
    compression: str  # "gzip" | "bz2" | "xz" | "none"
    bytes: int
    works: int = 0  # objects attributed to a member (scored)
    errors: int = 0  # malformed lines
    no_member: int = 0  # JSON objects without a usable `member` (not scored)
    path_taken: str = "fast"  # "fast" | "stream" (DuckDB could not read it in one go)
    size: int | None = None  # uncompressed bytes when known (plain files, gzip ISIZE)
    name: str = ""  # shown in messages (default: path)
    damage: str = ""  # "truncated/corrupt … at byte N … after line L" when the data broke off
    notes: list[str] = field(default_factory=list)
    fast_error: str = ""  # why DuckDB could not read the file in one go (empty: it could)

    def __post_init__(self) -> None:
        if not self.name:
            self.name = self.path


@dataclass
class InputReport:
    """One input as given (a file, or a tar archive) and what was found in it.

    ``kind``: ``"tar"``, one of :data:`KIND_WORDS`, ``"api-other"`` (an API envelope whose
    message is not works; ``detail`` holds its message-type) or ``"unknown"`` (``detail``
    says what it looks like). ``files`` are the works files read from it (one for a plain
    file, the works members of a tar). ``skipped`` lists what was not scored (tar members
    that are not works files, with the reason).
    """

    path: str
    kind: str
    compression: str = "none"
    detail: str = ""
    files: list[FileReport] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    members: int = 0  # regular files in a tar archive
    damage: str = ""  # the archive itself broke off (tar inputs)

    @property
    def works(self) -> int:
        return sum(f.works for f in self.files)

    def describe(self) -> str:
        """What this input holds, in words, e.g. ``a tar archive with 0 works files (2
        members: README.txt (not JSON), …)`` or ``an API response envelope of message-type
        member``."""
        comp = f"{self.compression}-compressed " if self.compression != "none" else ""
        if self.kind == "tar":
            text = (
                f"a {comp}tar archive with {len(self.files)} works file(s) of "
                f"{self.members} member(s)"
            )
            if self.files:
                text += ", " + _counts(self.files)
            if self.skipped:
                shown = "; ".join(self.skipped[:3])
                more = f"; … {len(self.skipped) - 3} more" if len(self.skipped) > 3 else ""
                text += f"; not works: {shown}{more}"
            if self.damage:
                text += f"; {self.damage}"
            return text
        if self.kind == "api-other":
            return f"an API response envelope of message-type {self.detail or '(none)'}"
        if self.kind == "unknown":
            return f"not a works file ({self.detail})"
        words = KIND_WORDS.get(self.kind, self.kind)
        text = f"{comp}{words}" if not comp else f"{words} ({self.compression}-compressed)"
        if self.kind != "empty":
            text += ", " + _counts(self.files)
        return text


def _counts(files: list[FileReport]) -> str:
    works = sum(f.works for f in files)
    no_member = sum(f.no_member for f in files)
    errors = sum(f.errors for f in files)
    if not (works or no_member or errors or any(f.damage for f in files)):
        return "holding no records"
    parts = [f"{works:,} work(s) scored"]
    if no_member:
        parts.append(f"{no_member:,} record(s) without a member")
    if errors:
        parts.append(f"{errors:,} malformed")
    damage = [f.damage for f in files if f.damage]
    if damage:
        parts.append(damage[0])
    return ", ".join(parts)


@dataclass
class BulkResult:
    """The outcome of :func:`cache.jobs.bulk.ingest`.

    ``works``: distinct works scored (a DOI seen more than once counts once, see
    ``duplicates``). ``errors`` holds the first 1,000 malformed lines (file, line order);
    ``damaged`` every file whose compressed data broke off (listed first by :meth:`summary`).
    ``members``/``coverage``/``years`` are the snapshot contract's frames; ``snapshot_id`` is
    None when nothing was published (``publish=False``).
    """

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
    duplicates: int = 0  # copies of an already-seen DOI dropped (the latest copy was kept)
    inputs: list[InputReport] = field(default_factory=list)

    @property
    def works_per_second(self) -> float:
        return self.works / self.duration_s if self.duration_s > 0 else float("nan")

    @property
    def damaged(self) -> list[str]:
        """``file: what broke and where`` for every file or archive whose data broke off."""
        out = [f"{i.path}: {i.damage}" for i in self.inputs if i.damage]
        return out + [f"{f.name}: {f.damage}" for f in self.files if f.damage]

    def summary(self, max_errors: int = 5) -> str:
        """A few lines for people: totals (with duplicates dropped) first, then damaged files
        (byte offset and line reached), malformed lines, records without a member, notes."""
        first = (
            f"bulk: {self.works:,} works of {len(self.members):,} members from "
            f"{len(self.files)} file(s) in {self.duration_s:.1f} s "
            f"({self.works_per_second:,.0f} works/s)"
        )
        first += f", {self.duplicates:,} duplicate(s) dropped"
        lines = [first]
        if self.snapshot_id:
            lines.append(f"published snapshot {self.snapshot_id}")
        lines += [f"DAMAGED {d}" for d in self.damaged]
        line_errors = self.error_count - sum(1 for f in self.files if f.damage)
        if line_errors > 0:
            listed = [i for i in self.errors if not _is_damage(i, self.files)]
            lines.append(f"{line_errors:,} malformed line(s) skipped:")
            lines += [f"  {issue}" for issue in listed[:max_errors]]
            if line_errors > max_errors:
                lines.append(f"  … and {line_errors - max_errors:,} more")
        if self.no_member:
            lines.append(f"{self.no_member:,} record(s) without a member id were not scored")
        skipped = [f"{i.path}: {s}" for i in self.inputs for s in i.skipped]
        if skipped:
            lines.append(f"{len(skipped):,} archive member(s) not scored (not works files):")
            lines += [f"  {s}" for s in skipped[:max_errors]]
        for f in self.files:
            lines += [f"note: {f.name}: {n}" for n in f.notes]
        return "\n".join(lines)


def _is_damage(issue: BulkIssue, files: list[FileReport]) -> bool:
    return any(f.damage and f.name == issue.file and issue.message == f.damage for f in files)
