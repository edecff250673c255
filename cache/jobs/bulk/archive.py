"""Tar archives (the public data file, Metadata Plus ``all.json.tar.gz``) read as a stream.

Members are read in order with Python's :mod:`tarfile` in stream mode (``r|*``): nothing seeks,
the archive is never unpacked in full. Each regular member is copied as it is (still
compressed when it is a ``.json.gz`` chunk) to a temporary file, sniffed by content and, when
it holds works, handed to the scoring paths like any works file; the copy is deleted once it
is scored, so the disk holds at most one batch of members (:data:`SPOOL_BYTES`).
"""

from __future__ import annotations

import shutil
import tarfile
import zlib
from collections.abc import Iterator
from pathlib import Path

from cache.jobs.bulk.inputs import WORKS_KINDS, sniff_file, uncompressed_size
from cache.jobs.bulk.results import KIND_WORDS, BulkIngestError, FileReport, InputReport

#: Members copied out before they are scored as one batch (bounds temporary disk use).
SPOOL_BYTES = 512 << 20
_TAR_MODE = {"none": "r|", "gzip": "r|gz", "bz2": "r|bz2", "xz": "r|xz"}


def tar_members(
    path: Path, compression: str, report: InputReport, spool: Path, *, strict: bool
) -> Iterator[FileReport]:
    """The works files of a tar archive, one at a time, as temporary copies in ``spool``.

    ``report`` is filled as the archive is read: its member count, members that are not
    works files (``skipped``, with what they are), and ``damage`` when the archive breaks off
    (byte offset of the archive file, member). Under ``strict`` a member that is not a works
    file, or a damaged archive, raises :class:`BulkIngestError`.
    """
    spool.mkdir(parents=True, exist_ok=True)
    total = path.stat().st_size
    current = ""
    with open(path, "rb") as raw:
        try:
            with tarfile.open(fileobj=raw, mode=_TAR_MODE[compression]) as tar:
                for member in tar:
                    if member.isdir():
                        continue
                    current = member.name
                    if not member.isfile():
                        _skip(report, f"{member.name} (not a regular file)", strict)
                        continue
                    report.members += 1
                    copy = spool / f"member-{report.members:07d}"
                    src = tar.extractfile(member)
                    assert src is not None  # a regular file
                    with open(copy, "wb") as out:
                        shutil.copyfileobj(src, out, 1 << 20)
                    comp, sniffed = sniff_file(copy)
                    if sniffed.kind not in WORKS_KINDS:
                        copy.unlink()
                        what = KIND_WORDS.get(sniffed.kind) or _what(sniffed.kind, sniffed.detail)
                        _skip(report, f"{member.name} ({what})", strict)
                        continue
                    file = FileReport(
                        str(copy), sniffed.kind, comp, member.size, name=f"{path}:{member.name}"
                    )
                    file.size = uncompressed_size(copy, comp)
                    report.files.append(file)
                    current = ""
                    yield file
        except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
            where = f" in member {current}" if current else ""
            report.damage = (
                f"archive breaks off at byte {raw.tell():,} of {total:,}{where} ({exc}); "
                f"the {len(report.files)} works file(s) before it were read"
            )
            for leftover in spool.glob("member-*"):
                if str(leftover) not in {f.path for f in report.files}:
                    leftover.unlink()
            if strict:
                raise BulkIngestError(f"{path}: {report.damage}", str(path)) from exc


def _what(kind: str, detail: str) -> str:
    if kind == "api-other":
        return f"an API response envelope of message-type {detail or '(none)'}"
    if kind == "tar":
        return "a tar archive inside the archive, not read"
    return detail or kind


def _skip(report: InputReport, text: str, strict: bool) -> None:
    report.skipped.append(text)
    if strict:
        raise BulkIngestError(
            f"{report.path}: member {text} is not a works file (--strict)", report.path
        )
