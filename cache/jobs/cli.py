"""``python -m cache …``: refresh, list and export snapshots, run the mock, build the demo.

One ``app = typer.Typer()``; each command is a small function. To add a command (``works``,
``funder``, ``bulk`` …) define ``@app.command()`` here, take ``data_dir: DataDirOption = None`` and
build settings with :func:`load_settings`; use :func:`progress_bar` for long jobs and
:func:`fail` for a one-line error with a non-zero exit.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, NoReturn, TextIO

import pandas as pd
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from cache.crossref.errors import CrossrefError, SnapshotError
from cache.crossref.settings import ConfigError, Settings, check_data_dir
from cache.store.csvsafe import frame_csv
from cache.store.snapshots import Snapshot, SnapshotStore

logger = logging.getLogger(__name__)

app = typer.Typer(
    help="Crossref metadata-completeness dashboard: data jobs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

DataDirOption = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Data directory (default: $DASHBOARD_DATA_DIR or ~/.cache/crossref-dashboard).",
    ),  # checked by load_settings: one line, exit 2
]

NoCacheOption = Annotated[
    bool, typer.Option("--no-cache", help="Do not read the raw-response cache.")
]

EXIT_CONFIG = 2  # bad configuration
EXIT_BUSY = 75  # another refresh holds the data directory (EX_TEMPFAIL: try again later)

WaitOption = Annotated[
    bool,
    typer.Option(
        "--wait",
        help="If another refresh is running on this data directory, wait for it to finish "
        "(default: exit with status 75).",
    ),
]

EXPORT_COLUMNS = (
    "member_id",
    "member_name",
    "content_type",
    "period",
    "metric",
    "covered",
    "total",
    "coverage",
)


# --------------------------------------------------------------------------------------------
# Helpers shared by commands
# --------------------------------------------------------------------------------------------
def load_settings(
    data_dir: Path | None = None, *, writable: bool = True, **overrides: Any
) -> Settings:
    """Settings from the environment with ``--data-dir``; bad configuration (a malformed
    ``CROSSREF_API_URL``, non-numeric ``PORT`` or knob, a data directory that is a file or, with
    ``writable``, read-only) prints one line and exits with status 2."""
    try:
        settings = Settings.from_env(data_dir=data_dir, **overrides)
        check_data_dir(settings.data_dir, writable=writable)
    except ConfigError as exc:
        fail(f"configuration error: {exc}", code=EXIT_CONFIG)
    return settings


def fail(message: str, code: int = 1) -> NoReturn:
    """Print one line to stderr and exit non-zero."""
    typer.echo(" ".join(str(message).split()), err=True)
    raise typer.Exit(code)


def _stderr_console() -> Console:
    return Console(stderr=True)


@contextlib.contextmanager
def progress_bar(description: str) -> Iterator[Callable[[int, int], None]]:
    """A ``progress(done, total)`` callback drawing a rich bar on stderr (off when not a TTY)."""
    console = _stderr_console()
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=not console.is_terminal,
        transient=True,
    ) as bar:
        task = bar.add_task(description, total=None)
        lock = threading.Lock()

        def update(done: int, total: int) -> None:
            with lock:
                bar.update(task, completed=done, total=total or None)

        yield update


def coverage_export_frame(snapshot: Snapshot) -> pd.DataFrame:
    """The coverage table as exported: EXPORT_COLUMNS, one row per member × content type ×
    period × metric, sorted in that order (two exports of one snapshot are byte-identical).
    ``coverage`` is Crossref's exact float (0–1; NaN when the period has no works)."""
    cov = snapshot.coverage
    names = snapshot.members.drop_duplicates("member_id").set_index("member_id")["name"]
    frame = pd.DataFrame(
        {
            "member_id": cov["member_id"].to_numpy(),
            "member_name": cov["member_id"].map(names).to_numpy(),
            "content_type": cov["content_type"].astype(str).to_numpy(),
            "period": cov["period"].astype(str).to_numpy(),
            "metric": cov["metric"].astype(str).to_numpy(),
            "covered": cov["covered"].to_numpy(),
            "total": cov["total"].to_numpy(),
            "coverage": cov["coverage"].astype("float64").to_numpy(),
        },
        columns=list(EXPORT_COLUMNS),
    )
    return frame.sort_values(["member_id", "content_type", "period", "metric"], kind="stable")


def write_coverage_csv(snapshot: Snapshot, out: TextIO) -> int:
    """Write the coverage export (:func:`coverage_export_frame`) through the one CSV writer;
    returns the number of data rows."""
    frame = coverage_export_frame(snapshot)
    out.write(frame_csv(frame))
    return len(frame)


def _previous_note(previous: str | None) -> str:
    if previous:
        return f"previous snapshot {previous} is still the latest"
    return "no snapshot was published"


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at emit time (test runners swap it)."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    @property  # type: ignore[override]
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


