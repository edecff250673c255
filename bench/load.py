"""Load test on loopback: N simulated visitors against gunicorn (W workers) and `python app.py`.

    python -m bench.load [--data-dir /tmp/demo-load] [--clients 20] [--duration 30] [--workers 5]
                         [--warmup 10] [--max-requests 50000] [--only gunicorn|app] [--json OUT]

Each simulated visitor loads pages the way a browser does after its static files are cached:
GET the page, GET /_dash-layout and /_dash-dependencies, POST the pages router, then POST every
callback the page fires on load (and the league table's first block of rows, the search boxes'
first query). The callback payloads are built from the app's own callback map and the layouts
the router returns for each URL, and each is checked once (200 or 204) before the run. Pages:
/, /member/<id> (several members), /compare?members=…, /shortlist, /countries, /funders.

Both servers run on the same data dir, one after the other, in the same run: warm-up for
``--warmup`` s (not measured), then ``--clients`` threads for ``--duration`` s (bounded by
``--max-requests``). Printed per server: requests/s, latency p50/p95/p99 (ms), errors (HTTP
status other than 200/204/304, or no answer) and resident memory per worker after the run.
Build the 33,000-member demo snapshot first: `python -m cache demo --data-dir /tmp/demo-load`.
Everything stays on 127.0.0.1; the run stops by itself.
"""

from __future__ import annotations

import argparse
import http.client as http_client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import psutil

ROOT = Path(__file__).resolve().parent.parent
ROUTER = ".._pages_content.children..._pages_store.data.."
OK_STATUS = (200, 204, 304)
INTERACTIONS = {  # prevent_initial_call callbacks a visitor triggers at once, with their values
    ("overview-grid", "getRowsRequest"): {
        "startRow": 0,
        "endRow": 100,
        "sortModel": [],
        "filterModel": {},
    },
    ("member-search", "searchValue"): "press",
    ("compare-members", "searchValue"): "univ",
}


@dataclass
class Request:
    """One HTTP request of a visit: GET (body None) or POST of a JSON body."""

    method: str
    path: str
    body: bytes | None = None
    label: str = ""


@dataclass
class Visit:
    """A page view: its URL and the requests a browser sends for it."""

    url: str
    requests: list[Request] = field(default_factory=list)


# ------------------------------------------------------------------------------ the payloads


def _outputs(key: str) -> list[dict] | dict:
    if key.startswith(".."):
        outs = key.strip(".").split("...")
        return [{"id": o.rsplit(".", 1)[0], "property": o.rsplit(".", 1)[1]} for o in outs]
    out = key.split("@", 1)[0]
    return {"id": out.rsplit(".", 1)[0], "property": out.rsplit(".", 1)[1]}


def _body(key: str, inputs: list[dict], state: list[dict]) -> dict:
    return {
        "output": key,
        "outputs": _outputs(key),
        "inputs": inputs,
        "changedPropIds": [f"{inputs[0]['id']}.{inputs[0]['property']}"] if inputs else [],
        "state": state,
    }


def _props_by_id(tree, found: dict[str, dict]) -> None:
    """Collect every component's props by id (pattern ids as their JSON key, sorted)."""
    if isinstance(tree, dict):
        props = tree.get("props")
        if isinstance(props, dict):
            cid = props.get("id")
            if isinstance(cid, str):
                found[cid] = props
            elif isinstance(cid, dict):
                found[json.dumps(cid, sort_keys=True, separators=(",", ":"))] = props
            for value in props.values():
                _props_by_id(value, found)
        else:
            for value in tree.values():
                _props_by_id(value, found)
    elif isinstance(tree, list):
        for value in tree:
            _props_by_id(value, found)


def _matches(pattern: dict, found: dict[str, dict]) -> list[tuple[dict, dict]] | None:
    """Components matching an ALL pattern id, or None when the pattern uses MATCH/ALLSMALLER."""
    fixed = {k: v for k, v in pattern.items() if v != ["ALL"]}
    if any(isinstance(v, list) for v in fixed.values()):
        return None
    out = []
    for key, props in found.items():
        if key.startswith("{"):
            cid = json.loads(key)
            if set(cid) == set(pattern) and all(cid[k] == v for k, v in fixed.items()):
                out.append((cid, props))
    return out


