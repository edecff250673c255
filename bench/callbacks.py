"""Page-callback benchmark at full demo population (~33k members), with naive baselines.

    python -m bench.callbacks [--data-dir DIR] [--members 33000] [--repeat 30] [--json out.json]

Measures, in one run:
  * server time (p50/p95) and JSON payload of each main page callback, POSTed through the Flask
    test client to /_dash-update-component exactly as the browser does;
  * the same interactions done the naive way: the whole league table sent to the browser
    (client-side grid), and scores recomputed per request without the facade's per-snapshot cache;
  * app cold start (a subprocess that imports `app` and loads the snapshot) and resident memory
    after every content type × period view and every page's facade calls have been visited
    (views are evicted LRU past `Settings.view_cache_size`), each against a plain
    `SnapshotStore.load()` baseline that keeps every matrix it scores.

Targets (DESIGN.md §9): p95 ≤ 100 ms, payload ≤ 300 KB per interaction, cold start ≤ 3 s,
RSS ≤ 400 MB. The demo snapshot is built once into DIR (default bench/results/demo-data).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from bench.demo_data import DEFAULT_DIR, ensure_demo_snapshot

ROOT = Path(__file__).resolve().parent.parent
KB = 1024


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q * (len(s) - 1))))]


class Client:
    """POSTs callback requests the way dash-renderer does and records time and payload size."""

    def __init__(self, dash_app):
        self.app = dash_app
        self.client = dash_app.server.test_client()
        self.client.get("/")  # the first request wires the pages router
        self.map = dash_app.callback_map

    def key(self, prefix: str) -> str:
        for k in self.map:
            if k.startswith(prefix) or k.startswith(".." + prefix):
                return k
        raise KeyError(prefix)

    def post(self, prefix: str, inputs: list, state: list | None = None) -> tuple[float, int, dict]:
        key = self.key(prefix)
        spec = self.map[key]
        outs = key.strip(".").split("...") if key.startswith("..") else [key]
        outputs = [{"id": o.rsplit(".", 1)[0], "property": o.rsplit(".", 1)[1]} for o in outs]
        body = {
            "output": key,
            "outputs": outputs if key.startswith("..") else outputs[0],
            "inputs": [
                {**i, "value": v} if not isinstance(v, _All) else v.items
                for i, v in zip(spec["inputs"], inputs, strict=True)
            ],
            "changedPropIds": [f"{spec['inputs'][0]['id']}.{spec['inputs'][0]['property']}"],
            "state": [
                {**s, "value": v} if not isinstance(v, _All) else v.items
                for s, v in zip(spec.get("state", []), state or [], strict=True)
            ],
        }
        t0 = time.perf_counter()
        resp = self.client.post("/_dash-update-component", json=body)
        dt = time.perf_counter() - t0
        if resp.status_code not in (200, 204):
            raise RuntimeError(f"{prefix}: HTTP {resp.status_code} {resp.data[:300]!r}")
        return dt, len(resp.data), (resp.get_json(silent=True) or {})


class _All:
    """A pattern-matching (ALL) input value: the list of {id, property, value} items."""

    def __init__(self, items):
        self.items = items


def measure(fn, repeat: int, warm: bool = True) -> dict:
    """Steady-state p50/p95 after one warm-up pass over the same inputs (first-hit max reported)."""
    first = []
    if warm:
        for i in range(repeat):
            first.append(fn(i)[0])
    times, sizes = [], []
    for i in range(repeat):
        dt, size = fn(i)
        times.append(dt)
        sizes.append(size)
    return {
        "p50_ms": pct(times, 0.5) * 1000,
        "p95_ms": pct(times, 0.95) * 1000,
        "kb": statistics.median(sizes) / KB,
        "max_kb": max(sizes) / KB,
        "first_max_ms": max(first) * 1000 if first else float("nan"),
    }


def subprocess_probe(data_dir: Path, mode: str) -> dict:
    """Cold start and RSS in a fresh interpreter (mode 'facade' = the app, 'naive' = plain load)."""
    code = textwrap.dedent(f"""
        import json, time, psutil, os
        t0 = time.perf_counter()
        if {mode!r} == "facade":
            import app
            from cache import facade
            facade.snapshot()
            start = time.perf_counter() - t0
            c = app.server.test_client(); c.get("/")
            mid = int(facade.view("journal-article", "current").works.idxmax())
            peers = list(facade.members().index[:8])
            snaps = [m["id"] for m in facade.snapshots()]
            views = 0
            for ct in facade.content_types():  # every view, and every page's facade calls on it
                for per in facade.periods():
                    views += 1
                    facade.league_page(ct, per, None, 0, 100, [{{"colId": "name", "sort": "asc"}}])
                    facade.headline(ct, per); facade.distribution(ct, per)
                    facade.member_metrics(mid, ct, per); facade.change_since_previous(mid, ct, per)
                    for by in facade.PEER_GROUPINGS:
                        facade.peer_position(mid, ct, per, by)
                    facade.compare(peers, ct, per)
                    facade.countries(ct, per, facade.metric_keys()[0])
                    facade.funders_summary(ct, per)
                    facade.shortlist(ct, per)
                    if len(snaps) > 1:
                        facade.enrichment(snaps[1], snaps[0], ct, per)
            import dash
            for page in dash.page_registry.values():  # every page's layout (default view)
                if callable(page["layout"]):
                    page["layout"](member_id=str(mid), members=",".join(map(str, peers)))
        else:
            import dash, pandas as pd, dash_ag_grid, dash_mantine_components, plotly
            from cache.store.snapshots import SnapshotStore
            from metrics import scoring
            snap = SnapshotStore(os.environ["DASHBOARD_DATA_DIR"]).load()
            start = time.perf_counter() - t0
            kept, views = [], 0
            for ct in {{*snap.coverage["content_type"].unique(), scoring.ALL_TYPES}}:
                for per in scoring.PERIODS:
                    views += 1
                    m = scoring.coverage_matrix(snap.coverage, ct, per)
                    kept.append((m, scoring.composite(m)))
        rss_mb = psutil.Process().memory_info().rss / 2**20
        print(json.dumps({{"start_s": start, "rss_mb": rss_mb, "views": views}}))
    """)
    env = {**os.environ, "DASHBOARD_DATA_DIR": str(data_dir), "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--data-dir", type=Path, default=Path(os.environ.get("BENCH_DATA_DIR", DEFAULT_DIR))
    )
    ap.add_argument("--members", type=int, default=33_000)
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--json", type=Path, default=None, help="also write the figures as JSON")
    args = ap.parse_args(argv)

    data_dir = args.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    os.environ["DASHBOARD_DATA_DIR"] = str(data_dir)
    sid = ensure_demo_snapshot(data_dir, args.members)

    # ---- cold start and memory (fresh interpreters) ------------------------------------------
    probe = subprocess_probe(data_dir, "facade")
    naive_probe = subprocess_probe(data_dir, "naive")

    import app as dash_app
    from cache import facade
    from pages import overview

    facade.configure(data_dir)
    t0 = time.perf_counter()
    facade.snapshot()
    n_members = len(facade.members())
    c = Client(dash_app.app)
    ct, per = "journal-article", "current"
    facade.view(ct, per)
    print(
        f"snapshot {sid}: {n_members:,} members, {len(facade.snapshot().coverage):,} coverage rows "
        f"(loaded in {time.perf_counter() - t0:.2f} s)\n",
        flush=True,
    )

    rows: list[tuple[str, dict, dict | None]] = []
    R = args.repeat
    sorts = [
        [],
        [{"colId": "name", "sort": "asc"}],
        [{"colId": "works", "sort": "desc"}],
        [{"colId": facade.metric_keys()[0], "sort": "asc"}],
    ]
    filters = [
        overview.parse({}),
        overview.parse({"gem": "gem"}),
        overview.parse({"q": "press"}),
        overview.parse({"tier": "small", "min_works": "10"}),
    ]

    def grid_block(i):
        start = (i % 10) * 100
        req = {
            "startRow": start,
            "endRow": start + 100,
            "sortModel": sorts[i % 4],
            "filterModel": {},
        }
        dt, size, _ = c.post("overview-grid.getRowsResponse", [req], [filters[i % 4]])
        return dt, size

    def naive_table(i):
        # the whole filtered table shipped to a client-side grid, scores recomputed per request
        t = time.perf_counter()
        v = facade.build_view(facade.snapshot(), ct, per)
        pos = facade.league_positions(v, None, sorts[i % 4])  # every member
        payload = json.dumps(
            {
                "response": {
                    "overview-grid": {"rowData": facade.records(v.table.iloc[pos], v.metrics)}
                }
            }
        )
        return time.perf_counter() - t, len(payload)

    rows.append(
        (
            "overview: grid block (100 rows)",
            measure(grid_block, R),
            measure(naive_table, max(3, R // 6), warm=False),
        )
    )

    types = ["journal-article", "book-chapter", "proceedings-article", "all-types"]
    periods = ["current", "all", "backfile"]

    def summary(i):
        dt, size, _ = c.post("overview-headline.children", [types[i % 4], periods[i % 3]])
        return dt, size

    def naive_summary(i):
        t = time.perf_counter()
        v = facade.build_view(facade.snapshot(), types[i % 4], periods[i % 3])
        overview.coverage_figure(types[i % 4], periods[i % 3], v.agg).to_json()
        return time.perf_counter() - t, 0

    for t_ in types:  # warm: each (type, period) is scored once per snapshot
        for p_ in periods:
            facade.view(t_, p_)
    rows.append(
        (
            "overview: type/period → headline+charts",
            measure(summary, R),
            measure(naive_summary, max(3, R // 6), warm=False),
        )
    )

    def filt(i):
        f = filters[i % 4]
        dt, size, _ = c.post(
            "overview-state.data",
            [ct, per, f["country"], f["gem"], f["tier"], f["q"], f["min_works"]],
        )
        return dt, size

    rows.append(("overview: filter change → state+URL", measure(filt, R), None))

    ids = [int(i) for i in facade.view(ct, per).works.sort_values(ascending=False).index[:400]]

    def member(i):
        dt, size, _ = c.post(
            "member-location.search",
            [ct, periods[i % 3], ["size", "gem", "country"][i % 3]],
            [{"member_id": ids[(i * 7) % len(ids)]}],
        )
        return dt, size

    rows.append(("member report: type/period/peers", measure(member, R), None))

    def compare(i):
        k = 2 + i % 7
        sel = [str(x) for x in ids[i : i + k]]
        dt, size, _ = c.post(
            "compare-location.search",
            [sel, ct, per, ["bars", "heatmap"][i % 2], ["size", "gem", "country"][i % 3]],
        )
        return dt, size

    rows.append(("compare: 2–8 members", measure(compare, R), None))

    words = ["pr", "press", "journal", "univ", "society", "acad", "12", "zz"]

    def search(i):
        dt, size, _ = c.post("compare-members.data", [words[i % len(words)], [str(ids[0])]])
        return dt, size

    def naive_search(i):
        # all member options shipped to the browser at once
        m = facade.members()
        opts = [
            {"value": str(k), "label": f"{n} ({k})"}
            for k, n in zip(m.index, m["name"], strict=True)
        ]
        t = time.perf_counter()
        size = len(json.dumps({"response": {"compare-members": {"data": opts}}}))
        return time.perf_counter() - t, size

    rows.append(
        (
            "compare: member search (autocomplete)",
            measure(search, R),
            measure(naive_search, 3, warm=False),
        )
    )

    def funders(i):
        dt, size, _ = c.post("funders-location.search", [types[i % 4], periods[i % 3], None])
        return dt, size

    rows.append(("funders: type/period", measure(funders, R), None))
    keys = facade.metric_keys()
    base = facade.default_weights()
    weight_ids = [{"type": "shortlist-weight", "metric": k} for k in keys]

    def shortlist(i):
        w = [base[k] + (i % 5) * (j == i % len(keys)) for j, k in enumerate(keys)]
        items = [
            {"id": wid, "property": "value", "value": v}
            for wid, v in zip(weight_ids, w, strict=True)
        ]
        dt, size, _ = c.post(
            "shortlist-location.search",
            [ct, per, 100, 10, _All(items), None, None],
            [_All([{"id": wid, "property": "id", "value": wid} for wid in weight_ids])],
        )
        return dt, size

    rows.append(("shortlist: weights → 4 peer groups", measure(shortlist, R), None))

    def countries(i):
        dt, size, _ = c.post(
            "countries-location.search",
            [types[i % 4], per, keys[i % len(keys)], ["doi_weighted", "member_median"][i % 2]]
            + [None] * 6,  # the Crossref-statistics controls keep their defaults
        )
        return dt, size

    rows.append(("countries: metric/aggregate → map+table", measure(countries, R), None))

    def page_load(i):
        path = [
            "/",
            f"/member/{ids[i % 50]}",
            "/compare",
            "/funders",
            "/shortlist",
            "/countries",
            "/methodology",
        ][i % 7]
        dt, size, _ = c.post("_pages_content.children", [path, ""])
        return dt, size

    rows.append(("page render (router → layout)", measure(page_load, R), None))

    def export(i):
        dt, size, _ = c.post("overview-download.data", [1], [filters[i % 4], None])
        return dt, size

    export_row = measure(export, max(3, R // 6), warm=False)

    # ---- report --------------------------------------------------------------------------
    print(
        f"{'interaction':44} {'p50 ms':>7} {'p95 ms':>7} {'1st max':>8} {'KB':>7} | "
        f"{'naive p50':>9} {'naive KB':>9} {'speed-up':>8} {'smaller':>8}"
    )
    print("-" * 120)
    for name, ours, naive in rows:
        line = (
            f"{name:44} {ours['p50_ms']:7.1f} {ours['p95_ms']:7.1f} {ours['first_max_ms']:8.1f} "
            f"{ours['max_kb']:7.1f} |"
        )
        if naive:
            spd = naive["p50_ms"] / ours["p50_ms"] if ours["p50_ms"] else float("nan")
            small = (
                (naive["kb"] / ours["max_kb"]) if naive["kb"] and ours["max_kb"] else float("nan")
            )
            line += f" {naive['p50_ms']:9.1f} {naive['kb']:9.1f} {spd:7.1f}x " + (
                f"{small:7.1f}x" if small == small else f"{'':>8}"
            )
        print(line)
    print(
        f"{'CSV export, all matching rows (download)':44} {export_row['p50_ms']:7.1f} "
        f"{export_row['p95_ms']:7.1f} {'':8} {export_row['max_kb']:7.1f} |  "
        "(a file download, not an interaction)"
    )
    print(
        "\n1st max = slowest first hit of an input (scoring a new type/period once per snapshot); "
        "p50/p95 are steady state."
    )
    print()
    worst_p95 = max(r[1]["p95_ms"] for r in rows)
    worst_kb = max(r[1]["max_kb"] for r in rows)
    print(
        f"worst callback p95 {worst_p95:.1f} ms (target ≤ 100)   "
        f"largest interaction payload {worst_kb:.1f} KB (target ≤ 300)"
    )
    print(
        f"cold start (import app + load snapshot): {probe['start_s']:.2f} s (target ≤ 3)   naive "
        f"SnapshotStore.load + imports: {naive_probe['start_s']:.2f} s"
    )
    print(
        f"resident memory after every view ({probe['views']} type × period) and every page's "
        f"facade calls: {probe['rss_mb']:.0f} MB (target ≤ 400)   naive (plain tidy frame, "
        f"{naive_probe['views']} matrices kept): {naive_probe['rss_mb']:.0f} MB "
        f"({naive_probe['rss_mb'] / probe['rss_mb']:.2f}x)"
    )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps(
                {
                    "snapshot": sid,
                    "members": n_members,
                    "rows": [{"name": n, "ours": o, "naive": nv} for n, o, nv in rows],
                    "export": export_row,
                    "cold_start": probe,
                    "naive_cold_start": naive_probe,
                },
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
