"""Funder reports: one JSON document per funder, ``drilldown/funder-<key>.json``.

The document is what :func:`cache.jobs.funder_report.run` returns (``id``, ``name``, ``created``,
``current_year``, ``publishers`` rows …). The file key is the funder id with anything outside
``[A-Za-z0-9._-]`` replaced by ``_``.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

from cache.store.files import read_json, write_json_atomic

DIRECTORY = "drilldown"
KEY_RE = re.compile(r"[A-Za-z0-9._-]{1,200}")
logger = logging.getLogger(__name__)


def file_key(funder_id: str) -> str:
    """The file key of a funder id (``"10.13039/100000001"`` → ``"10.13039_100000001"``)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", funder_id)


def _path(data_dir: Path, key: str) -> Path:
    return Path(data_dir) / DIRECTORY / f"funder-{key}.json"


def save(data_dir: Path, report: dict[str, Any]) -> Path:
    """Write a funder report atomically; returns its path. Raises ``OSError``."""
    return write_json_atomic(_path(data_dir, file_key(report["id"])), report)


def saved(data_dir: Path) -> list[dict[str, str]]:
    """``{key, name, created}`` of every saved funder report, newest first; unreadable files are
    skipped with a warning (one broken file must not hide the others)."""
    out = []
    for p in (Path(data_dir) / DIRECTORY).glob("funder-*.json"):
        report = _read(p)
        if report is not None:
            out.append(
                {
                    "key": p.stem.removeprefix("funder-"),
                    "name": report.get("name") or "",
                    "created": report.get("created") or "",
                }
            )
    return sorted(out, key=lambda r: r["created"], reverse=True)


def load(data_dir: Path, key: str) -> dict[str, Any] | None:
    """One saved report by its file key (as listed by :func:`saved`), or None."""
    if not KEY_RE.fullmatch(key or ""):
        return None
    return _read(_path(data_dir, key))


def _read(p: Path) -> dict[str, Any] | None:
    try:
        report = read_json(p)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        logger.warning("skipping unreadable funder report %s: %s", p, exc)
        return None
    if not isinstance(report, dict) or not isinstance(report.get("publishers"), list):
        logger.warning("skipping funder report %s: not a funder report", p)
        return None
    return report