def configure_logging(verbose: int = 0) -> None:
    """WARNING (retries, 429s) by default; -v INFO; -vv DEBUG. One stderr handler on root."""
    level = logging.WARNING if verbose <= 0 else logging.INFO if verbose == 1 else logging.DEBUG
    root = logging.getLogger()
    handler = next((h for h in root.handlers if isinstance(h, _StderrHandler)), None)
    if handler is None:
        handler = _StderrHandler()
        root.addHandler(handler)
    handler.setLevel(level)
    root.setLevel(level)
    if verbose < 3:
        for noisy in ("httpx", "httpcore"):
            logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


@app.callback()
def _root(
    verbose: Annotated[
        int, typer.Option("--verbose", "-v", count=True, help="-v info, -vv debug logging.")
    ] = 0,
) -> None:
    configure_logging(verbose)


# --------------------------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------------------------
@app.command()
def refresh(
    member: Annotated[
        list[int] | None,
        typer.Option(
            "--member",
            help="Refresh only these member ids (repeatable) through /members/{id}, inside a "
            "copy of the latest snapshot.",
        ),
    ] = None,
    no_cache: Annotated[
        bool,
        typer.Option(
            "--no-cache", help="Neither read nor write (nor open) the raw-response cache."
        ),
    ] = False,
    wait: WaitOption = False,
    data_dir: DataDirOption = None,
) -> None:
    """Fetch member summaries from Crossref and publish a snapshot.

    Holds the data directory's refresh lock: a second refresh on the same directory exits with
    status 75 ("another refresh is running (pid N …)") unless ``--wait``.
    """
    from cache.crossref.client import CrossrefClient
    from cache.jobs.refresh import LockBusy, refresh_all, refresh_lock, refresh_members

    settings = load_settings(data_dir)
    if not settings.mailto:
        typer.echo(
            "note: CROSSREF_MAILTO is not set, so this uses the public pool "
            f"({settings.list_rate:g} request/s, {settings.list_concurrency} at a time)",
            err=True,
        )
    store = SnapshotStore(settings.data_dir)
    previous: str | None = None
    try:
        with refresh_lock(settings.data_dir, wait=wait, on_wait=_announce_wait):
            previous = store.latest_id()  # under the lock: what this refresh would replace
            with (
                CrossrefClient(
                    settings, use_cache=not no_cache, write_cache=not no_cache
                ) as client,
                progress_bar("members") as progress,
            ):
                if member:
                    result = refresh_members(client, store, member, progress=progress)
                else:
                    result = refresh_all(client, store, progress=progress)
    except LockBusy as exc:
        fail(f"refresh not started: {exc}; try again later or pass --wait", code=EXIT_BUSY)
    except ConfigError as exc:
        fail(f"refresh failed: {exc}", code=EXIT_CONFIG)
    except (CrossrefError, SnapshotError, OSError) as exc:
        fail(f"refresh failed: {exc} — {_previous_note(previous)}")
    except KeyboardInterrupt:
        fail(f"refresh interrupted — {_previous_note(previous)}", code=130)
    typer.echo(result.summary())


def _announce_wait(holder: dict[str, Any]) -> None:
    pid = holder.get("pid", "unknown")
    since = f" since {holder['since']}" if holder.get("since") else ""
    typer.echo(f"waiting: another refresh is running (pid {pid}{since})…", err=True)


@app.command()
def snapshots(
    details: Annotated[
        bool,
        typer.Option(
            "--details",
            help="Also count the members without a recognisable country in each snapshot and "
            "list those of the newest one (id, name, Crossref location).",
        ),
    ] = False,
    data_dir: DataDirOption = None,
) -> None:
    """List snapshots, newest first, with their status (ok / broken: reason) and which one the
    app serves (the latest readable one)."""
    settings = load_settings(data_dir, writable=False)
    store = SnapshotStore(settings.data_dir)
    ids = store.ids()
    if not ids:
        typer.echo(f"no snapshots in {settings.snapshots_dir}")
        return
    statuses = {sid: store.status(sid) for sid in ids}
    served = next((sid for sid in store.candidates() if statuses.get(sid) is None), None)
    columns = ["id", "date", "source", "members", "status", *(["no country"] if details else [])]
    table = Table(*columns)
    for sid in ids:
        try:
            meta = store.read_meta(sid)
        except SnapshotError:
            meta = {}
        broken = statuses[sid]
        status = f"broken: {broken}" if broken else "ok, served" if sid == served else "ok"
        no_country = meta.get("members_without_country_count")
        table.add_row(
            sid,
            str(meta.get("created", "")),
            str(meta.get("source", "")),
            str(meta.get("members", "")),
            status,
            *([str(no_country) if no_country is not None else "?"] if details else []),
        )
    console = Console(soft_wrap=True)
    if not console.is_terminal:  # piped or captured: one line per snapshot, nothing cut
        console = Console(soft_wrap=True, width=500)
    console.print(table)
    latest = store.latest_id()
    if served is None:
        console.print("no readable snapshot: the app has nothing to serve (run a refresh)")
    elif latest != served:
        console.print(f"serving {served}: the latest, {latest}, is broken ({statuses.get(latest)})")
    if details and served is not None:
        _print_members_without_country(console, store, served)


