"""The streaming path: files DuckDB cannot read in one go (a cut-off or corrupt gzip stream,
bz2/xz, over-long lines, ``{"items": …}`` documents that do not parse) are decompressed in
Python, numbered line by line (or item by item) and scored chunk by chunk in DuckDB; the line
scan that reports the malformed lines of the fast path is the same reader."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cache.jobs.bulk import sql
from cache.jobs.bulk.inputs import Block, damage_text, decompressed_blocks
from cache.jobs.bulk.job import Job
from cache.jobs.bulk.results import FileReport

#: Decompressed bytes per chunk on the streaming (diagnose / salvage) path.
CHUNK_BYTES = 16 << 20
#: Longest line the streaming path holds in memory; a longer one is reported and skipped (real
#: records with thousands of authors reach a few MB).
MAX_LINE_BYTES = 512 << 20


def stream_jsonl(
    job: Job, report: FileReport, *, aggregate: bool, long_line: int | None = None
) -> None:
    """Number every line of ``report``'s file; report the bad ones; with ``aggregate`` also
    score the good ones (rows go to ``job``'s works table).

    A damaged compressed stream ends the file: the complete lines before it are kept and the
    damage is reported first (byte offset, last complete line). Lines longer than
    ``long_line`` bytes get a note naming file and line (DuckDB's reader does not take them);
    lines longer than :data:`MAX_LINE_BYTES` are reported as malformed and skipped.
    """
    works = no_member = 0
    line_no = 0  # lines seen so far
    carry = b""
    skipping = False  # inside a line longer than MAX_LINE_BYTES
    ended_badly: Block | None = None
    path = Path(report.path)

    def scan(chunk: bytes) -> None:
        nonlocal works, no_member, line_no
        w, nm = _scan_chunk(job, chunk, line_no + 1, report, aggregate, long_line)
        works, no_member = works + w, no_member + nm
        line_no += chunk.count(b"\n") + 1

    for block in decompressed_blocks(path, report.compression, block_bytes=CHUNK_BYTES // 4):
        if block.truncated or block.corrupt:
            ended_badly = block
            break
        data = block.data
        if skipping:
            nl = data.find(b"\n")
            if nl < 0:
                continue
            skipping, data = False, data[nl + 1 :]
            line_no += 1
        carry += data
        if len(carry) < CHUNK_BYTES and block.data:
            continue
        cut = carry.rfind(b"\n")
        if cut < 0:
            if len(carry) > MAX_LINE_BYTES:
                job.issue(
                    report,
                    line_no + 1,
                    f"line longer than {MAX_LINE_BYTES >> 20} MB; skipped",
                )
                carry, skipping = b"", True
            continue
        chunk, carry = carry[:cut], carry[cut + 1 :]
        scan(chunk)
        if aggregate:
            job.tick(block.consumed)
    if ended_badly is not None:
        # complete lines before the damage are fine; the partial last line is not
        cut = carry.rfind(b"\n")
        if cut >= 0 and not skipping:
            chunk, carry = carry[:cut], carry[cut + 1 :]
            scan(chunk)
        job.damage(report, line_no + 1, damage_text(ended_badly, report.compression, line_no))
    elif carry and not skipping:
        scan(carry)
    report.no_member = no_member
    if aggregate:
        report.works = works


def _scan_chunk(
    job: Job,
    chunk: bytes,
    first_line: int,
    report: FileReport,
    aggregate: bool,
    long_line: int | None = None,
) -> tuple[int, int]:
    """One chunk of complete lines (no final newline) → (works scored, no-member count)."""
    lines = _split_lines(chunk)
    n = len(lines)
    if long_line is not None:
        lengths = pc.binary_length(lines).to_numpy(zero_copy_only=False)
        for i in np.flatnonzero(lengths > long_line).tolist():
            report.notes.append(
                f"line {first_line + i:,} is {lengths[i] / 1e6:,.1f} MB, longer than DuckDB's "
                f"reader takes ({long_line / 1e6:,.1f} MB): the file was read on the "
                "streaming path"
            )
    try:
        text = lines.cast(pa.large_string())
        bad_utf8: list[int] = []
    except (pa.ArrowInvalid, UnicodeDecodeError):
        text, bad_utf8 = _decode_lines(lines)
    table = pa.table(
        {"ln": pa.array(np.arange(first_line, first_line + n, dtype=np.int64)), "line": text}
    )
    job.con.register("chunk_lines", table)
    try:
        bad = job.execute(
            "SELECT ln, json_valid(line) AS valid, "
            "CASE WHEN json_valid(line) THEN json_type(line) END AS t "
            "FROM chunk_lines WHERE NOT regexp_full_match(line, '[ \\t\\r]*') "
            "AND (NOT json_valid(line) OR json_type(line) <> 'OBJECT') ORDER BY ln"
        )
        utf8_lines = {first_line + i for i in bad_utf8}
        issues = [(ln, "invalid UTF-8") for ln in sorted(utf8_lines)]
        for ln, valid, jtype in bad:
            if int(ln) in utf8_lines:
                continue
            if not valid:
                issues.append((int(ln), _json_error(text[int(ln) - first_line].as_py())))
            else:
                issues.append((int(ln), f"not a JSON object (a JSON {_json_kind(jtype)})"))
        for ln, message in sorted(issues):
            job.issue(report, ln, message)
        if not aggregate:
            got = job.execute(
                "SELECT count(*) FROM chunk_lines WHERE json_valid(line) "
                "AND json_type(line) = 'OBJECT' AND TRY_CAST(trim(from_json(line, "
                '\'{"member": "VARCHAR"}\').member) AS BIGINT) IS NULL'
            )
            return 0, int(got[0][0])
        stats = job.insert(
            "SELECT CASE WHEN json_valid(line) THEN from_json(line, ?) END AS w, "
            "line AS json, NOT json_valid(line) AS invalid, ? AS filename FROM chunk_lines "
            "WHERE NOT regexp_full_match(line, '[ \\t\\r]*')",
            [sql.WORK_STRUCTURE_JSON, report.path],
        )
        return stats.get((report.path, 0), 0), stats.get((report.path, 1), 0)
    finally:
        job.con.unregister("chunk_lines")


def salvage_document(job: Job, report: FileReport, *, aggregate: bool) -> int:
    """Parse a JSON document (``items`` chunk, API envelope, array, single work) item by item in
    Python: for files DuckDB cannot read in one go (damaged, bz2/xz, not parseable), and to
    explain records that came out of the fast path without a member.

    Reports every item that is not an object and where the document stops parsing (damage
    first, with byte offset); with ``aggregate`` also scores the objects. Returns the number of
    non-object items.
    """
    data = bytearray()
    ended_badly: Block | None = None
    for block in decompressed_blocks(Path(report.path), report.compression):
        if block.truncated or block.corrupt:
            ended_badly = block
            break
        data += block.data
    try:
        text = bytes(data).decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        job.issue(report, line, "invalid UTF-8; the rest of the file was skipped")
        text = bytes(data[: exc.start]).decode("utf-8", errors="ignore")
        ended_badly = None
    items, problem = _scan_document(text, report.format)
    good: list[str] = []
    junk = 0
    for line, item in items:
        if isinstance(item, dict):
            if aggregate:
                good.append(json.dumps(item, ensure_ascii=False))
        else:
            junk += 1
            job.issue(report, line, f"item is not a JSON object (a JSON {_py_kind(item)})")
    if ended_badly is not None:
        last = text.count("\n")
        message = damage_text(ended_badly, report.compression, last)
        if problem is not None:
            message += f" ({problem[1]})"
        job.damage(report, last + 1, message)
    elif problem is not None:
        line, message = problem
        job.issue(report, line, message + "; the rest of the file was skipped")
    if not aggregate:
        return junk
    report.works = report.no_member = 0
    if good:
        job.con.register("chunk_lines", pa.table({"line": pa.array(good, pa.large_string())}))
        try:
            stats = job.insert(
                "SELECT from_json(line, ?) AS w, line AS json, false AS invalid, "
                "? AS filename FROM chunk_lines",
                [sql.WORK_STRUCTURE_JSON, report.path],
            )
        finally:
            job.con.unregister("chunk_lines")
        report.works = stats.get((report.path, 0), 0)
        report.no_member = stats.get((report.path, 1), 0)
    return junk


def _split_lines(chunk: bytes) -> pa.Array:
    """The lines of ``chunk`` (split on ``\\n``, no Python loop) as a binary array."""
    arr = pa.array([chunk], pa.large_binary())
    return pc.split_pattern(arr, pattern=b"\n").flatten()


def _decode_lines(lines: pa.Array) -> tuple[pa.Array, list[int]]:
    """UTF-8 decode line by line (only when the chunk as a whole is not valid UTF-8)."""
    out: list[str] = []
    bad: list[int] = []
    for i, raw in enumerate(lines.to_pylist()):
        try:
            out.append(raw.decode("utf-8"))
        except UnicodeDecodeError:
            bad.append(i)
            out.append("")
    return pa.array(out, pa.large_string()), bad


def _json_error(line: str | None) -> str:
    try:
        json.loads(line or "")
    except ValueError as exc:
        msg = getattr(exc, "msg", str(exc))
        col = getattr(exc, "colno", None)
        return f"invalid JSON: {msg}" + (f" (column {col})" if col else "")
    return "invalid JSON"


def _json_kind(duck_type: str | None) -> str:
    return {
        "ARRAY": "array",
        "VARCHAR": "string",
        "NULL": "null",
        "BOOLEAN": "boolean",
        "UBIGINT": "number",
        "BIGINT": "number",
        "DOUBLE": "number",
    }.get(str(duck_type), str(duck_type).lower())


def _py_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return type(value).__name__


_WS = re.compile(r"[ \t\n\r]*")
#: where the list of works starts, per document kind
_LIST_START = {
    "items": re.compile(r'\s*\{\s*"items"\s*:\s*\['),
    "array": re.compile(r"\s*\["),
    "api-list": re.compile(r'\s*\{[\s\S]*?"message"\s*:\s*\{[\s\S]*?"items"\s*:\s*\['),
}
#: what may follow the list of works
_LIST_TAIL = {
    "items": re.compile(r"\s*(,\s*\"[^\"]*\"\s*:[\s\S]*)?\}\s*"),
    "array": re.compile(r"\s*"),
    "api-list": re.compile(r"[\s\S]*\}\s*\}\s*"),
}
_NOT_A = {
    "items": 'not a {"items": [...]} document',
    "array": "not a JSON array",
    "api-list": "not an API response with message.items",
}


def _scan_document(text: str, kind: str) -> tuple[list[tuple[int, Any]], tuple[int, str] | None]:
    """The works of one document with their line numbers, up to the first problem.

    Returns ``(items, problem)``; ``problem`` is ``(line, message)`` when the document does not
    parse to the end (truncated, malformed or not the expected shape).
    """
    if kind in ("work", "api-work"):
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            return [], (exc.lineno, f"invalid JSON: {exc.msg} (column {exc.colno})")
        if kind == "work":
            return [(1, doc)], None
        message = doc.get("message") if isinstance(doc, dict) else None
        if not isinstance(doc, dict) or doc.get("message-type") != "work":
            return [], (1, "not an API response of message-type work")
        return [(1, message)], None
    return _scan_list(text, kind)


def _scan_list(text: str, kind: str) -> tuple[list[tuple[int, Any]], tuple[int, str] | None]:
    """Items of the list of works in ``text`` (see :data:`_LIST_START`) with line numbers."""
    decoder = json.JSONDecoder()
    items: list[tuple[int, Any]] = []
    newlines = [m.start() for m in re.finditer("\n", text)]

    def line_of(pos: int) -> int:
        return int(np.searchsorted(newlines, pos, side="left")) + 1 if newlines else 1

    m = _LIST_START[kind].match(text)
    if not m:
        return items, (1, _NOT_A[kind])
    pos = m.end()
    end = len(text)
    first = True
    while True:
        pos = _WS.match(text, pos).end()
        if pos >= end:
            return items, (line_of(end), "document ends inside the list of works")
        if text[pos] == "]":
            pos += 1
            break
        if not first:
            if text[pos] != ",":
                return items, (line_of(pos), "invalid JSON: expected ',' or ']' in the list")
            pos = _WS.match(text, pos + 1).end()
        try:
            item, new_pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            return items, (exc.lineno, f"invalid JSON: {exc.msg} (column {exc.colno})")
        items.append((line_of(pos), item))
        pos = new_pos
        first = False
    if _LIST_TAIL[kind].fullmatch(text, pos) is None:
        return items, (line_of(pos), "invalid JSON after the list of works")
    return items, None
