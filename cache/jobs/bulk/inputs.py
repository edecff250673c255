"""Input discovery and sniffing: which files to read, their compression and format, and their
decompressed bytes as a stream that tolerates a cut-off end."""

from __future__ import annotations

import bz2
import logging
import lzma
import os
import re
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import NamedTuple

from cache.jobs.bulk.results import BulkIngestError

logger = logging.getLogger(__name__)

WORK_SUFFIXES = (".jsonl", ".ndjson", ".json")
COMPRESSED_SUFFIXES = (".gz", ".bz2", ".xz")


def expand_paths(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """Files as given; directories are searched (recursively) for works files. A file named
    twice is read once."""
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


def sniff_compression(path: Path) -> str:
    with open(path, "rb") as fh:
        head = fh.read(6)
    if head[:2] == b"\x1f\x8b":
        return "gzip"
    if head[:3] == b"BZh":
        return "bz2"
    if head[:6] == b"\xfd7zXZ\x00":
        return "xz"
    return "none"


_ITEMS_HEAD = re.compile(rb'^\s*\{\s*"items"\s*:\s*\[')


def sniff_format(path: Path, compression: str) -> str:
    """``"items"`` for a ``{"items": [...]}`` document, else ``"jsonl"``."""
    head = b""
    try:
        for block in decompressed_blocks(path, compression, block_bytes=1 << 16):
            head += block.data
            if len(head.lstrip()) >= 64 or block.truncated or block.corrupt:
                break
    except OSError:
        return "jsonl"
    return "items" if _ITEMS_HEAD.match(head) else "jsonl"


class Block(NamedTuple):
    data: bytes
    consumed: int  # compressed bytes read so far
    truncated: bool = False  # the compressed stream ended early (no end-of-stream marker)
    corrupt: str = ""  # a decompression error message


def _decompressor(compression: str):
    if compression == "gzip":
        return zlib.decompressobj(wbits=31)
    if compression == "bz2":
        return bz2.BZ2Decompressor()
    if compression == "xz":
        return lzma.LZMADecompressor()
    return None


def decompressed_blocks(
    path: Path, compression: str, block_bytes: int = 4 << 20
) -> Iterator[Block]:
    """Decompressed data of a file, tolerant of a cut-off end (reported, not raised).

    Handles concatenated gzip members. The last block has ``truncated`` or ``corrupt`` set
    when the stream did not end properly.
    """
    consumed = 0
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
            try:
                data = dec.decompress(buf)
            except (zlib.error, OSError, EOFError, lzma.LZMAError) as exc:
                yield Block(b"", consumed, corrupt=f"corrupt {compression} data ({exc})")
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
                    yield Block(b"", consumed, corrupt="trailing data after the gzip stream")
                    return
                dec = _decompressor(compression)
                buf = rest
        if not dec.eof:
            yield Block(b"", consumed, truncated=True)


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
