"""Background jobs for Dash background callbacks: shared per key, capped, queued, always reaped.

Dash's own managers start one job per request: six clicks fork six processes, two users asking
for the same member's drill-down run it twice, nothing bounds how many run at once, and a forked
job process stays a zombie until a browser happens to poll for its result. The managers here
(`SharedDiskcacheManager` on one machine, `SharedCeleryManager` on Celery + Redis) put a job
board between Dash and the work:

* **One job per key.** A callback decorated with :func:`shared` names its job from its arguments
  (e.g. ``drilldown:<member id>``). A request for a key whose job is queued or running joins it:
  every subscriber sees the same progress and gets the same result. Cancelling only leaves the
  job; the job stops when its last subscriber leaves.
* **A global cap.** At most ``max_jobs`` jobs run at once across every web worker (the board lives
  in the shared store: the data dir's ``jobs/`` diskcache, or Redis). Further jobs wait in a
  first-come queue and their subscribers see their position in it (``queued`` progress);
  past ``max_queued`` waiting jobs a new request is answered at once with ``unavailable("busy")``.
* **Reaped and supervised.** A daemon thread in each web process ticks every
  ``TICK_S`` seconds whether or not a browser polls: it reaps finished job processes (no
  zombies), marks finished jobs done, starts queued jobs when a slot frees, and re-queues a job
  whose process or Celery worker died without a result (up to ``MAX_ATTEMPTS`` starts; the
  drill-down resumes from the raw-response cache, so nothing already fetched is asked again).

Results stay readable by every subscriber for ``KEEP_S`` seconds after the job ends, then the
board forgets the job. Configuration: :class:`JobConfig` (``REDIS_URL``, ``DASHBOARD_MAX_JOBS``,
``DASHBOARD_MAX_QUEUED_JOBS``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import pickle
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from dash import CeleryManager, DiskcacheManager

from cache.crossref.settings import Settings

logger = logging.getLogger(__name__)

DEFAULT_MAX_JOBS = 2
DEFAULT_MAX_QUEUED = 20
TICK_S = 0.5
KEEP_S = 600.0
START_GRACE_S = 30.0
MAX_ATTEMPTS = 2
BOARD_KEY = "board"
_ACTIVE = ("queued", "running")


# ------------------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class JobConfig:
    """How background jobs run: on Celery through ``redis_url`` (when set) or on this machine.

    ``max_jobs``: jobs running at once across the deployment (default 2);
    ``max_queued``: jobs allowed to wait for a slot before new ones are refused (default 20).
    """

    redis_url: str = ""
    max_jobs: int = DEFAULT_MAX_JOBS
    max_queued: int = DEFAULT_MAX_QUEUED

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> JobConfig:
        """``REDIS_URL``, ``DASHBOARD_MAX_JOBS`` and ``DASHBOARD_MAX_QUEUED_JOBS``, read by
        :meth:`Settings.from_env <cache.crossref.settings.Settings.from_env>` (the one reader of
        the environment). Raises ``ConfigError`` (a ``ValueError``) naming the variable when a
        number is not a positive integer or the Redis URL's scheme is not redis://, rediss://
        or unix://."""
        settings = Settings.from_env(environ)
        return cls(settings.redis_url, settings.max_jobs, settings.max_queued_jobs)


# ------------------------------------------------------------------------ the callback decorator


@dataclass(frozen=True)
class SharedSpec:
    """What a shared background callback tells the board (see :func:`shared`)."""

    key: Callable[..., str]
    queued: Callable[[int, int], Any] | None = None
    unavailable: Callable[[str], Any] | None = None


def shared(
    key: Callable[..., str],
    *,
    queued: Callable[[int, int], Any] | None = None,
    unavailable: Callable[[str], Any] | None = None,
) -> Callable:
    """Mark a background callback as one job per ``key(*callback_args)``.

    Put it under ``@callback(..., background=True)``. ``queued(position, running)`` returns the
    values of the callback's ``progress`` outputs while the job waits (position 1 = next to
    start; running = jobs holding a slot). ``unavailable(reason)`` returns the callback's outputs
    when no result will come: ``"busy"`` (the queue is full) or ``"lost"`` (the job's process
    died ``MAX_ATTEMPTS`` times). Both default to showing nothing. Returns the function itself.
    """

    def mark(fn: Callable) -> Callable:
        fn._shared_job = SharedSpec(key, queued, unavailable)
        return fn

    return mark


