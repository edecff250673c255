"""Crossref metadata-completeness dashboard: the Dash app, its shell and `python app.py`.

    python app.py [--host H] [--port P] [--debug]      (env HOST / PORT; default 127.0.0.1:8050)

On start with no snapshot in DASHBOARD_DATA_DIR, `python app.py` builds the demo snapshot by running
the real refresh pipeline against the bundled mock Crossref API (`mock.demo.ensure_snapshot`), then
serves it with a visible "Demo data" badge. WSGI servers use `app:server`; call `ensure_data()`
first (or run `python -m cache refresh`) when the data dir may be empty.
"""

from __future__ import annotations

import argparse
import logging
import sys
import threading
import time

import dash
import dash_mantine_components as dmc
import diskcache
from dash import Dash, DiskcacheManager, dcc, html

from cache import facade
from cache.crossref.settings import Settings, ensure_private_dir
from pages.components import badges, theme

logger = logging.getLogger("app")

settings = Settings.from_env()
facade.configure(settings.data_dir, settings=settings)

# Background callbacks (the member page's work-level drill-down) run in a child process; their
# progress and results pass through this diskcache. It pickles, so it lives in the private (0700)
# data dir; results are deleted once read (no `cache_by`), so a finished job is never replayed.
ensure_private_dir(settings.data_dir)
background_callback_manager = DiskcacheManager(
    diskcache.Cache(str(ensure_private_dir(settings.jobs_dir)))
)

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
)
server = app.server
app.config.include_assets_files = True

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
    """The app shell: header (title, demo badge, freshness), navigation from the page registry."""
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
                                        html.Img(
                                            src=app.get_asset_url("favicon.svg"), height=28, alt=""
                                        ),
                                        dcc.Link(
                                            dmc.Title("Crossref metadata completeness", order=4),
                                            href="/",
                                            className="brand",
                                        ),
                                    ],
                                    gap="xs",
                                ),
                                badges.freshness(compact=True),
                            ],
                            justify="space-between",
                            h="100%",
                            px="md",
                            wrap="nowrap",
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
                        html.Div(dash.page_container, className="page"), id="app-main"
                    ),
                ],
                header={"height": 56},
                navbar={"width": 200, "breakpoint": "sm"},
                padding="md",
            ),
        ],
    )


app.layout = shell


def ensure_data(cfg: Settings | None = None) -> str | None:
    """Build the demo snapshot when no snapshot exists (prints what it does). Returns the id."""
    cfg = cfg or settings
    facade.configure(cfg.data_dir, settings=cfg)
    existing = facade.snapshot_id()
    if existing:
        print(f"Serving snapshot {existing} from {cfg.data_dir}", flush=True)
        return existing
    print(f"No snapshot in {cfg.data_dir}.", flush=True)
    print(
        "Building the demo snapshot: starting the mock Crossref API on 127.0.0.1 and running the "
        "real refresh pipeline against it (fictitious members; this takes a little while)…",
        flush=True,
    )
    from mock_crossref import demo

    t0 = time.perf_counter()
    sid = demo.ensure_snapshot(cfg)
    facade.configure(cfg.data_dir, settings=cfg)
    print(f"Demo snapshot {sid} published in {time.perf_counter() - t0:.1f} s.", flush=True)
    return sid


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Serve the Crossref metadata-completeness dashboard."
    )
    parser.add_argument("--host", default=settings.host, help="default: $HOST or 127.0.0.1")
    parser.add_argument("--port", type=int, default=settings.port, help="default: $PORT or 8050")
    parser.add_argument(
        "--debug", action="store_true", help="Dash debug mode (never in production)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request is noise here
    ensure_data()
    t0 = time.perf_counter()
    facade.snapshot()
    print(
        f"Loaded snapshot in {time.perf_counter() - t0:.1f} s; serving on "
        f"http://{args.host}:{args.port}/",
        flush=True,
    )
    threading.Thread(target=facade.warm, name="warm-views", daemon=True).start()
    app.run(host=args.host, port=args.port, debug=args.debug)
    return 0


if __name__ == "__main__":
    sys.exit(main())
