"""The job board under Dash's background callbacks (pages/components/jobs.py), on diskcache.

Real forked job processes and a real diskcache in a temporary dir; the manager is driven through
the calls Dash makes (call_job_fn, get_progress, get_result, job_running, terminate_job).
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import time
from pathlib import Path

import diskcache
import psutil
import pytest

from pages.components import jobs

pytestmark = pytest.mark.timeout(120)


def _work(set_progress, member, seconds, log_dir):
    """A job: logs its start and end (pid, time), reports progress, returns a value."""
    log = Path(log_dir)
    started = time.time()
    (log / f"start-{member}-{os.getpid()}").write_text(str(started))
    steps = 10
    for i in range(steps):
        set_progress((i * 10, f"step {i} of {steps}"))
        time.sleep(seconds / steps)
    (log / f"end-{member}-{os.getpid()}").write_text(json.dumps([started, time.time()]))
    return f"member {member} done"


shared_work = jobs.shared(
    key=lambda member, seconds, log_dir: str(member),
    queued=lambda position, running: (0, f"queued {position} ({running} running)"),
    unavailable=lambda reason: f"unavailable: {reason}",
)(_work)


@pytest.fixture
def board(tmp_path):
    managers = []

    def make(**kwargs) -> jobs.SharedDiskcacheManager:
        cache = diskcache.Cache(str(tmp_path / f"jobs-{len(managers)}"))
        manager = jobs.SharedDiskcacheManager(cache, **kwargs)
        manager.register("work", shared_work, True)
        managers.append(manager)
        return manager

    yield make
    for manager in managers:
        manager.stop()
        for job in manager.jobs():
            manager._kill(job)
        manager._reap()


def _request(manager, key: str, member, seconds=1.0, log_dir=None) -> str:
    return manager.call_job_fn(key, manager.func_registry["work"], [member, seconds, log_dir], {})


def _wait(predicate, timeout=30.0, step=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError("condition not reached in time")


def _starts(log_dir: Path, member=None) -> list[Path]:
    return sorted(log_dir.glob(f"start-{member if member is not None else '*'}-*"))


def test_two_requests_for_the_same_member_share_one_job(board, tmp_path):
    manager = board()
    a = _request(manager, "user-a", 7, 1.5, tmp_path)
    b = _request(manager, "user-b", 7, 1.5, tmp_path)
    assert a.split(".")[0] == b.split(".")[0]  # one job, two subscribers
    progress = _wait(lambda: manager.get_progress("user-b"))
    assert progress[1].startswith("step ")
    assert manager.get_progress("user-a")[1].startswith("step ")  # the same job's progress
    _wait(lambda: manager.get_result("user-a", a) is not manager.UNDEFINED)
    assert manager.get_result("user-a", a) == "member 7 done"
    assert manager.get_result("user-b", b) == "member 7 done"  # not consumed by user a
    assert len(_starts(tmp_path, 7)) == 1  # ran once


def test_global_cap_queues_with_visible_position(board, tmp_path):
    manager = board(max_jobs=1)
    handles = {m: _request(manager, f"user-{m}", m, 0.8, tmp_path) for m in (1, 2, 3)}
    assert manager.get_progress("user-2") == [0, "queued 1 (1 running)"]
    assert manager.get_progress("user-3") == [0, "queued 2 (1 running)"]
    for m, handle in handles.items():
        _wait(lambda m=m, h=handle: manager.get_result(f"user-{m}", h) is not manager.UNDEFINED)
        assert manager.get_result(f"user-{m}", handle) == f"member {m} done"
    spans = sorted(json.loads(p.read_text()) for p in tmp_path.glob("end-*"))
    assert len(spans) == 3
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert start >= end - 0.05  # never two at once with max_jobs=1


def test_finished_job_processes_are_reaped_without_any_poll(board, tmp_path):
    manager = board()
    before = {p.pid for p in psutil.Process().children()}  # other tests' servers may be running
    _request(manager, "user-a", 1, 0.3, tmp_path)
    _request(manager, "user-b", 2, 0.3, tmp_path)
    _wait(lambda: len(list(tmp_path.glob("end-*"))) == 2)
    # nobody polls: the board's thread marks them done and collects the exit status
    _wait(lambda: all(j["state"] == "done" for j in manager.jobs()))
    _wait(lambda: not {p.pid for p in psutil.Process().children()} - before)  # none, not zombies


def test_a_job_whose_process_dies_runs_again_and_finishes(board, tmp_path):
    manager = board()
    handle = _request(manager, "user-a", 5, 2.0, tmp_path)
    first = _wait(lambda: _starts(tmp_path, 5))[0]
    pid = int(first.name.rsplit("-", 1)[1])
    time.sleep(0.3)
    os.kill(pid, signal.SIGKILL)
    _wait(lambda: manager.get_result("user-a", handle) is not manager.UNDEFINED, timeout=60)
    assert manager.get_result("user-a", handle) == "member 5 done"
    assert len(_starts(tmp_path, 5)) == 2
    assert manager.jobs()[0]["attempts"] == 2


def test_a_job_that_keeps_dying_is_reported_lost(board, tmp_path):
    manager = board()
    handle = _request(manager, "user-a", 6, 3.0, tmp_path)
    for attempt in range(1, jobs.MAX_ATTEMPTS + 1):
        start = _wait(lambda n=attempt: len(_starts(tmp_path, 6)) >= n and _starts(tmp_path, 6))
        os.kill(int(start[-1].name.rsplit("-", 1)[1]), signal.SIGKILL)
    _wait(lambda: manager.get_result("user-a", handle) is not manager.UNDEFINED)
    assert manager.get_result("user-a", handle) == "unavailable: lost"


def test_a_full_queue_answers_busy_at_once(board, tmp_path):
    manager = board(max_jobs=1, max_queued=1)
    _request(manager, "u1", 1, 1.0, tmp_path)
    _request(manager, "u2", 2, 1.0, tmp_path)  # waits
    refused = _request(manager, "u3", 3, 1.0, tmp_path)
    assert manager.get_result("u3", refused) == "unavailable: busy"
    assert not _starts(tmp_path, 3)


def test_cancel_leaves_the_job_until_its_last_subscriber_goes(board, tmp_path):
    manager = board()
    before = {p.pid for p in psutil.Process().children()}  # other tests' servers may be running
    a = _request(manager, "user-a", 9, 3.0, tmp_path)
    b = _request(manager, "user-b", 9, 3.0, tmp_path)
    _wait(lambda: _starts(tmp_path, 9))
    manager.terminate_job(a)  # user a cancels: user b still waits for it
    assert manager.jobs()[0]["state"] == "running"
    manager.terminate_job(b)  # the last one leaves: the job stops
    assert manager.jobs()[0]["state"] == "failed"
    _wait(lambda: not {p.pid for p in psutil.Process().children()} - before)
    assert not list(tmp_path.glob("end-9-*"))


def test_two_web_processes_share_one_board(board, tmp_path):
    """A second manager on the same diskcache (another gunicorn worker) joins the same job."""
    first = board()
    second = jobs.SharedDiskcacheManager(first.handle)
    second.register("work", shared_work, True)
    try:
        a = _request(first, "user-a", 4, 1.0, tmp_path)
        b = _request(second, "user-b", 4, 1.0, tmp_path)
        assert a.split(".")[0] == b.split(".")[0]
        _wait(lambda: second.get_result("user-b", b) is not second.UNDEFINED)
        assert second.get_result("user-b", b) == "member 4 done"
        assert len(_starts(tmp_path, 4)) == 1
    finally:
        second.stop()


def test_job_config_reads_and_checks_the_environment():
    cfg = jobs.JobConfig.from_env({"REDIS_URL": "redis://127.0.0.1:6379/0"})
    assert (cfg.redis_url, cfg.max_jobs, cfg.max_queued) == ("redis://127.0.0.1:6379/0", 2, 20)
    assert jobs.JobConfig.from_env({"DASHBOARD_MAX_JOBS": "4"}).max_jobs == 4
    with pytest.raises(ValueError, match="DASHBOARD_MAX_JOBS"):
        jobs.JobConfig.from_env({"DASHBOARD_MAX_JOBS": "two"})
    with pytest.raises(ValueError, match="DASHBOARD_MAX_QUEUED_JOBS"):
        jobs.JobConfig.from_env({"DASHBOARD_MAX_QUEUED_JOBS": "0"})
    with pytest.raises(ValueError, match="REDIS_URL"):
        jobs.JobConfig.from_env({"REDIS_URL": "http://127.0.0.1:6379"})