# ---------------------------------------------------------------------------------- the stores


class _DiskStore:
    """Board storage in the jobs diskcache; a SQLite write transaction is the lock."""

    def __init__(self, cache) -> None:
        self.cache = cache

    def lock(self):
        return self.cache.transact()

    def get(self, key: str, default: Any = None) -> Any:
        return self.cache.get(key, default)

    def set(self, key: str, value: Any, expire: float | None = None) -> None:
        self.cache.set(key, value, expire=expire)

    def delete(self, key: str) -> None:
        self.cache.delete(key)


class _RedisStore:
    """Board storage in Redis (pickled values under ``dash-jobs:``); a Redis lock guards it."""

    def __init__(self, url: str) -> None:
        import redis

        self.redis = redis.Redis.from_url(url)

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        with self.redis.lock("dash-jobs:lock", timeout=30, blocking_timeout=30, thread_local=False):
            yield

    def get(self, key: str, default: Any = None) -> Any:
        raw = self.redis.get(f"dash-jobs:{key}")
        return default if raw is None else pickle.loads(raw)

    def set(self, key: str, value: Any, expire: float | None = None) -> None:
        self.redis.set(f"dash-jobs:{key}", pickle.dumps(value), ex=int(expire) if expire else None)

    def delete(self, key: str) -> None:
        self.redis.delete(f"dash-jobs:{key}")


# ----------------------------------------------------------------------------------- the board