def _dep_value(dep: dict, found: dict[str, dict], trigger) -> tuple[bool, object]:
    """(known, the {id, property, value} item or ALL list) of one input or state."""
    dep_id, prop = dep["id"], dep["property"]
    if dep_id.startswith("{"):
        matched = _matches(json.loads(dep_id), found)
        if not matched:
            return False, None
        return True, [{"id": cid, "property": prop, "value": p.get(prop)} for cid, p in matched]
    if dep_id not in found:
        return False, None
    if (dep_id, prop) == trigger and trigger in INTERACTIONS:
        value = INTERACTIONS[trigger]
    else:
        value = found[dep_id].get(prop)
    return True, {"id": dep_id, "property": prop, "value": value}


def build_visits(data_dir: Path, n_members: int = 6) -> tuple[list[Visit], list[str]]:
    """The visits to replay and the payloads dropped (not 200/204 in a direct check).

    Imports the app in this process on ``data_dir`` (the same code the servers run) and asks it,
    through Flask's test client, for each URL's layout (the pages router) and the callback
    definitions the browser gets (/_dash-dependencies); a callback is replayed when the browser
    would fire it on load (no ``prevent_initial_call``) or it is one of ``INTERACTIONS``.
    """
    os.environ["DASHBOARD_DATA_DIR"] = str(data_dir)
    import app as dash_app
    from cache import facade

    facade.configure(data_dir)
    client = dash_app.server.test_client()
    client.get("/")  # wires the pages router into the callback map
    dependencies = client.get("/_dash-dependencies").get_json()
    members = facade.members().sort_values("total_dois", ascending=False)
    ids = [int(x) for x in members.index[:: max(1, len(members) // n_members)][:n_members]]
    top = ",".join(str(int(x)) for x in members.index[:3])
    urls = [
        "/",
        *(f"/member/{mid}" for mid in ids),
        f"/compare?members={top}",
        "/shortlist",
        "/countries",
        "/funders",
    ]
    visits, dropped = [], []
    for url in urls:
        parts = urlsplit(url)
        search = f"?{parts.query}" if parts.query else ""
        router = _body(
            ROUTER,
            [
                {"id": "_pages_location", "property": "pathname", "value": parts.path},
                {"id": "_pages_location", "property": "search", "value": search},
            ],
            [],
        )
        answer = client.post("/_dash-update-component", json=router)
        if answer.status_code != 200:
            raise RuntimeError(f"router for {url}: HTTP {answer.status_code}")
        found: dict[str, dict] = {}
        _props_by_id(dash_app.shell().to_plotly_json(), found)
        _props_by_id(answer.get_json()["response"]["_pages_content"]["children"], found)
        found.setdefault("url", {})
        found["url"].update(pathname=parts.path, search=search, href=url)
        visit = Visit(
            url,
            [
                Request("GET", url, label="page"),
                Request("GET", "/_dash-layout", label="layout"),
                Request("GET", "/_dash-dependencies", label="dependencies"),
                Request("POST", "/_dash-update-component", json.dumps(router).encode(), "router"),
            ],
        )
        for spec in dependencies:
            key = spec["output"]
            if key == ROUTER or spec.get("clientside_function") or spec.get("background"):
                continue
            if key.split(".")[0].startswith("{") or not spec.get("inputs"):
                continue
            first = spec["inputs"][0]
            trigger = (first["id"], first["property"])
            if spec.get("prevent_initial_call") and trigger not in INTERACTIONS:
                continue
            deps = [_dep_value(d, found, trigger) for d in spec["inputs"] + spec.get("state", [])]
            if not all(known for known, _ in deps):
                continue
            n_in = len(spec["inputs"])
            body = _body(key, [v for _, v in deps[:n_in]], [v for _, v in deps[n_in:]])
            body["changedPropIds"] = [f"{first['id']}.{first['property']}"]
            check = client.post("/_dash-update-component", json=body)
            if check.status_code not in (200, 204):
                dropped.append(f"{url} {key[:60]}: HTTP {check.status_code}")
                continue
            visit.requests.append(
                Request("POST", "/_dash-update-component", json.dumps(body).encode(), key[:40])
            )
        visits.append(visit)
    return visits, dropped


# ------------------------------------------------------------------------------- the servers


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(
    kind: str, data_dir: Path, workers: int, log: Path
) -> tuple[subprocess.Popen, str]:
    """Start ``python app.py`` (kind "app") or gunicorn (kind "gunicorn"); wait for /healthz."""
    port = free_port()
    env = {
        **os.environ,
        "DASHBOARD_DATA_DIR": str(data_dir),
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WEB_CONCURRENCY": str(workers),
        "PYTHONPATH": str(ROOT),
    }
    env.pop("REDIS_URL", None)
    if kind == "app":
        cmd = [sys.executable, "app.py", "--port", str(port)]
    else:
        cmd = [
            str(Path(sys.executable).parent / "gunicorn"),
            "-c",
            "gunicorn.conf.py",
            "app:server",
        ]
    out = log.open("w")
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{kind} exited with {proc.returncode}; see {log}")
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=5) as r:
                if r.status == 200:
                    return proc, base
        except OSError:  # refused while starting, or 503 before the snapshot is loaded
            pass
        time.sleep(0.5)
    stop_server(proc)
    raise RuntimeError(f"{kind} did not answer /healthz in 300 s; see {log}")


def stop_server(proc: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL after 30 s."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def worker_rss_mb(proc: subprocess.Popen, kind: str) -> list[float]:
    """Resident memory (MiB) of each serving process: gunicorn's workers, or app.py itself."""
    root = psutil.Process(proc.pid)
    procs = root.children() if kind == "gunicorn" else [root]
    return [round(p.memory_info().rss / 2**20, 1) for p in procs]


# ---------------------------------------------------------------------------------- the load


def pct(values: list[float], q: float) -> float:
    """The q-quantile (0–1) of ``values`` (nearest rank); NaN when empty."""
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q * (len(s) - 1))))]