def _print_members_without_country(console: Console, store: SnapshotStore, sid: str) -> None:
    """The members of snapshot ``sid`` whose ``location`` names no recognisable country."""
    members = store.read_members(sid)
    lost = members[members["country"].fillna("") == ""].sort_values("member_id")
    console.print(f"{len(lost):,} members without a recognisable country in {sid}")
    if lost.empty:
        return
    table = Table("member id", "name", "location (Crossref)")
    for row in lost.itertuples():
        table.add_row(str(row.member_id), str(row.name), str(row.location or ""))
    console.print(table)


@app.command()
def export(
    out: Annotated[
        Path | None, typer.Option("--out", help="CSV file to write (default: stdout).")
    ] = None,
    snapshot: Annotated[
        str | None, typer.Option("--snapshot", help="Snapshot id (default: the latest).")
    ] = None,
    country_stats: Annotated[
        bool,
        typer.Option("--country-stats", help="Export the imported Crossref country statistics."),
    ] = False,
    data_dir: DataDirOption = None,
) -> None:
    """Write a snapshot's coverage table (or the imported country statistics) as CSV.

    The snapshot is verified and range-checked first: a damaged one exits with status 1 and a
    message naming the file and the newest readable snapshot to export instead.
    """
    settings = load_settings(data_dir, writable=False)
    if country_stats:
        _export_country_stats(settings.data_dir, out)
        return
    store = SnapshotStore(settings.data_dir)
    try:
        snap = store.load(snapshot)
    except SnapshotError as exc:
        hint = ""
        if snapshot is None or store.ids():
            served = store.served_id()
            if served is not None and served != snapshot and f" {served}:" not in f" {exc}":
                hint = f" (newest readable snapshot: {served}; export it with --snapshot {served})"
        fail(f"export failed: {exc}{hint}")
    if out is None:
        write_coverage_csv(snap, sys.stdout)
        sys.stdout.flush()
        return
    try:
        with open(out, "w", encoding="utf-8", newline="") as fh:
            rows = write_coverage_csv(snap, fh)
    except OSError as exc:
        fail(f"export failed: {exc}")
    typer.echo(f"wrote {rows} rows of snapshot {snap.id} to {out}", err=True)


def _export_country_stats(data_dir: Path, out: Path | None) -> None:
    from cache.store import country_stats

    try:
        table = country_stats.load(data_dir)
    except (OSError, ValueError) as exc:
        fail(f"export failed: cannot read the imported country statistics ({exc})")
    if table.empty:
        fail("export failed: no country statistics imported (run `python -m cache country-stats`)")
    text = frame_csv(table)
    if out is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    try:
        Path(out).write_text(text, encoding="utf-8")
    except OSError as exc:
        fail(f"export failed: {exc}")
    typer.echo(f"wrote {len(table)} rows of country statistics to {out}", err=True)


@app.command("country-stats")
def country_stats_import(
    files: Annotated[
        list[Path],
        typer.Argument(help="Crossref's country-statistics CSV files (participation, coverage)."),
    ],
    data_dir: DataDirOption = None,
) -> None:
    """Import Crossref's "State of Crossref metadata by member country" CSV files (any dates)."""
    from cache.jobs import country_stats

    settings = load_settings(data_dir)
    try:
        report = country_stats.import_files(settings.data_dir, files)
    except (country_stats.CountryStatsError, OSError) as exc:
        fail(f"country-stats failed: {exc}")
    for name, line, why in report.malformed[:20]:
        typer.echo(f"{name}:{line}: skipped malformed row: {why}", err=True)
    if len(report.malformed) > 20:
        typer.echo(f"… and {len(report.malformed) - 20} more malformed rows", err=True)
    typer.echo(report.summary())