class SharedJobs:
    """The job board shared by both managers (mixin: subclasses provide the five hooks).

    Handles given to Dash (and signed by it) are ``"<job id>.<subscriber cache key>"`` (URL-safe).
    """

    def _init_board(self, store, max_jobs: int, max_queued: int) -> None:
        self._store = store
        self.max_jobs = int(max_jobs)
        self.max_queued = int(max_queued)
        self._specs: dict[str, SharedSpec | None] = {}
        self._fn_keys: dict[int, str] = {}
        self._local = threading.Lock()
        self._ticker: threading.Thread | None = None
        self._stop = threading.Event()

    # --- registration (Dash calls these at callback definition) --------------------------
    def register(self, key, fn, progress):
        """Register a background callback; remember its :func:`shared` spec."""
        self._specs[key] = getattr(fn, "_shared_job", None)
        super().register(key, fn, progress)
        self._fn_keys[id(self.func_registry[key])] = key

    def build_cache_key(self, fn, args, cache_args_to_ignore, triggered):
        """One key per request (results are not cached between requests)."""
        base = super().build_cache_key(fn, args, cache_args_to_ignore, triggered)
        return base if self.cache_by else f"{base[:24]}-{uuid.uuid4().hex}"

    # --- the board -----------------------------------------------------------------------
    @contextlib.contextmanager
    def _board(self) -> Iterator[dict]:
        with self._local, self._store.lock():
            board = self._store.get(BOARD_KEY) or {"jobs": {}, "subs": {}}
            yield board
            self._store.set(BOARD_KEY, board)

    def _peek_board(self) -> dict:
        return self._store.get(BOARD_KEY) or {"jobs": {}, "subs": {}}

    def jobs(self) -> list[dict]:
        """Every job the board knows (copies): id, name, state, subscribers, times, attempts."""
        return [dict(j) for j in self._peek_board()["jobs"].values()]

    # --- Dash manager interface ----------------------------------------------------------
    def call_job_fn(self, key, job_fn, args, context):
        """Subscribe this request to the job for its key, creating (and queueing) it if none.

        Returns the handle Dash signs and hands to the browser.
        """
        self._ensure_ticker()
        fn_key = self._fn_keys.get(id(job_fn))
        spec = self._specs.get(fn_key) if fn_key else None
        name = f"{fn_key}:{self._job_name(spec, args, key)}"
        with self._board() as board:
            self._supervise(board)
            job = next(
                (j for j in board["jobs"].values() if j["name"] == name and j["state"] in _ACTIVE),
                None,
            )
            if job is None:
                job = self._new_job(board, name, fn_key, args, context)
            job["subs"].append(key)
            board["subs"][key] = job["id"]
            to_start = self._claim_slots(board)
        self._start_claimed(to_start)
        return f"{job['id']}.{key}"

    @staticmethod
    def _job_name(spec: SharedSpec | None, args, key: str) -> str:
        """The spec's key for these callback arguments; this request's own key without a spec
        or when the arguments do not fit it (a malformed request shares nothing)."""
        if spec is None:
            return key
        try:
            return str(spec.key(**args) if isinstance(args, dict) else spec.key(*args))
        except (TypeError, ValueError, AttributeError, KeyError):
            logger.warning("job key of %s failed for these arguments; not shared", key[:24])
            return key

    def _new_job(self, board: dict, name: str, fn_key, args, context) -> dict:
        jid = uuid.uuid4().hex
        waiting = sum(j["state"] == "queued" for j in board["jobs"].values())
        job = {
            "id": jid,
            "name": name,
            "fn": fn_key,
            "state": "queued",
            "reason": None,
            "queued_at": time.time(),
            "started_at": None,
            "finished_at": None,
            "handle": None,
            "host": None,
            "attempts": 0,
            "subs": [],
            "result_key": f"dash-job-{jid}",
        }
        if waiting >= self.max_queued:
            job.update(state="failed", reason="busy", finished_at=time.time())
        else:
            self._store.set(f"payload-{jid}", (args, dict(context)), expire=KEEP_S * 6)
        board["jobs"][jid] = job
        return job

    def get_progress(self, key):
        """The job's progress values, or (while queued) the ``queued`` spec's values."""
        board = self._peek_board()
        job = board["jobs"].get(board["subs"].get(key))
        if job is None:
            return None
        if job["state"] == "queued":
            spec = self._specs.get(job["fn"])
            if spec is None or spec.queued is None:
                return None
            ahead = sorted(
                (j["queued_at"], j["id"]) for j in board["jobs"].values() if j["state"] == "queued"
            )
            position = 1 + ahead.index((job["queued_at"], job["id"]))
            running = sum(j["state"] == "running" for j in board["jobs"].values())
            value = spec.queued(position, running)
            return list(value) if isinstance(value, (list, tuple)) else [value]
        if job["state"] == "running":
            return self._read_progress(job["result_key"] + "-progress")
        return None

    def result_ready(self, key):
        """True when the subscriber's job has ended (with a result or a reason)."""
        board = self._peek_board()
        job = board["jobs"].get(board["subs"].get(key))
        return job is not None and job["state"] in ("done", "failed")

    def get_result(self, key, job):
        """The job's result for this subscriber (not consumed: other subscribers read it too)."""
        board = self._peek_board()
        record = board["jobs"].get(board["subs"].get(key))
        if record is None or record["state"] in _ACTIVE:
            return self.UNDEFINED
        if record["state"] == "failed":
            spec = self._specs.get(record["fn"])
            if spec is not None and spec.unavailable is not None:
                return spec.unavailable(record["reason"] or "lost")
            return {"_dash_no_update": "_dash_no_update"}
        return self._read_result(record["result_key"])

    def get_updated_props(self, key):
        """``set_props`` made by the job, once it has ended (read by every subscriber)."""
        board = self._peek_board()
        record = board["jobs"].get(board["subs"].get(key))
        if record is None or record["state"] != "done":
            return {}
        return self._read_set_props(record["result_key"] + "-set_props")

    def job_running(self, job):
        """True while the job exists on the board (so the browser polls once more for it)."""
        jid, _, _ = str(job).partition(".")
        return jid in self._peek_board()["jobs"]

    def terminate_job(self, job):
        """This subscriber leaves; the job is cancelled when it was the last one."""
        if job is None:
            return
        jid, _, sub = str(job).partition(".")
        kill = None
        with self._board() as board:
            record = board["jobs"].get(jid)
            board["subs"].pop(sub, None)
            if record is None:
                return
            if sub in record["subs"]:
                record["subs"].remove(sub)
            if not record["subs"] and record["state"] in _ACTIVE:
                if record["state"] == "running":
                    kill = dict(record)
                record.update(state="failed", reason="cancelled", finished_at=time.time())
                logger.info("job %s cancelled by its last subscriber", record["name"])
        if kill is not None:
            self._kill(kill)

    def terminate_unhealthy_job(self, job):
        """Supervision is the ticker's work; nothing to do per request."""
        return False

    # --- supervision ---------------------------------------------------------------------
    def tick(self) -> None:
        """One supervision round: reap, mark ended jobs, start queued ones into free slots."""
        self._reap()
        with self._board() as board:
            self._supervise(board)
            to_start = self._claim_slots(board)
        self._start_claimed(to_start)

    def _supervise(self, board: dict) -> None:
        now = time.time()
        for jid, job in list(board["jobs"].items()):
            if job["state"] == "running":
                alive = self._alive(job)
                if alive is None and now - (job["started_at"] or now) < START_GRACE_S:
                    continue  # being started by another process
                if self._has_result(job["result_key"]):
                    job.update(state="done", finished_at=now)
                elif not alive:
                    if job["attempts"] < MAX_ATTEMPTS:
                        logger.warning(
                            "job %s ended without a result; queued again (resumes from cache)",
                            job["name"],
                        )
                        job.update(state="queued", handle=None, host=None, started_at=None)
                    else:
                        job.update(state="failed", reason="lost", finished_at=now)
            if job["state"] in ("done", "failed") and now - (job["finished_at"] or now) > KEEP_S:
                del board["jobs"][jid]
                for sub in job["subs"]:
                    board["subs"].pop(sub, None)
                for suffix in ("", "-progress", "-set_props"):
                    self._forget(job["result_key"] + suffix)
                self._store.delete(f"payload-{jid}")
        for sub, jid in list(board["subs"].items()):
            if jid not in board["jobs"]:
                del board["subs"][sub]

    def _claim_slots(self, board: dict) -> list[dict]:
        running = sum(j["state"] == "running" for j in board["jobs"].values())
        queued = sorted(
            (j for j in board["jobs"].values() if j["state"] == "queued"),
            key=lambda j: (j["queued_at"], j["id"]),
        )
        claimed = []
        for job in queued[: max(0, self.max_jobs - running)]:
            job.update(
                state="running",
                started_at=time.time(),
                handle=None,
                host=None,
                attempts=job["attempts"] + 1,
            )
            claimed.append(dict(job))
        return claimed

    def _start_claimed(self, claimed: list[dict]) -> None:
        for job in claimed:
            payload = self._store.get(f"payload-{job['id']}")
            job_fn = self.func_registry.get(job["fn"])
            handle = None
            if payload is not None and job_fn is not None:
                try:
                    handle = self._start(job_fn, job["result_key"], payload[0], payload[1])
                except Exception:
                    logger.exception("could not start job %s", job["name"])
            with self._board() as board:
                record = board["jobs"].get(job["id"])
                if record is None or record["state"] != "running":
                    stale = {**job, "handle": handle, "host": socket.gethostname()}
                    if handle is not None:
                        self._kill(stale)
                    continue
                if handle is None:
                    record.update(state="failed", reason="lost", finished_at=time.time())
                else:
                    record.update(handle=handle, host=socket.gethostname())

    def _ensure_ticker(self) -> None:
        if self._ticker is not None and self._ticker.is_alive():
            return
        with self._local:
            if self._ticker is not None and self._ticker.is_alive():
                return
            self._stop.clear()
            self._ticker = threading.Thread(target=self._tick_loop, name="job-board", daemon=True)
            self._ticker.start()

    def _tick_loop(self) -> None:
        while not self._stop.wait(TICK_S):
            try:
                self.tick()
            except Exception:
                logger.exception("job board tick failed")

    def stop(self) -> None:
        """Stop this process's supervision thread (tests; the thread is a daemon otherwise)."""
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join(5)

    # --- hooks ---------------------------------------------------------------------------
    def _reap(self) -> None:
        """Collect this process's finished job processes."""

    def _start(self, job_fn, result_key: str, args, context):
        raise NotImplementedError

    def _alive(self, job: dict) -> bool | None:
        raise NotImplementedError

    def _kill(self, job: dict) -> None:
        raise NotImplementedError

    def _has_result(self, result_key: str) -> bool:
        raise NotImplementedError

    def _read_result(self, result_key: str):
        raise NotImplementedError

    def _read_progress(self, progress_key: str):
        raise NotImplementedError

    def _read_set_props(self, key: str) -> dict:
        raise NotImplementedError

    def _forget(self, key: str) -> None:
        raise NotImplementedError