def run_load(
    base: str, visits: list[Visit], clients: int, duration: float, max_requests: int, seed=1
) -> tuple[list[float], list[str], float, dict[str, list[float]]]:
    """``clients`` threads replaying random visits for ``duration`` s (at most ``max_requests``).

    Returns (latencies in s, error descriptions, elapsed s, latencies by request label).
    """
    lock = threading.Lock()
    latencies: list[float] = []
    errors: list[str] = []
    by_label: dict[str, list[float]] = {}
    count = [0]
    stop_at = time.monotonic() + duration

    def user(i: int) -> None:
        rnd = random.Random(seed * 1000 + i)
        headers = {"Content-Type": "application/json", "Accept-Encoding": "gzip"}
        # stdlib keep-alive connection: only cache/crossref/client.py imports httpx
        conn = http_client.HTTPConnection(urlsplit(base).hostname, urlsplit(base).port, timeout=60)
        try:
            while time.monotonic() < stop_at:
                for req in rnd.choice(visits).requests:
                    with lock:
                        if count[0] >= max_requests:
                            return
                        count[0] += 1
                    t0 = time.perf_counter()
                    try:
                        conn.request(req.method, req.path, body=req.body, headers=headers)
                        response = conn.getresponse()
                        response.read()
                        status = response.status
                    except (OSError, http_client.HTTPException) as exc:
                        conn.close()  # reconnects on the next request
                        status = type(exc).__name__
                    dt = time.perf_counter() - t0
                    with lock:
                        latencies.append(dt)
                        by_label.setdefault(req.label, []).append(dt)
                        if status not in OK_STATUS:
                            errors.append(f"{req.label} {req.path}: {status}")
                    if time.monotonic() >= stop_at:
                        return
        finally:
            conn.close()

    t0 = time.monotonic()
    threads = [threading.Thread(target=user, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(duration + 120)
    return latencies, errors, time.monotonic() - t0, by_label


def summary(latencies: list[float], errors: list[str], elapsed: float) -> dict:
    """requests, requests/s, p50/p95/p99 (ms), errors and up to five distinct error samples."""
    return {
        "requests": len(latencies),
        "rps": round(len(latencies) / elapsed, 1) if elapsed else 0.0,
        "p50_ms": round(pct(latencies, 0.50) * 1000, 1),
        "p95_ms": round(pct(latencies, 0.95) * 1000, 1),
        "p99_ms": round(pct(latencies, 0.99) * 1000, 1),
        "errors": len(errors),
        "error_samples": sorted(set(errors))[:5],
    }


def wait_quiet(proc: subprocess.Popen, limit_s: float = 180.0, busy_pct: float = 15.0) -> float:
    """Wait until the server's processes use less than ``busy_pct`` % CPU (views warmed).

    Returns the seconds waited (at most ``limit_s``).
    """
    t0 = time.monotonic()
    root = psutil.Process(proc.pid)
    while time.monotonic() - t0 < limit_s:
        procs = [root, *root.children(recursive=True)]
        for p in procs:
            p.cpu_percent(None)
        time.sleep(1.0)
        total = 0.0
        for p in procs:
            try:
                total += p.cpu_percent(None)
            except psutil.NoSuchProcess:
                continue
        if total < busy_pct:
            break
    return time.monotonic() - t0


def main(argv: list[str] | None = None) -> int:
    """Run the comparison and print the table; exit 1 if any request failed."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, default=Path("/tmp/demo-load"))
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--duration", type=float, default=30.0, help="measured seconds per server")
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds per server")
    ap.add_argument("--warmup", type=float, default=10.0)
    ap.add_argument("--workers", type=int, default=min(2 * (os.cpu_count() or 1) + 1, 4))
    ap.add_argument("--max-requests", type=int, default=50_000)
    ap.add_argument("--only", choices=("app", "gunicorn"), default=None)
    ap.add_argument("--json", type=Path, default=None, help="also write the figures as JSON")
    args = ap.parse_args(argv)
    args.data_dir = args.data_dir.resolve()
    if not (args.data_dir / "snapshots").is_dir():
        ap.error(f"no snapshot in {args.data_dir}: python -m cache demo --data-dir {args.data_dir}")
    logs = ROOT / "bench" / "results"
    logs.mkdir(parents=True, exist_ok=True)

    visits, dropped = build_visits(args.data_dir)
    n_req = sum(len(v.requests) for v in visits)
    print(
        f"{len(visits)} pages, {n_req} requests per round of visits; dropped: {dropped or 'none'}"
    )
    kinds = [k for k in ("app", "gunicorn") if args.only in (None, k)]
    names = {"app": "python app.py", "gunicorn": f"gunicorn ({args.workers} workers)"}
    servers: dict[str, tuple[subprocess.Popen, str]] = {}
    runs: dict[str, list] = {k: [[], [], 0.0] for k in kinds}
    labels: dict[str, dict[str, list[float]]] = {k: {} for k in kinds}
    results = []
    try:
        for kind in kinds:
            servers[kind] = start_server(kind, args.data_dir, args.workers, logs / f"{kind}.log")
        for kind in kinds:  # warm-up, not measured, then wait for the views to be scored
            proc, base = servers[kind]
            if args.warmup > 0:
                run_load(base, visits, args.clients, args.warmup, args.max_requests, seed=99)
            wait_quiet(proc)
        # alternate short rounds so load from elsewhere on the machine hits both alike
        for r in range(args.rounds):
            for kind in kinds:
                lat, err, elapsed, by_label = run_load(
                    servers[kind][1],
                    visits,
                    args.clients,
                    args.duration / args.rounds,
                    args.max_requests // args.rounds,
                    seed=r + 1,
                )
                runs[kind][0] += lat
                runs[kind][1] += err
                runs[kind][2] += elapsed
                for label, values in by_label.items():
                    labels[kind].setdefault(label, []).extend(values)
        for kind in kinds:
            result = summary(*runs[kind])
            result["server"] = names[kind]
            result["p95_ms_by_request"] = {
                label: round(pct(v, 0.95) * 1000, 1) for label, v in sorted(labels[kind].items())
            }
            exited = servers[kind][0].poll()
            result["rss_mb"] = [] if exited is not None else worker_rss_mb(servers[kind][0], kind)
            if exited is not None:
                result["error_samples"].insert(0, f"server exited during the run ({exited})")
            results.append(result)
    finally:
        for proc, _ in servers.values():
            stop_server(proc)

    print(f"\n{args.clients} clients, {args.duration:.0f} s per server, data {args.data_dir}")
    print(f"{'server':<24}{'req/s':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'errors':>8}  RSS MB")
    for r in results:
        rss = ", ".join(f"{x:.0f}" for x in r["rss_mb"])
        print(
            f"{r['server']:<24}{r['rps']:>8.1f}{r['p50_ms']:>9.0f}{r['p95_ms']:>9.0f}"
            f"{r['p99_ms']:>9.0f}{r['errors']:>8}  {rss}"
        )
        for sample in r["error_samples"]:
            print(f"    error: {sample}")
    print("slowest requests (p95 ms):")
    for r in results:
        slow = sorted(r["p95_ms_by_request"].items(), key=lambda kv: -kv[1])[:4]
        print(f"  {r['server']:<22}" + "; ".join(f"{k} {v:.0f}" for k, v in slow))
    if len(results) == 2 and results[1]["p95_ms"]:
        ratio = results[0]["p95_ms"] / results[1]["p95_ms"]
        print(f"p95 of python app.py / gunicorn: {ratio:.1f}×")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 1 if any(r["errors"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
