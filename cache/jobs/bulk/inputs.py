"""Input discovery and sniffing: which files to read, what they hold (decided by their content,
not their names), and their decompressed bytes as a stream that tolerates a cut-off end.

What Crossref ships and people keep (see ../shared/reference/crossref-api.md §3 and Crossref's
"Tips for working with Crossref public data files and Plus snapshots"):

* the public data file: a ``.tar`` of ``{"items": [...]}`` ``.json.gz`` chunks (2020-2024) or
  of JSON Lines files (2025+);
* Metadata Plus snapshots: ``all.json.tar.gz``, a gzip-compressed tar of JSON files;
* harvested ``/works`` pages saved as the API returns them:
  ``{"status": "ok", "message-type": "work-list", "message": {"items": [...]}}`` or a single
  ``"message-type": "work"`` with the work as ``message``;
* JSON Lines of works, JSON arrays of works, a single work; each plain or gzip/bz2/xz.
"""

from __future__ import annotations

import bz2
import json
import logging
import lzma
import os
import re
import tarfile
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, NamedTuple

from cache.jobs.bulk.results import BulkIngestError

logger = logging.getLogger(__name__)

WORK_SUFFIXES = (".jsonl", ".ndjson", ".json", ".tar", ".tgz")
COMPRESSED_SUFFIXES = (".gz", ".bz2", ".xz")
#: Kinds of works files (see :func:`sniff_kind`) that hold works to score.
WORKS_KINDS = ("jsonl", "items", "api-list", "api-work", "array", "work")
#: Top-level keys of a REST API response envelope.
ENVELOPE_KEYS = (b"status", b"message-type", b"message-version", b"message")
#: Decompressed bytes read to decide what a file holds.
SNIFF_BYTES = 1 << 16