@app.command()
def demo(
    members: Annotated[int, typer.Option("--members", help="Population size.", min=1)] = 33_000,
    wait: WaitOption = False,
    data_dir: DataDirOption = None,
) -> None:
    """Build the demo snapshot (mock API on loopback + the real refresh), under the same
    data-directory lock as ``refresh``."""
    from cache.jobs.refresh import LockBusy, refresh_lock
    from mock_crossref.demo import run_demo_refresh

    settings = load_settings(data_dir)
    previous: str | None = None
    try:
        with refresh_lock(settings.data_dir, wait=wait, on_wait=_announce_wait):
            previous = SnapshotStore(settings.data_dir).latest_id()
            with progress_bar("demo members") as progress:
                result = run_demo_refresh(settings, members, progress)
    except LockBusy as exc:
        fail(f"demo not started: {exc}; try again later or pass --wait", code=EXIT_BUSY)
    except ConfigError as exc:
        fail(f"demo failed: {exc}", code=EXIT_CONFIG)
    except (CrossrefError, SnapshotError, OSError) as exc:
        fail(f"demo failed: {exc} — {_previous_note(previous)}")
    typer.echo(result.summary())


@app.command()
def drilldown(
    member: Annotated[int, typer.Option("--member", help="Member id to drill into.")],
    gap_cap: Annotated[
        int, typer.Option("--gap-cap", min=1, help="Most DOIs listed per missing element.")
    ] = 1000,
    max_types: Annotated[
        int, typer.Option("--max-types", min=1, help="Content types counted (largest first).")
    ] = 2,
    no_cache: NoCacheOption = False,
    data_dir: DataDirOption = None,
) -> None:
    """Member drill-down: trials, licence quality, depth, per-year coverage, DOIs to fix."""
    from cache.jobs import drilldown as job

    settings = load_settings(data_dir)
    try:
        with progress_bar("requests") as progress:
            result, path = job.run(
                settings,
                member,
                use_cache=not no_cache,
                gap_cap=gap_cap,
                max_types=max_types,
                progress=lambda done, total, _label: progress(done, total),
            )
    except (CrossrefError, OSError) as exc:
        fail(f"drilldown failed: {exc} (re-run to resume: finished requests are cached for 24 h)")
    missing = sum(g["missing"] for g in result["gaps"].values())
    stats = result["stats"]
    typer.echo(
        f"member={member} requests={result['requests']} cache_hits={stats['cache_hits']} "
        f"retries={stats['retries']} 429s={stats['http_429']} "
        f"duration={result['duration_s']:.1f}s gaps={missing} saved={path}"
    )


# The first release called the drill-down `works`; kept so existing scripts keep working.
app.command("works", hidden=True)(drilldown)


@app.command()
def funder(
    id_or_query: Annotated[
        str, typer.Argument(help="Funder Registry DOI (10.13039/…), ROR ID or a name.")
    ],
    data_dir: DataDirOption = None,
) -> None:
    """Funder report: per publisher, the share of works with award numbers and own funder IDs."""
    from cache.jobs import funder_report as job

    settings = load_settings(data_dir)
    try:
        report, path = job.run(settings, id_or_query)
    except job.FunderNotFound as exc:
        fail(f"funder: {exc}")
    except (CrossrefError, OSError) as exc:
        fail(f"funder failed: {exc}")
    typer.echo(
        f"funder={report['id']} name={report['name']!r} "
        f"publishers={len(report['publishers'])} saved={path}"
    )


@app.command()
def bulk(
    files: Annotated[
        list[Path],
        typer.Argument(
            help='Works files or folders: JSON Lines, {"items": …} chunks, saved API '
            "responses, JSON arrays (plain, .gz, .bz2, .xz) and .tar / .tar.gz archives of them."
        ),
    ],
    current_year: Annotated[
        int | None,
        typer.Option("--current-year", help="Year that splits current/backfile (default: now)."),
    ] = None,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict",
            help="Fail (non-zero exit, nothing published) on anything not scored: a malformed "
            "line, a damaged file, a record without a member, a file that holds no works.",
        ),
    ] = False,
    memory_limit: Annotated[
        str, typer.Option("--memory-limit", help="DuckDB memory limit, e.g. 1GB.")
    ] = "1GB",
    threads: Annotated[
        int | None, typer.Option("--threads", help="DuckDB threads (default: all cores).")
    ] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Score Crossref works files with DuckDB and publish a snapshot with source "bulk".

    A DOI given more than once counts once (the latest copy by indexed date); a run that scores
    no work publishes nothing and exits non-zero, naming each file and what it holds.
    """
    import duckdb

    from cache.jobs.bulk import BulkIngestError, NothingScored, ingest

    settings = load_settings(data_dir)
    store = SnapshotStore(settings.data_dir)
    try:
        with progress_bar("bytes") as progress:
            result = ingest(
                files,
                current_year=current_year,
                strict=strict,
                progress=progress,
                store=store,
                memory_limit=memory_limit,
                threads=threads,
            )
    except NothingScored as exc:
        fail(f"bulk: {exc} [latest snapshot: {store.latest_id() or 'none'}]")
    except (BulkIngestError, SnapshotError, OSError, duckdb.Error) as exc:
        fail(f"bulk failed: {exc}")
    typer.echo(result.summary())


def main() -> None:
    app()
