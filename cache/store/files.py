"""The one atomic JSON writer (and its reader) used by every JSON file of the data directory,
and the data directory's refresh lock (:func:`refresh_lock`, :func:`refresh_running`)."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import threading
import uuid
from collections.abc import Callable, Iterator
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


# --------------------------------------------------------------------------------------------
# The data-directory lock held by refresh-and-publish jobs
# --------------------------------------------------------------------------------------------
LOCK_NAME = "refresh.lock"
_locks: dict[str, Any] = {}
_locks_guard = threading.Lock()


class LockBusy(RuntimeError):
    """Another process (or thread) holds the data directory's refresh lock.

    ``holder`` is what that process wrote into the lock file (``{"pid", "since", "job"}``;
    empty when it could not be read). ``str()`` reads "another refresh is running (pid N, since
    …)".
    """

    def __init__(self, holder: dict[str, Any]) -> None:
        self.holder = holder
        pid = holder.get("pid", "unknown")
        since = holder.get("since")
        job = holder.get("job")
        detail = f"pid {pid}" + (f", since {since}" if since else "")
        what = f"another {job}" if job else "another refresh"
        super().__init__(f"{what} is running ({detail})")


def _lock_for(data_dir: Path) -> Any:
    """One ``filelock.FileLock`` per lock path in this process, so nested use is re-entrant
    within a thread and exclusive across threads and processes."""
    from filelock import FileLock

    path = Path(data_dir) / LOCK_NAME
    key = os.path.abspath(path)
    with _locks_guard:
        lock = _locks.get(key)
        if lock is None:
            lock = _locks[key] = FileLock(key, thread_local=True)
        return lock


def _read_holder(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return {}
    return doc if isinstance(doc, dict) else {}


@contextlib.contextmanager
def refresh_lock(
    data_dir: Path,
    *,
    wait: bool | float = False,
    job: str = "refresh",
    on_wait: Callable[[dict[str, Any]], Any] | None = None,
) -> Iterator[None]:
    """Hold ``<data_dir>/refresh.lock`` (an OS file lock via ``filelock``) while the block runs.

    ``wait``: False gives up after about a second with :class:`LockBusy`, True waits as long as
    it takes, a number waits that many seconds. ``on_wait(holder)`` is called once before
    waiting. The lock file records ``{"pid", "since" (UTC ISO time), "job"}`` of the holder;
    the OS releases the lock when the process dies (``kill -9`` included), so a stale file never
    blocks. Re-entrant within a thread. The data directory is created (0700) if needed.
    """
    from filelock import Timeout

    from cache.crossref.settings import ensure_private_dir

    ensure_private_dir(Path(data_dir))
    lock = _lock_for(Path(data_dir))
    path = Path(lock.lock_file)
    nested = lock.is_locked
    try:
        lock.acquire(timeout=1.0)  # a /healthz probe may hold it for a moment
    except Timeout:
        if wait is False:
            raise LockBusy(_read_holder(path)) from None
        if on_wait is not None:
            on_wait(_read_holder(path))
        try:
            lock.acquire(timeout=-1 if wait is True else max(float(wait), 0.0))
        except Timeout:
            raise LockBusy(_read_holder(path)) from None
    try:
        if not nested:
            since = dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
            with open(path, "w", encoding="utf-8") as fh:  # the lock is on the open file, not
                json.dump({"pid": os.getpid(), "since": since, "job": job}, fh)  # its contents
        yield
    finally:
        if not nested:
            with contextlib.suppress(OSError):
                open(path, "w").close()  # no holder any more (read by refresh_running)
        lock.release()


def refresh_running(data_dir: Path) -> dict[str, Any] | None:
    """``{"pid", "since", "job"}`` of the process holding the data directory's refresh lock, or
    None when no refresh runs (for a /healthz route). Never blocks a refresh: the lock file is
    read first and the lock itself only probed when that file names a holder."""
    from filelock import FileLock, Timeout

    path = Path(data_dir) / LOCK_NAME
    holder = _read_holder(path)
    if not holder:
        return None
    own = _locks.get(os.path.abspath(path))
    if own is not None and own.is_locked:
        return holder
    probe = FileLock(str(path), thread_local=False)
    try:
        probe.acquire(timeout=0)
    except Timeout:
        return holder
    except OSError:
        return None
    probe.release()
    return None