def expand_paths(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """Files as given; folders are searched recursively for works files and tar archives
    (``.jsonl``, ``.ndjson``, ``.json``, ``.tar``, ``.tgz``, each optionally ``.gz``/``.bz2``/
    ``.xz``). A file named twice is read once.

    Raises :class:`BulkIngestError` for a path that does not exist.
    """
    out: list[Path] = []
    seen: set[Path] = set()
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(
                p for p in path.rglob("*") if p.is_file() and _looks_like_works_file(p.name)
            )
        elif path.is_file():
            found = [path]
        else:
            raise BulkIngestError(f"{path}: no such file or directory", str(path))
        for p in found:
            key = p.resolve()
            if key in seen:
                logger.warning("%s: given more than once; read once", p)
                continue
            seen.add(key)
            out.append(p)
    return out


def _looks_like_works_file(name: str) -> bool:
    name = name.lower()
    for comp in COMPRESSED_SUFFIXES:
        name = name.removesuffix(comp)
    return name.endswith(WORK_SUFFIXES)


def compression_of(head: bytes) -> str:
    """``"gzip"``, ``"bz2"``, ``"xz"`` or ``"none"`` from a file's first bytes (magic numbers)."""
    if head[:2] == b"\x1f\x8b":
        return "gzip"
    if head[:3] == b"BZh":
        return "bz2"
    if head[:6] == b"\xfd7zXZ\x00":
        return "xz"
    return "none"


def sniff_compression(path: Path) -> str:
    """:func:`compression_of` the file's first bytes."""
    with open(path, "rb") as fh:
        return compression_of(fh.read(6))


def is_tar_header(block: bytes) -> bool:
    """Whether ``block`` (the first 512 decompressed bytes) is a tar header: a ``ustar`` magic
    or a valid header checksum (old v7 archives)."""
    if len(block) < 512:
        return False
    if block[257:262] == b"ustar":
        return True
    try:
        tarfile.TarInfo.frombuf(block[:512], "utf-8", "surrogateescape")
    except (tarfile.HeaderError, ValueError):
        return False
    return True


_FIRST_KEY = re.compile(rb'\{\s*"((?:[^"\\]|\\.)*)"\s*:')
_MESSAGE_TYPE = re.compile(rb'"message-type"\s*:\s*"((?:[^"\\]|\\.)*)"')


class Sniffed(NamedTuple):
    """What a file's first decompressed bytes say it is: ``kind`` (one of
    :data:`WORKS_KINDS`, ``"tar"``, ``"api-other"``, ``"empty"`` or ``"unknown"``) and a
    ``detail`` (the message-type of an API envelope, or what an unknown file looks like)."""

    kind: str
    detail: str = ""


def sniff_kind(head: bytes, complete: bool) -> Sniffed:
    """Decide what a file holds from its first decompressed bytes ``head`` (``complete``: the
    whole file is in ``head``).

    The first JSON token decides: ``[`` a JSON array of works; ``{`` whose first key is
    ``items`` a public-data chunk; a first key of the REST API envelope (``status``,
    ``message-type`` …) an API response (``api-list`` for ``work-list``, ``api-work`` for
    ``work``, else ``api-other``); any other object is JSON Lines when its first line is a
    whole JSON value (or longer than ``head``: real records reach several MB), else one
    pretty-printed work (``work``). A tar header gives ``tar``.
    """
    if is_tar_header(head[:512]):
        return Sniffed("tar")
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n")
    if not text:
        return Sniffed("empty") if complete else Sniffed("unknown", "only whitespace")
    first = text[:1]
    if first == b"[":
        return Sniffed("array")
    if first != b"{":
        return Sniffed("unknown", _looks_like(text))
    m = _FIRST_KEY.match(text)
    key = m.group(1) if m else b""
    if key == b"items":
        return Sniffed("items")
    if key in ENVELOPE_KEYS:
        mt = _MESSAGE_TYPE.search(text)
        mtype = mt.group(1).decode("utf-8", "replace") if mt else ""
        if mtype == "work-list":
            return Sniffed("api-list", mtype)
        if mtype == "work":
            return Sniffed("api-work", mtype)
        return Sniffed("api-other", mtype)
    nl = text.find(b"\n")
    if nl < 0:
        if not complete:
            return Sniffed("jsonl")  # one line longer than the head: a big record
        line = text
    else:
        line = text[:nl]
    try:
        json.loads(line)
    except ValueError:
        stripped = line.rstrip()
        if stripped.endswith((b"{", b"[", b",")) or stripped == b"{":
            return Sniffed("work")  # a pretty-printed object
    return Sniffed("jsonl")


def _looks_like(text: bytes) -> str:
    """A short description of non-JSON content, for messages."""
    if text[:4] == b"PK\x03\x04":
        return "a zip archive: unzip it, or give the files inside"
    if text[:4] == b"\x28\xb5\x2f\xfd":
        return "zstd-compressed data: decompress it first"
    if text[:1] == b"<":
        return "markup (HTML or XML), not JSON"
    sample = text[:40]
    if any(b < 9 or 13 < b < 32 for b in sample[:16]):
        return "binary data starting with bytes " + sample[:8].hex(" ")
    shown = sample.decode("utf-8", "replace").split("\n")[0]
    return f"text that is not JSON, starting {shown!r}"


def head_bytes(fh: IO[bytes], compression: str, limit: int = SNIFF_BYTES) -> tuple[bytes, bool]:
    """Up to ``limit`` decompressed bytes from the start of ``fh`` (read as far as needed) and
    whether that is the whole stream. Damaged data ends the head early (not raised)."""
    dec = _decompressor(compression)
    out = b""
    while len(out) < limit:
        chunk = fh.read(1 << 14)
        if not chunk:
            return out, True
        if dec is None:
            out += chunk
            continue
        try:
            out += dec.decompress(chunk)
        except (zlib.error, OSError, EOFError, lzma.LZMAError):
            return out, True
        if dec.eof and not dec.unused_data and not fh.read(1):
            return out, True
    return out[:limit], False


def sniff_file(path: Path) -> tuple[str, Sniffed]:
    """(compression, what the file holds) of a file on disk."""
    with open(path, "rb") as fh:
        compression = compression_of(fh.read(6))
        fh.seek(0)
        head, complete = head_bytes(fh, compression)
    return compression, sniff_kind(head, complete)


class Block(NamedTuple):
    """Decompressed ``data``; ``consumed`` compressed bytes read so far. The last block of a
    damaged stream has ``truncated`` (no end-of-stream marker) or ``corrupt`` (the decoder's
    message) set, ``offset`` the compressed byte where decoding stopped, ``total`` the
    compressed size."""

    data: bytes
    consumed: int
    truncated: bool = False
    corrupt: str = ""
    offset: int = 0
    total: int = 0


def _decompressor(compression: str):
    if compression == "gzip":
        return zlib.decompressobj(wbits=31)
    if compression == "bz2":
        return bz2.BZ2Decompressor()
    if compression == "xz":
        return lzma.LZMADecompressor()
    return None


_DECODE_ERRORS = (zlib.error, OSError, EOFError, lzma.LZMAError)


def _locate(dec, buf: bytes) -> tuple[bytes, int, str]:
    """Re-decode ``buf`` from a copy of the decoder taken before it, in small steps, to find the
    compressed byte where decoding fails. Returns (data before it, offset in buf, message)."""
    out = bytearray()
    pos = 0
    for step in (1024, 1):
        while pos < len(buf):
            trial = dec.copy()
            try:
                data = trial.decompress(buf[pos : pos + step])
            except _DECODE_ERRORS as exc:
                message = str(exc)
                if step == 1:
                    return bytes(out), pos, message
                break
            out += data
            dec = trial
            pos += step
            if dec.eof:
                return bytes(out), pos, "trailing data after the gzip stream"
    return bytes(out), pos, "corrupt data"


def decompressed_blocks(
    path: Path, compression: str, block_bytes: int = 4 << 20
) -> Iterator[Block]:
    """Decompressed data of a file, tolerant of a damaged end (reported, not raised).

    Handles concatenated gzip members (and NUL padding after them). The last block has
    ``truncated`` or ``corrupt`` set when the stream did not end properly; for gzip,
    ``offset`` is then the exact compressed byte where decoding failed (the data before it is
    still yielded), for bz2/xz the block where it failed.
    """
    consumed = 0
    total = path.stat().st_size
    with open(path, "rb") as fh:
        dec = _decompressor(compression)
        if dec is None:
            while chunk := fh.read(block_bytes):
                consumed += len(chunk)
                yield Block(chunk, consumed)
            return
        buf = b""
        while True:
            if not buf:
                buf = fh.read(block_bytes)
                consumed += len(buf)
                if not buf:
                    break
            start = consumed - len(buf)
            saved = dec.copy() if hasattr(dec, "copy") else None
            try:
                data = dec.decompress(buf)
            except _DECODE_ERRORS as exc:
                if saved is None:
                    yield Block(
                        b"",
                        consumed,
                        corrupt=f"corrupt {compression} data ({exc})",
                        offset=start,
                        total=total,
                    )
                    return
                data, at, message = _locate(saved, buf)
                if data:
                    yield Block(data, start + at)
                yield Block(
                    b"",
                    start + at,
                    corrupt=f"corrupt {compression} data ({message})",
                    offset=start + at,
                    total=total,
                )
                return
            buf = b""
            if data:
                yield Block(data, consumed)
            if dec.eof:
                rest = dec.unused_data
                while not rest.strip(b"\0"):  # end of file (NUL padding is harmless)
                    more = fh.read(block_bytes)
                    consumed += len(more)
                    if not more:
                        return
                    rest = (rest + more).lstrip(b"\0")
                rest = rest.lstrip(b"\0")
                if compression == "gzip" and rest[:2] != b"\x1f\x8b":
                    at = consumed - len(rest)
                    yield Block(
                        b"",
                        consumed,
                        corrupt="trailing data after the gzip stream",
                        offset=at,
                        total=total,
                    )
                    return
                dec = _decompressor(compression)
                buf = rest
        if not dec.eof:
            yield Block(b"", consumed, truncated=True, offset=consumed, total=total)


def damage_text(block: Block, compression: str, line: int) -> str:
    """``truncated gzip stream at byte N of M, after line L`` (or ``corrupt …``) for the
    damaged last block of :func:`decompressed_blocks`; ``line`` is the last complete line."""
    what = block.corrupt or f"truncated {compression} stream"
    where = f"at byte {block.offset:,} of {block.total:,}"
    return f"{what} {where}, after line {line:,}; the rest of the file is unread"


def uncompressed_size(path: Path, compression: str) -> int | None:
    """Size of the data: the file size, or gzip's ISIZE trailer (exact for one member < 4 GB)."""
    size = path.stat().st_size
    if compression == "none":
        return size
    if compression != "gzip" or size < 18:
        return None
    with open(path, "rb") as fh:
        fh.seek(-4, os.SEEK_END)
        return int.from_bytes(fh.read(4), "little")
