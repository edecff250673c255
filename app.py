"""Crossref metadata-completeness dashboard: the Dash app, its shell and `python app.py`.

    python app.py [--host H] [--port P] [--debug]      (env HOST / PORT; default 127.0.0.1:8050)
    gunicorn -c gunicorn.conf.py app:server             (production: several worker processes)
    celery -A app:celery_app worker --concurrency 2     (background jobs, when REDIS_URL is set)

On start with no snapshot in DASHBOARD_DATA_DIR, `python app.py` builds the demo snapshot by running
the real refresh pipeline against the bundled mock Crossref API (`mock.demo.ensure_snapshot`), then
serves it with a visible "Demo data" badge. Under gunicorn, importing this module does the same
start-up (`startup()`: snapshot ensured under a file lock so only one worker builds the demo,
snapshot loaded, views warmed) minus the development server.

Serving: gzip/brotli responses (flask-compress), one-year immutable caching of fingerprinted
component suites and versioned assets (`?m=`), request bodies capped at `MAX_REQUEST_BYTES`
(413 past it), and `/healthz` for load balancers. Background callbacks run on Celery through
Redis when `REDIS_URL` is set, else in forked processes on this machine
(`pages/components/jobs.py`: one job per member, a global cap, a visible queue).
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import sys
import threading
import time

import dash
import dash_mantine_components as dmc
import flask
from dash import Dash, dcc, html
from filelock import FileLock

from cache import facade
from cache.crossref.rawcache import open_disposable_cache
from cache.crossref.settings import (
    ConfigError,
    Settings,
    check_data_dir,
    ensure_private_dir,
    parse_port,
)
from pages.components import badges, jobs, request_guard, theme

logger = logging.getLogger("app")


def _config_error(exc: ConfigError) -> None:
    """Bad configuration at start: one line on stderr and exit status 2 when run as a program
    (`python app.py`, a gunicorn worker); raised as is when imported (tests, other tools)."""
    if __name__ == "__main__" or os.environ.get("SERVER_SOFTWARE", "").startswith("gunicorn/"):
        print(f"configuration error: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(2)
    raise exc


try:  # PORT, CROSSREF_API_URL, tuning knobs, a data dir that is a file or read-only
    settings = Settings.from_env()
    check_data_dir(settings.data_dir)
    ensure_private_dir(settings.data_dir)
except ConfigError as _exc:
    _config_error(_exc)
facade.configure(settings.data_dir, settings=settings)

# Background callbacks (the member page's work-level drill-down, funder reports) run as shared,
# capped jobs (pages/components/jobs.py): on Celery workers through Redis when REDIS_URL is set,
# else in child processes of the web workers. Progress and results of local jobs pass through a
# diskcache that pickles, so it lives in the private (0700) data dir.
job_config = jobs.JobConfig.from_env()
ensure_private_dir(settings.data_dir)
celery_app = jobs.make_celery(job_config.redis_url) if job_config.redis_url else None
if celery_app is not None:
    background_callback_manager = jobs.SharedCeleryManager(
        celery_app,
        job_config.redis_url,
        max_jobs=job_config.max_jobs,
        max_queued=job_config.max_queued,
    )
else:
    background_callback_manager = jobs.SharedDiskcacheManager(
        # disposable: a broken one is moved aside (jobs.broken-<time>) and a fresh one used
        open_disposable_cache(settings.jobs_dir, label="jobs cache", fallback_to_temp=True),
        max_jobs=job_config.max_jobs,
        max_queued=job_config.max_queued,
    )

MAX_REQUEST_BYTES = 1_000_000  # callback payloads are a few kB; 413 past this
IMMUTABLE = "public, max-age=31536000, immutable"

app = Dash(
    __name__,
    use_pages=True,
    serve_locally=True,
    external_stylesheets=[],
    external_scripts=[],
    title="Crossref metadata completeness",
    update_title=None,
    suppress_callback_exceptions=False,
    meta_tags=[{"name": "viewport", "content": "width=device-width, initial-scale=1"}],
    background_callback_manager=background_callback_manager,
    compress=True,
)
server = app.server
server.config["MAX_CONTENT_LENGTH"] = MAX_REQUEST_BYTES
request_guard.install(app)  # malformed callback requests: 400, not a 500 with a traceback
app.config.include_assets_files = True


@server.after_request
def _cache_headers(response: flask.Response) -> flask.Response:
    """Versioned static files are immutable for a year; unversioned ones revalidate."""
    path = flask.request.path
    if response.status_code == 200 and (
        (path.startswith("/_dash-component-suites/") and response.cache_control.max_age)
        or (path.startswith("/assets/") and flask.request.args.get("m"))
    ):
        response.headers["Cache-Control"] = IMMUTABLE
    return response


def health() -> tuple[dict, int]:
    """What `/healthz` answers: ``({"status", "snapshot_id", "snapshot_age_s",
    "refresh_running", "jobs"}, HTTP status)``; 503 when no snapshot can be served.

    ``snapshot_age_s`` is seconds since the snapshot's ``created`` time (meta.json), or None;
    ``refresh_running`` is None when this build cannot tell.
    """
    if hasattr(facade, "health"):
        body = dict(facade.health())
    else:
        sid = facade.snapshot_id()
        created = facade.meta().get("created") if sid else None
        age = None
        if created:
            when = dt.datetime.fromisoformat(str(created).replace("Z", "+00:00"))
            if when.tzinfo is None:
                when = when.replace(tzinfo=dt.UTC)
            age = round((dt.datetime.now(dt.UTC) - when).total_seconds(), 1)
        body = {"snapshot_id": sid, "snapshot_age_s": age}
    try:
        from cache.jobs.refresh import refresh_running
    except ImportError:
        body.setdefault("refresh_running", None)
    else:
        body["refresh_running"] = bool(refresh_running(facade.data_dir()))
    body["jobs"] = sum(j["state"] == "running" for j in background_callback_manager.jobs())
    ok = bool(body.get("snapshot_id"))
    body["status"] = "ok" if ok else "no snapshot"
    return body, 200 if ok else 503


@server.route("/healthz")
def healthz():
    """Health for load balancers (JSON, see `health()`); never cached."""
    body, status = health()
    response = flask.jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


NAV_HIDDEN = {"pages.not_found_404", "pages.member"}


def navigation() -> list:
    links = []
    for page in dash.page_registry.values():
        if page["module"] in NAV_HIDDEN or page.get("nav") is False:
            continue
        links.append(
            dmc.NavLink(
                label=page["name"],
                href=page["relative_path"],
                active="exact",
                id=f"nav-{page['module'].split('.')[-1]}",
                description=page.get("nav_description"),
            )
        )
    return links


def shell() -> dmc.MantineProvider:
    """The app shell: header (burger, title, demo badge, freshness), navigation from the page
    registry. Below the `sm` breakpoint (576 px) the navigation is collapsed behind the burger,
    which opens and closes it; following a link closes it again."""
    return dmc.MantineProvider(
        theme=theme.THEME,
        forceColorScheme="light",
        children=[
            dcc.Location(id="url", refresh="callback-nav"),
            dmc.AppShell(
                [
                    dmc.AppShellHeader(
                        dmc.Group(
                            [
                                dmc.Group(
                                    [
                                        dmc.Burger(
                                            id="app-burger",
                                            size="sm",
                                            hiddenFrom="sm",
                                            opened=False,
                                            **{"aria-label": "Open or close the navigation"},
                                        ),
                                        html.Img(
                                            src=app.get_asset_url("favicon.svg"),
                                            height=28,
                                            alt="",
                                            className="brand-logo",
                                        ),
                                        dcc.Link(
                                            dmc.Title(
                                                [
                                                    html.Span("Crossref ", className="brand-long"),
                                                    "metadata completeness",
                                                ],
                                                order=4,
                                                className="brand-title",
                                            ),
                                            href="/",
                                            className="brand",
                                        ),
                                    ],
                                    gap="xs",
                                    wrap="nowrap",
                                    className="brand-group",
                                ),
                                badges.freshness(compact=True),
                            ],
                            justify="space-between",
                            h="100%",
                            px="md",
                            wrap="nowrap",
                            gap="xs",
                        ),
                        id="app-header",
                    ),
                    dmc.AppShellNavbar(
                        [
                            *navigation(),
                            dmc.Text(
                                "Scores come from each member's Crossref metadata; "
                                "see Methodology.",
                                size="xs",
                                c="dimmed",
                                p="sm",
                                mt="auto",
                            ),
                        ],
                        p="xs",
                        id="app-nav",
                    ),
                    dmc.AppShellMain(
                        html.Div([badges.freshness_line(), dash.page_container], className="page"),
                        id="app-main",
                    ),
                ],
                id="app-shell",
                header={"height": 56},
                navbar={"width": 200, "breakpoint": "sm", "collapsed": {"mobile": True}},
                padding="md",
            ),
        ],
    )


# The burger opens and closes the navigation on narrow screens (in the browser: no round trip);
# a page change (a link followed) closes it.
dash.clientside_callback(
    """
    function(opened, navbar) {
        return Object.assign({}, navbar || {}, {collapsed: {mobile: !opened}});
    }
    """,
    dash.Output("app-shell", "navbar"),
    dash.Input("app-burger", "opened"),
    dash.State("app-shell", "navbar"),
)
dash.clientside_callback(
    "function(pathname) { return false; }",
    dash.Output("app-burger", "opened"),
    dash.Input("url", "pathname"),
    prevent_initial_call=True,
)


app.layout = shell


def ensure_data(cfg: Settings | None = None) -> str | None:
    """Build the demo snapshot when no snapshot exists (prints what it does). Returns the id.

    Holds ``<data dir>/startup.lock`` (a `filelock` lock) while it checks and builds, so when
    several gunicorn workers start on an empty data dir one builds the demo and the others wait
    for it and then serve it.
    """
    cfg = cfg or settings
    ensure_private_dir(cfg.data_dir)
    with FileLock(str(cfg.data_dir / "startup.lock")):
        facade.configure(cfg.data_dir, settings=cfg)
        existing = facade.snapshot_id()
        if existing:
            print(f"Serving snapshot {existing} from {cfg.data_dir}", flush=True)
            return existing
        print(f"No snapshot in {cfg.data_dir}.", flush=True)
        print(
            "Building the demo snapshot: starting the mock Crossref API on 127.0.0.1 and running "
            "the real refresh pipeline against it (fictitious members; this takes a little "
            "while)…",
            flush=True,
        )
        from mock_crossref import demo

        t0 = time.perf_counter()
        sid = demo.ensure_snapshot(cfg)
        facade.configure(cfg.data_dir, settings=cfg)
        print(f"Demo snapshot {sid} published in {time.perf_counter() - t0:.1f} s.", flush=True)
        return sid


def startup(warm_all: bool = True) -> None:
    """Everything before serving: snapshot ensured (`ensure_data`) and loaded, the default view
    scored before the first request, then (``warm_all``) the other common views in a background
    thread. `python app.py` runs it with ``warm_all``; each gunicorn worker without it (several
    workers scoring every view at once would starve the requests on a small machine; the other
    views are scored on first use)."""
    ensure_data()
    t0 = time.perf_counter()
    facade.snapshot()
    facade.warm((facade.DEFAULT_TYPE,), (facade.DEFAULT_PERIOD,))
    print(
        f"Loaded snapshot and scored the default view in {time.perf_counter() - t0:.1f} s "
        f"(pid {os.getpid()}).",
        flush=True,
    )
    if warm_all:
        threading.Thread(target=facade.warm, name="warm-views", daemon=True).start()


def _port_option(text: str) -> int:
    """argparse type for --port: 1–65535 (argparse prints the reason and exits 2)."""
    try:
        return parse_port(text, "--port")
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def main(argv: list[str] | None = None) -> int:
    """`python app.py`: the one-command local start (development server, one process)."""
    parser = argparse.ArgumentParser(
        description="Serve the Crossref metadata-completeness dashboard."
    )
    parser.add_argument("--host", default=settings.host, help="default: $HOST or 127.0.0.1")
    parser.add_argument(
        "--port", type=_port_option, default=settings.port, help="default: $PORT or 8050"
    )
    parser.add_argument(
        "--debug", action="store_true", help="Dash debug mode (never in production)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request is noise here
    startup()
    print(f"Serving on http://{args.host}:{args.port}/", flush=True)
    app.run(host=args.host, port=args.port, debug=args.debug)
    return 0


if __name__ == "__main__":
    sys.exit(main())
elif os.environ.get("SERVER_SOFTWARE", "").startswith("gunicorn/"):
    # a gunicorn worker importing `app:server`: the same start-up, minus the development server
    logging.getLogger("httpx").setLevel(logging.WARNING)
    startup(warm_all=False)
