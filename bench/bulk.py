"""Benchmark: bulk scoring of a works JSONL.gz (cache/jobs/bulk/) vs a plain Python loop.

    python bench/bulk.py [--works 200000] [--seed 7] [--generator auto|mock|synthetic]
                         [--scale 4] [--repeat 2] [--real-works 20000] [--threads N]
                         [--data FILE] [--keep DIR]

1. Writes a seeded JSONL.gz of ``--works`` realistic works: the mock Crossref API's own work
   generator (``mock``: whole records with references, abstracts, funders, licences …)
   when it is importable, else ``tests/bulkdata.py``.
2. Baseline, in this process: ``gzip`` + ``json.loads`` per line + a Python loop evaluating
   every registry predicate / depth share and summing per member × type × issued year.
3. Bulk, in a fresh subprocess (so its peak RSS is its own): ``cache.jobs.bulk.ingest(...,
   publish=False)`` on the same file; then again on a file ``--scale`` times as large (the same
   gzip members concatenated, which is valid gzip).

Steps 2 and 3 on the 1x file are each the best of ``--repeat`` runs (default 2), because other
processes on a shared machine add noise; CPU seconds are printed too.

4. Records of realistic size (``--real-works``, default 10,000): real Crossref records from
   tests/fixtures (5-40 KB of JSON each) under new DOIs, one in six with 100-250 real
   reference entries, scored in a child process.

Prints works/s for both (target: bulk ≥ 3x the baseline), whether the two agree on every
metric total, the peak RSS of bulk scoring at 1x and at ``--scale``x (target: grows < 1.5x),
and for the 1x and the realistic file the decompression floor: the time to just gunzip the same
file (zlib, in this process), measured in the same run, next to the bulk time.
Both measured in the same run on the same machine; the whole bench takes about 2 minutes.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import metrics  # noqa: E402
from metrics.base import issued_year  # noqa: E402


# --------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------
def write_mock_works(path: Path, n: int, seed: int, current_year: int) -> str:
    """``n`` works of the mock population, spread over many members (≤ 400 per block)."""
    from mock_crossref.engine import WorkEngine
    from mock_crossref.population import Population

    pop = Population(3000, seed=seed, current_year=current_year)
    eng = WorkEngine(pop)
    order = sorted(range(len(pop.b_n)), key=lambda b: (int(b) * 2654435761) % 2**32)
    items: list[tuple[int, int]] = []
    for b in order:
        items += [(b, i) for i in range(min(int(pop.b_n[b]), 400))]
        if len(items) >= n:
            break
    items = items[:n]
    with gzip.open(path, "wt", encoding="utf-8", compresslevel=6) as fh:
        for start in range(0, len(items), 5000):
            for rec in eng.records(items[start : start + 5000]):
                fh.write(json.dumps(rec, ensure_ascii=False, separators=(",", ":")))
                fh.write("\n")
    return f"mock population generator (mock), {len({pop.b_member[b] for b, _ in items})} members"


def write_synthetic_works(path: Path, n: int, seed: int, current_year: int) -> str:
    from tests.bulkdata import write_jsonl_gz

    write_jsonl_gz(path, n, seed, current_year=current_year, members=400, compresslevel=6)
    return "tests/bulkdata.py generator, 400 members"


def real_templates() -> list[dict]:
    """Every distinct real record in tests/fixtures (saved /works responses, public-data
    chunks, the cases) and a pool of their real reference entries."""
    fx = ROOT / "tests" / "fixtures"
    out: list[dict] = []
    for path in sorted((fx / "crossref" / "works").glob("*.json")):
        body = json.loads(path.read_text(encoding="utf-8"))
        msg = body["message"]
        out += msg["items"] if body["message-type"] == "work-list" else [msg]
    for path in sorted((fx / "crossref" / "public-data").glob("*.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            if path.name.endswith(".jsonl.gz"):
                out += [json.loads(line) for line in fh if line.strip()]
            else:
                out += json.load(fh)["items"]
    for name in ("02-peerj-unspecified-cc-licence.json", "15-component-and-dataset-types.json"):
        doc = json.loads((fx / "cases" / name).read_text(encoding="utf-8"))
        out += doc if isinstance(doc, list) else [doc]
    seen: set[str] = set()
    unique = []
    for w in out:
        doi = str(w.get("DOI", "")).lower()
        if doi and doi not in seen and w.get("member"):
            seen.add(doi)
            unique.append(w)
    return unique


def write_real_works(path: Path, n: int, seed: int) -> tuple[int, float, int]:
    """``n`` works of realistic size derived from the real fixture records: each is a real
    record under a new DOI (and one of 300 member ids); one in six gets 100-250 references
    (real reference entries from the fixtures), as many real articles have. The JSON of each
    template is built once and spliced, so writing is cheap.
    Returns (distinct templates, mean bytes per work, works with >= 100 references)."""
    import random

    rng = random.Random(seed)
    templates = real_templates()
    pool = [json.dumps(r, separators=(",", ":")) for t in templates for r in t.get("reference", [])]
    bodies = []
    for t in templates:
        rest = {k: v for k, v in t.items() if k not in ("DOI", "member", "reference")}
        bodies.append((t["DOI"], t.get("reference", []), json.dumps(rest, separators=(",", ":"))))
    total = many = 0
    with gzip.open(path, "wt", encoding="utf-8", compresslevel=1) as fh:
        for i in range(n):
            doi, refs, body = rng.choice(bodies)
            if pool and rng.random() < 1 / 6:
                k = rng.randint(100, 250)
                ref_json = "[" + ",".join(rng.choices(pool, k=k)) + "]"
                head = f'"reference":{ref_json},"references-count":{k},'
                many += 1
            else:
                head = f'"reference":{json.dumps(refs, separators=(",", ":"))},' if refs else ""
            member = rng.randrange(1, 301)
            line = f'{{"DOI":{json.dumps(f"{doi}.b{i}")},"member":{member},{head}{body[1:]}\n'
            total += len(line)
            fh.write(line)
    return len(templates), total / max(n, 1), many


def gunzip_floor(path: Path) -> tuple[float, int]:
    """Seconds to just decompress ``path`` (zlib, output discarded) and its decompressed bytes."""
    import zlib

    t0 = time.perf_counter()
    dec = zlib.decompressobj(wbits=31)
    size = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            size += len(dec.decompress(chunk))
            while dec.eof and dec.unused_data:
                rest = dec.unused_data
                dec = zlib.decompressobj(wbits=31)
                size += len(dec.decompress(rest))
    return time.perf_counter() - t0, size


def report_floor(label: str, path: Path, bulk: dict) -> None:
    floor_s, raw = gunzip_floor(path)
    rate = bulk["works"] / bulk["seconds"]
    print(
        f"{label}: gunzip alone {floor_s:.2f} s ({raw / 1e6 / floor_s:,.0f} MB/s of JSON); "
        f"bulk {bulk['seconds']:.2f} s = {bulk['seconds'] / floor_s:.1f}x the decompression "
        f"floor ({raw / 1e6 / bulk['seconds']:,.0f} MB/s of JSON, {rate:,.0f} works/s)"
    )


def make_file(path: Path, n: int, seed: int, current_year: int, generator: str) -> str:
    if generator in ("auto", "mock"):
        try:
            return write_mock_works(path, n, seed, current_year)
        except ImportError:
            if generator == "mock":
                raise
    return write_synthetic_works(path, n, seed, current_year)


# --------------------------------------------------------------------------------------------
# Baseline: json.loads + the registry in a Python loop
# --------------------------------------------------------------------------------------------
def baseline(path: Path) -> tuple[int, float, dict[str, int]]:
    keys = list(metrics.REGISTRY)
    registry = [metrics.REGISTRY[k] for k in keys]
    cells: dict[tuple, list[int]] = {}
    n = 0
    t0 = time.perf_counter()
    c0 = time.process_time()
    with gzip.open(path, "rb") as fh:
        for line in fh:
            if not line.strip():
                continue
            try:
                work = json.loads(line)
            except ValueError:
                continue
            if not isinstance(work, dict):
                continue
            n += 1
            key = (work.get("member"), work.get("type"), issued_year(work))
            cell = cells.get(key)
            if cell is None:
                cell = cells[key] = [0] * (len(keys) + 1)
            cell[0] += 1
            for i, m in enumerate(registry, start=1):
                if m.share is not None:
                    cell[i] += m.share(work)[0]
                else:
                    cell[i] += bool(m.predicate(work))
    seconds = time.perf_counter() - t0
    cpu = time.process_time() - c0
    totals = {k: sum(c[i] for c in cells.values()) for i, k in enumerate(keys, start=1)}
    return n, seconds, cpu, totals


# --------------------------------------------------------------------------------------------
# Bulk, in a child process
# --------------------------------------------------------------------------------------------
def child(path: str, current_year: int, threads: int | None) -> None:
    from cache.jobs.bulk import ingest

    t0 = time.perf_counter()
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    result = ingest([path], current_year=current_year, publish=False, threads=threads)
    seconds = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime)
    cov = result.coverage
    totals = cov[cov.period == "all"].groupby("metric")["covered"].sum().to_dict()
    print(
        json.dumps(
            {
                # records scored, counting a DOI read twice twice (the 2x file repeats the
                # 1x file, so half its records are duplicates, dropped from the tables)
                "works": sum(f.works for f in result.files),
                "distinct": result.works,
                "duplicates": result.duplicates,
                "errors": result.error_count,
                "seconds": seconds,
                "cpu": cpu,
                "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "totals": {k: int(v) for k, v in totals.items()},
            }
        )
    )


def run_child(path: Path, current_year: int, threads: int | None) -> dict:
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        str(path),
        "--current-year",
        str(current_year),
    ]
    if threads:
        cmd += ["--threads", str(threads)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------------------------
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--works", type=int, default=200_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--generator", choices=("auto", "mock", "synthetic"), default="auto")
    ap.add_argument("--scale", type=int, default=4)
    ap.add_argument("--threads", type=int, default=None, help="DuckDB threads (default: cores)")
    ap.add_argument("--current-year", type=int, default=2026)
    ap.add_argument("--repeat", type=int, default=2, help="best of N runs (1x file)")
    ap.add_argument(
        "--real-works", type=int, default=10_000, help="works of realistic size (from fixtures)"
    )
    ap.add_argument("--data", type=Path, default=None, help="use this .jsonl.gz instead")
    ap.add_argument("--keep", type=Path, default=None, help="keep the generated file here")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.current_year, args.threads)
        return

    t_start = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="bench-bulk-"))
    try:
        if args.data:
            one, label, gen_s = args.data, f"given file {args.data}", 0.0
        else:
            one = tmp / "works-1x.jsonl.gz"
            t0 = time.perf_counter()
            label = make_file(one, args.works, args.seed, args.current_year, args.generator)
            gen_s = time.perf_counter() - t0
        size = one.stat().st_size
        lines = raw = 0
        with gzip.open(one, "rb") as fh:
            for line in fh:
                lines += 1
                raw += len(line)
        print(f"data: {lines:,} works, {label}")
        print(
            f"      {size / 1e6:.1f} MB gzip, {raw / 1e6:.1f} MB JSON "
            f"({raw / max(lines, 1):,.0f} B/work), generated in {gen_s:.1f} s"
        )
        print(f"cores: {os.cpu_count()}, load average at start: {os.getloadavg()[0]:.1f}")

        # best of --repeat for both sides: other processes on a shared machine add noise
        runs = [baseline(one) for _ in range(args.repeat)]
        n_base, base_s, base_cpu, base_totals = min(runs, key=lambda r: r[1])
        base_rate = n_base / base_s
        print(
            f"baseline (json.loads + Python loop over the {len(base_totals)} registry metrics): "
            f"{base_s:.2f} s, {base_rate:,.0f} works/s (CPU {base_cpu:.2f} s)"
        )

        b1 = min(
            (run_child(one, args.current_year, args.threads) for _ in range(args.repeat)),
            key=lambda r: r["seconds"],
        )
        rate1 = b1["works"] / b1["seconds"]
        print(
            f"bulk 1x ({b1['works']:,} works): {b1['seconds']:.2f} s, {rate1:,.0f} works/s "
            f"(CPU {b1['cpu']:.2f} s), peak RSS {b1['maxrss_mb']:.0f} MB"
        )
        agree = b1["distinct"] == n_base and b1["totals"] == base_totals
        print(f"bulk and baseline agree on every metric total: {agree}")

        big = tmp / f"works-{args.scale}x.jsonl.gz"
        with open(big, "wb") as out:
            for _ in range(args.scale):
                with open(one, "rb") as src:
                    shutil.copyfileobj(src, out)
        bn = run_child(big, args.current_year, args.threads)
        raten = bn["works"] / bn["seconds"]
        print(
            f"bulk {args.scale}x ({bn['works']:,} works): {bn['seconds']:.2f} s, "
            f"{raten:,.0f} works/s (CPU {bn['cpu']:.2f} s), peak RSS {bn['maxrss_mb']:.0f} MB; "
            f"{bn['duplicates']:,} repeated DOIs dropped, {bn['distinct']:,} distinct works"
        )

        report_floor("decompression floor, 1x file", one, b1)

        # records of realistic size, derived from the real fixture records
        real = tmp / "works-real.jsonl.gz"
        n_tpl, mean_b, many = write_real_works(real, args.real_works, args.seed)
        print()
        print(
            f"realistic records: {args.real_works:,} works from {n_tpl} real fixture records, "
            f"{mean_b / 1e3:.1f} KB/work on average, {many:,} with 100-250 references, "
            f"{real.stat().st_size / 1e6:.1f} MB gzip"
        )
        br = run_child(real, args.current_year, args.threads)
        print(
            f"bulk realistic ({br['works']:,} works): {br['seconds']:.2f} s, "
            f"{br['works'] / br['seconds']:,.0f} works/s (CPU {br['cpu']:.2f} s), "
            f"peak RSS {br['maxrss_mb']:.0f} MB"
        )
        report_floor("decompression floor, realistic records", real, br)
        print()

        speed = rate1 / base_rate
        cpu_speed = (base_cpu / n_base) / (b1["cpu"] / b1["works"])
        growth = bn["maxrss_mb"] / b1["maxrss_mb"]
        print()
        print(
            f"throughput bulk / baseline (wall clock, works/s): {speed:.1f}x  (target >= 3x: "
            f"{'ok' if speed >= 3 else 'MISSED'})"
        )
        print(f"  per CPU second (all threads counted): {cpu_speed:.1f}x")
        print(
            f"peak RSS {args.scale}x / 1x: {growth:.2f}x  (target < 1.5x: "
            f"{'ok' if growth < 1.5 else 'MISSED'})"
        )
        print(
            f"total bench time: {time.perf_counter() - t_start:.0f} s, "
            f"load average at end: {os.getloadavg()[0]:.1f}"
        )
        if args.keep and not args.data:
            args.keep.mkdir(parents=True, exist_ok=True)
            shutil.copy2(one, args.keep / one.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
