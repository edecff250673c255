"""Member drill-down results: one JSON document per member, ``drilldown/member-<id>.json``.

The document is what :func:`cache.jobs.drilldown.run` returns (keys ``member_id``, ``created``,
``coverage`` rows, ``years`` rows, ``gaps`` per metric, ``requests``, ``duration_s`` …; see
docs/architecture.md §3). This module only knows where it lives and how it is written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cache.store.files import read_json, write_json_atomic

DIRECTORY = "drilldown"


def path(data_dir: Path, member_id: int) -> Path:
    """``<data_dir>/drilldown/member-<id>.json``."""
    return Path(data_dir) / DIRECTORY / f"member-{int(member_id)}.json"


def save(data_dir: Path, result: dict[str, Any]) -> Path:
    """Write a member's drill-down result atomically; returns its path. Raises ``OSError``."""
    return write_json_atomic(path(data_dir, result["member_id"]), result)


def load(data_dir: Path, member_id: int) -> dict[str, Any] | None:
    """The saved result of ``member_id``, or None when there is none.

    Raises ``OSError``/``ValueError`` when the file exists but cannot be read or parsed.
    """
    p = path(data_dir, member_id)
    if not p.exists():
        return None
    return read_json(p)
