"""Methodology: rendered from the metric registry, plus data sources and freshness."""

from __future__ import annotations

import re

import dash
import dash_mantine_components as dmc
from dash import dcc, html

from cache import facade
from pages.components import badges, ui

dash.register_page(
    __name__,
    path="/methodology",
    name="Methodology",
    title="Methodology · Crossref metadata completeness",
    order=5,
)

P = "methodology"


def layout(**kwargs):
    f = facade.freshness()
    try:
        text = facade.methodology_markdown()
    except Exception:  # the page must render even if the registry text fails
        text = "The methodology text could not be generated."
    sources = [
        ("Snapshot", str(f.get("snapshot_id") or "none")),
        (
            "Source",
            {
                "demo": "demo data from the bundled mock Crossref API (fictitious members)",
                "api": "Crossref REST API",
                "bulk": "Crossref public data file (bulk ingest)",
            }.get(str(f.get("source")), str(f.get("source") or "—")),
        ),
        ("Snapshot created", str(f.get("created") or "—")),
        ("Crossref data as of", badges.data_as_of_text().removeprefix("Crossref data ")),
        ("Members in snapshot", f"{int(f.get('members') or 0):,}"),
        (
            "API",
            # a demo's mock ran on a loopback port only while the snapshot was built
            "the bundled mock Crossref API (started on 127.0.0.1 only while building demo data)"
            if f.get("is_demo")
            else str(f.get("api_url") or "—"),
        ),
    ]
    # the page header already says "Methodology": drop a leading H1 of the generated text
    text = re.sub(r"\A\s*# [^\n]*\n", "", text)
    return html.Div(
        [
            ui.page_header("Methodology"),
            ui.section(
                "Data sources and freshness",
                dmc.Table(
                    [
                        dmc.TableTbody(
                            [
                                dmc.TableTr([dmc.TableTd(k, fw=600), dmc.TableTd(v)])
                                for k, v in sources
                            ]
                        )
                    ],
                    striped=True,
                    withTableBorder=True,
                    id=f"{P}-sources",
                ),
                dmc.Text(
                    "Member coverage comes from Crossref's member summaries (GET /members, "
                    "coverage-type per period and content type), which Crossref recomputes daily. "
                    "Metrics without a summary key come from /works filter counts or samples.",
                    size="sm",
                    c="dimmed",
                    mt="sm",
                ),
            ),
            dmc.Card(
                dcc.Markdown(
                    text,
                    dangerously_allow_html=False,
                    link_target="_blank",
                    className="methodology-markdown",
                    id=f"{P}-markdown",
                ),
                mb="md",
            ),
        ]
    )
