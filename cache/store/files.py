"""The one atomic JSON writer (and its reader) used by every JSON file of the data directory."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

DIR_MODE = 0o700


def write_json_atomic(path: Path, document: Any) -> Path:
    """Write ``document`` as UTF-8 JSON to ``path`` so that a reader never sees half a file.

    The JSON goes to a uniquely named temporary file in the same directory, is fsynced, then
    ``os.replace``d over ``path``. Parent directories are created 0700. Returns ``path``.
    Raises ``OSError`` (disk full, read-only) and ``TypeError`` (not JSON-serialisable); the
    temporary file is removed in both cases and ``path`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(document, fh, ensure_ascii=False)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def read_json(path: Path) -> Any:
    """The JSON document at ``path``. Raises ``OSError`` (missing, unreadable) and ``ValueError``
    (not UTF-8, not JSON)."""
    return json.loads(Path(path).read_text(encoding="utf-8"))