# ---------------------------------------------------------------------- one machine: diskcache


class SharedDiskcacheManager(SharedJobs, DiskcacheManager):
    """Jobs in forked processes on this machine; board, progress and results in ``cache``.

    Every web worker on the machine shares the board through the diskcache (a directory).
    """

    def __init__(self, cache, *, max_jobs: int = DEFAULT_MAX_JOBS, max_queued=DEFAULT_MAX_QUEUED):
        self._init_board(_DiskStore(cache), max_jobs, max_queued)
        self._children: dict[int, Any] = {}
        DiskcacheManager.__init__(self, cache)

    def _start(self, job_fn, result_key, args, context):
        from multiprocess import Process

        process = Process(
            target=job_fn,
            args=(result_key, result_key + "-progress", args, context),
            daemon=False,
        )
        process.start()
        self._children[process.pid] = process
        return {"pid": process.pid, "created": _create_time(process.pid)}

    def _reap(self) -> None:
        for pid, process in list(self._children.items()):
            if not process.is_alive():  # waitpid(WNOHANG): collects the exit status
                process.join(0)
                del self._children[pid]

    def _alive(self, job):
        handle = job.get("handle")
        if not handle:
            return None
        created = _create_time(handle["pid"])
        return created is not None and abs(created - handle["created"]) < 0.01

    def _kill(self, job):
        import psutil

        handle = job.get("handle")
        if not handle or not self._alive(job):
            return
        try:
            process = psutil.Process(handle["pid"])
            for child in process.children(recursive=True):
                child.kill()
            process.kill()
        except psutil.NoSuchProcess:
            return
        self._reap()

    def _has_result(self, result_key):
        return self.handle.get(result_key) is not None

    def _read_result(self, result_key):
        return self.handle.get(result_key, self.UNDEFINED)

    def _read_progress(self, progress_key):
        return self.handle.get(progress_key)

    def _read_set_props(self, key):
        return self.handle.get(key) or {}

    def _forget(self, key):
        self.handle.delete(key)


