"""Background jobs on a real queue: redis-server + a Celery worker + gunicorn, all on loopback.

A member's work-level drill-down is started through the app's HTTP callback protocol (what the
browser sends), runs on the Celery worker against the demo population's mock Crossref API, and
must give the same result file as an in-process `cache.jobs.drilldown.run`. A second visitor
asking for the same member while it runs joins the job instead of starting another.

Needs the `redis-server` binary (Debian package `redis-server`, installed by .ci/run): skipped
without it, except under CI=true, where a missing binary is a failure.
"""

from __future__ import annotations

import json
import os
import pickle
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.browser.server import free_port

pytestmark = [pytest.mark.slow, pytest.mark.timeout(420)]

ROOT = Path(__file__).resolve().parents[2]
REDIS = shutil.which("redis-server") or "/usr/bin/redis-server"
VOLATILE = {"created", "duration_s"}


def _need_redis() -> None:
    if not Path(REDIS).exists():
        if os.environ.get("CI") == "true":
            pytest.fail("redis-server is missing (required under CI=true)")
        pytest.skip("redis-server not installed")


def _wait_for(check, timeout: float, what: str, proc: subprocess.Popen | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"{what}: process exited with {proc.returncode}")
        try:
            value = check()
        except (OSError, httpx.HTTPError, ConnectionError):
            value = None
        except Exception as exc:  # redis' ConnectionError is not an OSError
            if type(exc).__name__ != "ConnectionError":
                raise
            value = None
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"{what}: not ready after {timeout} s")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    _need_redis()
    import redis

    port = free_port()
    workdir = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen(
        [REDIS, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        _wait_for(lambda: redis.Redis.from_url(url).ping(), 20, "redis-server", proc)
        yield url
    finally:
        _stop(proc)


@pytest.fixture(scope="module")
def data_dirs(tmp_path_factory):
    """Two copies of one small demo snapshot: one for the queue, one for the in-process run."""
    from cache.crossref.settings import Settings
    from mock_crossref import demo

    queued = tmp_path_factory.mktemp("celery-data")
    demo.build_demo_snapshot(Settings.from_env(data_dir=queued), n_members=300)
    local = tmp_path_factory.mktemp("local-data") / "data"
    shutil.copytree(queued / "snapshots", local / "snapshots")
    return queued, local


@pytest.fixture(scope="module")
def stack(redis_url, data_dirs, tmp_path_factory):
    """gunicorn (2 workers) and one Celery worker, both on the queue's data dir and Redis."""
    queued, _ = data_dirs
    logs = tmp_path_factory.mktemp("logs")
    port = free_port()
    env = {
        **os.environ,
        "DASHBOARD_DATA_DIR": str(queued),
        "REDIS_URL": redis_url,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WEB_CONCURRENCY": "2",
        "PYTHONPATH": str(ROOT),
    }
    bin_dir = Path(sys.executable).parent
    worker_log = (logs / "celery.log").open("w")
    worker = subprocess.Popen(
        [
            *(sys.executable, "-m", "celery", "-A", "app:celery_app", "worker"),
            *("--concurrency", "1", "--loglevel", "INFO", "--without-gossip", "--without-mingle"),
        ],
        cwd=ROOT,
        env=env,
        stdout=worker_log,
        stderr=subprocess.STDOUT,
    )
    web_log = (logs / "gunicorn.log").open("w")
    web = subprocess.Popen(
        [str(bin_dir / "gunicorn"), "-c", "gunicorn.conf.py", "app:server"],
        cwd=ROOT,
        env=env,
        stdout=web_log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for(
            lambda: httpx.get(f"{base}/healthz", timeout=5).status_code == 200, 120, "gunicorn", web
        )
        _wait_for(
            lambda: "ready" in (logs / "celery.log").read_text(), 120, "celery worker", worker
        )
        yield base, logs
    finally:
        _stop(web)
        _stop(worker)
        worker_log.close()
        web_log.close()


def _end_id(client: httpx.Client, path: str) -> str:
    page = client.get(path)
    assert page.status_code == 200
    config = re.search(
        r'<script id="_dash-config" type="application/json">(.*?)</script>', page.text
    )
    return json.loads(config.group(1))["end_id"]


def _payload(member_id: int) -> dict:
    return {
        "output": "..member-drilldown-version.data...member-drilldown-error.children..",
        "outputs": [
            {"id": "member-drilldown-version", "property": "data"},
            {"id": "member-drilldown-error", "property": "children"},
        ],
        "inputs": [{"id": "member-drilldown-run", "property": "n_clicks", "value": 1}],
        "state": [
            {"id": "member-state", "property": "data", "value": {"member_id": member_id}},
            {"id": "member-period", "property": "value", "value": "current"},
        ],
        "changedPropIds": ["member-drilldown-run.n_clicks"],
    }


def _start(client: httpx.Client, member_id: int) -> dict:
    end_id = _end_id(client, f"/member/{member_id}")
    response = client.post(
        "/_dash-update-component", params={"endId": end_id}, json=_payload(member_id)
    )
    assert response.status_code == 200, response.text
    handles = response.json()
    assert handles["cacheKey"] and handles["job"]
    return {"endId": end_id, "cacheKey": handles["cacheKey"], "job": handles["job"]}


def _poll(client: httpx.Client, member_id: int, handles: dict) -> tuple[dict, list]:
    """Poll like the browser until the job answers; returns (outputs, progress labels seen)."""
    body = _payload(member_id)
    body["inputs"][0]["value"] = None
    for state in body["state"]:
        state["value"] = None
    labels: list = []
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        response = client.post("/_dash-update-component", params=handles, json=body)
        assert response.status_code in (200, 204), response.text
        data = response.json() if response.status_code == 200 else {}
        if "progress" in data:
            labels.append(data["progress"].get("member-drilldown-progress-label.children"))
        if "response" in data:
            return data["response"], labels
        time.sleep(0.3)
    raise AssertionError("the drill-down did not finish")


def _comparable(result: dict) -> dict:
    return {k: v for k, v in result.items() if k not in VOLATILE}


def test_drilldown_through_celery_matches_an_in_process_run(stack, redis_url, data_dirs):
    import redis

    from cache.crossref.settings import Settings
    from cache.jobs import drilldown
    from cache.store.snapshots import SnapshotStore

    base, logs = stack
    queued, local = data_dirs
    members = SnapshotStore(queued).load().members
    member_id = int(members.sort_values("current_dois")["member_id"].iloc[len(members) // 2])

    with httpx.Client(base_url=base, timeout=30) as alice, httpx.Client(base_url=base) as bob:
        first = _start(alice, member_id)
        second = _start(bob, member_id)  # another visitor, another page load, same member
        board = pickle.loads(redis.Redis.from_url(redis_url).get("dash-jobs:board"))
        named = [j for j in board["jobs"].values() if j["name"].endswith(f":{member_id}:current")]
        assert len(named) == 1 and len(named[0]["subs"]) == 2  # one job, two subscribers
        out_a, labels = _poll(alice, member_id, first)
        out_b, _ = _poll(bob, member_id, second)

    assert out_a == out_b  # both visitors get the same answer
    created = out_a["member-drilldown-version"]["data"]
    assert created and "member-drilldown-error" in out_a
    assert any(label and "work-level requests" in label for label in labels)
    log = (logs / "celery.log").read_text()
    assert log.count("succeeded in") == 1, log[-2000:]

    saved = json.loads((queued / "drilldown" / f"member-{member_id}.json").read_text())
    assert saved["created"] == created
    _, path = drilldown.run(Settings.from_env(data_dir=local), member_id, gap_period="current")
    assert path.exists()
    assert _comparable(saved) == _comparable(json.loads(path.read_text()))
    assert saved["requests"] > 10
