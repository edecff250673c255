"""gunicorn settings for serving the dashboard: `gunicorn -c gunicorn.conf.py app:server`.

Environment (all optional):

    HOST, PORT          where to listen (default 127.0.0.1:8050, as `python app.py`)
    WEB_CONCURRENCY     worker processes (default 2 × cores + 1, at most 4: each worker scores
                        and holds its own views, so more workers than that cost memory and CPU)
    GUNICORN_THREADS    threads per worker (default 4; callbacks release the GIL in pandas/numpy)
    GUNICORN_TIMEOUT    seconds a worker may stay silent before it is restarted (default 120)
    GUNICORN_MAX_REQUESTS  recycle a worker after this many requests (default 0 = never)

Each worker imports `app` itself (no preload): loading the snapshot happens once per worker,
after the fork, so a worker restart never needs the master to hold the data. Before the first
worker starts, the master makes sure a snapshot exists (the demo one on a fresh data dir, under
the same file lock `app.ensure_data` uses), so a slow first build cannot hit the worker timeout.
"""

from __future__ import annotations

import os

from cache.crossref.settings import Settings


def _int(var: str, default: int) -> int:
    raw = os.environ.get(var, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise SystemExit(f"{var} must be a whole number, not {raw!r}") from None


_settings = Settings.from_env()
_cores = os.cpu_count() or 1

bind = f"{_settings.host}:{_settings.port}"
workers = max(1, _int("WEB_CONCURRENCY", min(2 * _cores + 1, 4)))
worker_class = "gthread"
threads = max(1, _int("GUNICORN_THREADS", 4))
preload_app = False
timeout = _int("GUNICORN_TIMEOUT", 120)
graceful_timeout = 30
keepalive = 5
max_requests = _int("GUNICORN_MAX_REQUESTS", 0)
max_requests_jitter = max_requests // 10
limit_request_line = 8190
limit_request_fields = 100
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = "-"
loglevel = "info"
proc_name = "crossref-dashboard"


def on_starting(server) -> None:
    """In the master, before any worker: ensure a snapshot exists (build the demo if none)."""
    from filelock import FileLock

    from cache.crossref.settings import ensure_private_dir
    from cache.store.snapshots import SnapshotStore

    cfg = Settings.from_env()
    ensure_private_dir(cfg.data_dir)
    with FileLock(str(cfg.data_dir / "startup.lock")):
        if SnapshotStore(cfg.data_dir).latest_id() is None:
            from mock_crossref import demo

            server.log.info("no snapshot in %s: building the demo snapshot", cfg.data_dir)
            demo.ensure_snapshot(cfg)