def _create_time(pid: int) -> float | None:
    """Start time of a live (non-zombie) process, or None."""
    import psutil

    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return None
        return process.create_time()
    except psutil.NoSuchProcess:
        return None


# ------------------------------------------------------------------------ many machines: Celery


def make_celery(redis_url: str, name: str = "crossref-dashboard"):
    """A Celery app using ``redis_url`` as broker and result backend, tuned for long jobs.

    Late acknowledgement with ``reject_on_worker_lost``: a task whose worker process dies goes
    back to the queue and runs again elsewhere (resuming from the raw-response cache); one task
    at a time per worker process (no prefetch), results kept for an hour.
    """
    from celery import Celery

    celery = Celery(name, broker=redis_url, backend=redis_url)
    celery.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        result_expires=3600,
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": 3600},
        worker_hijack_root_logger=False,
    )
    return celery


class SharedCeleryManager(SharedJobs, CeleryManager):
    """Jobs on Celery workers through Redis; the board in Redis, shared by every web worker."""

    def __init__(
        self,
        celery_app,
        redis_url: str,
        *,
        max_jobs=DEFAULT_MAX_JOBS,
        max_queued=DEFAULT_MAX_QUEUED,
    ):
        self._init_board(_RedisStore(redis_url), max_jobs, max_queued)
        CeleryManager.__init__(self, celery_app)

    def _start(self, job_fn, result_key, args, context):
        task = job_fn.delay(result_key, result_key + "-progress", args, context)
        return task.task_id

    def _alive(self, job):
        if not job.get("handle"):
            return None
        state = self.handle.AsyncResult(job["handle"]).state
        return state not in ("FAILURE", "REVOKED")

    def _kill(self, job):
        if job.get("handle"):
            self.handle.control.revoke(job["handle"], terminate=True)

    def _has_result(self, result_key):
        return self.handle.backend.get(result_key) is not None

    def _read_result(self, result_key):
        raw = self.handle.backend.get(result_key)
        return self.UNDEFINED if raw is None else json.loads(raw)

    def _read_progress(self, progress_key):
        raw = self.handle.backend.get(progress_key)
        return None if raw is None else json.loads(raw)

    def _read_set_props(self, key):
        raw = self.handle.backend.get(key)
        return {} if raw is None else json.loads(raw)

    def _forget(self, key):
        self.handle.backend.delete(key)
