"""Funders: which members carry funder IDs and award numbers, and how big the gap is; and per
funder, which publishers drop its award numbers and funder IDs.

The per-funder report is found by name, Funder Registry DOI or ROR ID and runs as a Dash
background callback (`cache.jobs.funder_report.run`, six facet requests, cached 24 h) with
progress and cancel, like the member drill-down; on demo data it asks the demo's own mock API.

URL: /funders?type=journal-article&period=current&funder=<key of a drilldown/funder-*.json file>
"""

from __future__ import annotations

import logging

import dash
import dash_mantine_components as dmc
import pandas as pd
import plotly.graph_objects as go
from dash import Input, Output, State, callback, dcc, html, no_update

from cache import facade
from cache.jobs import funder_report as funder_job
from pages.components import figures, grid, jobs, params, ui
from pages.components import theme as th

logger = logging.getLogger(__name__)
HIDDEN = {"display": "none"}
SHOWN_BLOCK = {"display": "block"}
SHOWN_INLINE = {"display": "inline-block"}

dash.register_page(
    __name__,
    path="/funders",
    name="Funders",
    title="Funders · Crossref metadata completeness",
    order=2,
)

P = "funders"
DEFAULTS = {"type": facade.DEFAULT_TYPE, "period": facade.DEFAULT_PERIOD, "funder": ""}
TOP = 25


def parse(kwargs: dict) -> dict:
    have = facade.has_snapshot()
    keys = [d["key"] for d in facade.funder_reports()] if have else []
    return {
        "type": facade.valid_type(params.first(kwargs.get("type"))) if have else DEFAULTS["type"],
        "period": facade.valid_period(params.first(kwargs.get("period"))),
        "funder": params.choice(kwargs.get("funder"), keys, keys[0] if keys else ""),
    }


def layout(type=None, period=None, funder=None, **kwargs):
    if not facade.has_snapshot():
        return html.Div([ui.page_header("Funders"), ui.no_snapshot()])
    state = parse({"type": type, "period": period, "funder": funder})
    return html.Div(
        [
            dcc.Location(id=f"{P}-location", refresh=False),
            ui.page_header(
                "Funding metadata",
                "Which members deposit funder IDs and award numbers, and how many works "
                "lack funder information.",
            ),
            dmc.Card(
                dmc.Group(
                    [
                        ui.type_select(f"{P}-type", state["type"]),
                        ui.period_control(f"{P}-period", state["period"]),
                    ],
                    align="flex-end",
                    gap="lg",
                    wrap="wrap",
                ),
                mb="md",
            ),
            html.Div(id=f"{P}-headline"),
            ui.section(
                "Per funder: which publishers drop its award numbers and funder IDs",
                funder_section(state["funder"]),
                sid=f"{P}-per-funder",
            ),
            ui.graph(f"{P}-gap-chart"),
            ui.section(
                "Members ranked by funding metadata",
                *ui.table_block(P),
                description="Members with works of this type and period, ranked by works lacking "
                "funder information. Percentages are shares of each member's works.",
            ),
        ]
    )


def funder_options() -> list[dict]:
    """Saved per-funder reports as select options: "Name (10.13039/100000001)" — the funder's
    real id, never the file key."""
    out = []
    for f in facade.funder_reports():
        d = facade.funder_report(f["key"])
        fid = str((d or {}).get("facts", {}).get("id") or "")
        name = (d or {}).get("name") or fid or f["key"]
        out.append({"value": f["key"], "label": f"{name} ({fid})" if fid and fid != name else name})
    return out


def funder_section(selected: str):
    options = funder_options()
    notice = dmc.Alert(
        [
            html.Span(
                "No per-funder report yet: search for a funder above and run its report (which "
                "publishers deposit this funder's IDs and award numbers). "
            ),
            html.Code("python -m cache funder <id or name>"),
            html.Span(" does the same from the command line."),
        ],
        color="blue",
        id=f"{P}-no-drilldown",
        style=HIDDEN if options else None,
    )
    return html.Div(
        [
            dmc.Group(
                [
                    dmc.TextInput(
                        id=f"{P}-query",
                        label="Funder name, Funder Registry DOI or ROR ID",
                        placeholder="e.g. National Science Foundation, 10.13039/100000001",
                        w=420,
                    ),
                    dmc.Button("Run funder report", id=f"{P}-run"),
                    dmc.Button(
                        "Cancel", id=f"{P}-cancel", variant="outline", color="red", style=HIDDEN
                    ),
                ],
                align="flex-end",
                gap="sm",
                wrap="wrap",
                mb="xs",
            ),
            dmc.Text(
                "Six facet requests to Crossref per funder (cached for 24 hours); the report is "
                "saved and listed below.",
                size="xs",
                c="dimmed",
                mb="xs",
            ),
            html.Div(
                [
                    dmc.Progress(id=f"{P}-progress", value=0, size="lg", animated=True),
                    dmc.Text(id=f"{P}-progress-label", size="xs", c="dimmed", mt=4),
                ],
                id=f"{P}-progress-box",
                style=HIDDEN,
            ),
            html.Div(id=f"{P}-job-error"),
            dcc.Store(id=f"{P}-job-version"),
            notice,
            html.Div(
                [
                    dmc.Select(
                        id=f"{P}-funder",
                        label="Saved funder reports",
                        value=(selected or options[0]["value"]) if options else None,
                        w=420,
                        data=options,
                        searchable=True,
                        allowDeselect=False,
                        comboboxProps={"zIndex": 400},
                    ),
                    html.Div(id=f"{P}-funder-detail", style={"marginTop": "12px"}),
                    dmc.Group(
                        ui.export_button(f"{P}-funder-export", "Export this funder's table (CSV)"),
                        justify="flex-end",
                        mt="xs",
                    ),
                    ui.download(f"{P}-funder-download"),
                ],
                id=f"{P}-funder-box",
                style=None if options else HIDDEN,
            ),
        ]
    )


@callback(
    Output(f"{P}-job-version", "data"),
    Output(f"{P}-job-error", "children"),
    Input(f"{P}-run", "n_clicks"),
    State(f"{P}-query", "value"),
    background=True,
    progress=[Output(f"{P}-progress", "value"), Output(f"{P}-progress-label", "children")],
    progress_default=[0, "Starting…"],
    running=[
        (Output(f"{P}-run", "disabled"), True, False),
        (Output(f"{P}-run", "loading"), True, False),
        (Output(f"{P}-cancel", "style"), SHOWN_INLINE, HIDDEN),
        (Output(f"{P}-progress-box", "style"), SHOWN_BLOCK, HIDDEN),
    ],
    cancel=[Input(f"{P}-cancel", "n_clicks")],
    interval=500,
    prevent_initial_call=True,
)
@jobs.shared(
    key=lambda n_clicks, query=None, *_: (
        "funder:" + (query.strip().lower()[:200] if isinstance(query, str) else "")
    ),
    queued=lambda position, running: (
        0,
        f"Waiting for a free slot: position {position} in the queue "
        f"({running} job{'s' if running != 1 else ''} running).",
    ),
    unavailable=lambda reason: (
        no_update,
        dmc.Alert(
            "Too many reports are waiting; try again in a few minutes."
            if reason == "busy"
            else "The report's worker stopped twice. Requests already answered are cached for "
            "24 hours, so trying again resumes where it stopped.",
            title="The funder report could not be built",
            color="red",
            id=f"{P}-job-failed",
        ),
    ),
)
def run_funder_report(set_progress, n_clicks, query):
    """Runs in a background process: resolve the funder and facet its works by publisher
    (`cache.jobs.funder_report.run`), saved to disk. Returns the saved report's file key (small
    and picklable) and an optional alert; `show_funder_report` lists and shows it."""
    text = query.strip()[:300] if isinstance(query, str) else ""
    if not n_clicks:
        return no_update, no_update
    if not text:
        return no_update, dmc.Alert(
            "Type a funder name, a Funder Registry DOI (10.13039/…) or a ROR ID first.",
            color="yellow",
            id=f"{P}-job-failed",
        )
    set_progress((15, f"Finding the funder “{text}” and counting its works by publisher…"))
    try:
        report, _ = funder_job.run(facade.settings(), text)
    except funder_job.FunderNotFound as exc:
        return no_update, dmc.Alert(str(exc), color="yellow", id=f"{P}-job-failed")
    except Exception as exc:  # shown to the user with Crossref's own message
        logger.exception("funder report for %r failed", text)
        return no_update, dmc.Alert(
            f"{type(exc).__name__}: {exc}",
            title="The funder report could not be built",
            color="red",
            id=f"{P}-job-failed",
        )
    set_progress((100, "Done"))
    from cache.store.funder_reports import file_key

    return file_key(report["id"]), None


@callback(
    Output(f"{P}-funder", "data"),
    Output(f"{P}-funder", "value"),
    Output(f"{P}-funder-box", "style"),
    Output(f"{P}-no-drilldown", "style"),
    Input(f"{P}-job-version", "data"),
    prevent_initial_call=True,
)
def show_funder_report(key):
    """After a report finished: list it among the saved ones and show it."""
    options = funder_options()
    if not isinstance(key, str) or key not in {o["value"] for o in options}:
        return no_update, no_update, no_update, no_update
    return options, key, None, HIDDEN


@callback(
    Output(f"{P}-location", "search"),
    Output(f"{P}-headline", "children"),
    Output(f"{P}-gap-chart", "figure"),
    Output(f"{P}-table", "children"),
    Output(f"{P}-count", "children"),
    Input(f"{P}-type", "value"),
    Input(f"{P}-period", "value"),
    Input(f"{P}-funder", "value"),
)
def update(type_, period, funder):
    s = parse({"type": type_, "period": period, "funder": funder})
    q = params.query(
        {
            "type": s["type"],
            "period": s["period"],
            "funder": funder if funder == s["funder"] else "",
        },
        {**DEFAULTS, "funder": (facade.funder_reports() or [{"key": ""}])[0]["key"]},
    )
    if not facade.has_snapshot():
        return q, None, figures.empty("No data"), None, ""
    summ = facade.funders_summary(s["type"], s["period"])
    return (
        q,
        headline(s, summ),
        gap_figure(s, summ),
        ranked_table(summ),
        f"{len(summ['table']):,} members",
    )


def headline(s: dict, summ: dict):
    v = facade.view(s["type"], s["period"])
    cards = []
    for k in summ["metrics"][:4]:
        dw = v.agg.at[k, "doi_weighted"] if k in v.agg.index else None
        zero = summ["share_zero"].get(k)
        cards.append(
            ui.stat(
                facade.metric_label(k),
                facade.pct(dw),
                f"DOI-weighted · {facade.pct(zero, 0)} of members at 0 %",
            )
        )
    gap = summ["gap_works"]
    cards.append(
        ui.stat(
            "Works without funder info",
            f"{gap:,}",
            f"{facade.pct(gap / summ['works'] if summ['works'] else None)} of "
            f"{summ['works']:,} works",
        )
    )
    return dmc.SimpleGrid(cards, cols={"base": 2, "md": min(5, len(cards))}, spacing="md", mb="md")


def gap_figure(s: dict, summ: dict) -> go.Figure:
    t = summ["table"].sort_values("without_funder", ascending=False).head(TOP)
    t = t[t["without_funder"] > 0]
    if t.empty:
        return figures.empty(
            "No works lacking funder information for this type and period.",
            "Works without funder information",
        )
    names = [
        figures.esc((n if len(n) <= 42 else n[:40] + "…") + f" ({i})")
        for n, i in zip(t["name"], t["member_id"], strict=True)
    ]
    fig = go.Figure()
    fig.add_bar(
        y=names,
        x=t["without_funder"],
        orientation="h",
        name="Works without funder info",
        marker_color=th.MEMBER_MEDIAN,
        hovertemplate="%{y}: %{x:,} works without<extra></extra>",
    )
    fig.add_bar(
        y=names,
        x=t["with_funder"],
        orientation="h",
        name="Works with funder info",
        marker_color=th.DOI_WEIGHTED,
        hovertemplate="%{y}: %{x:,} works with<extra></extra>",
    )
    fig.update_layout(
        template=figures.TEMPLATE,
        barmode="stack",
        height=max(420, 26 * len(t) + 160),
        title=figures.title(
            f"Top {len(t)} members by works lacking funder information — "
            f"{facade.type_label(s['type'])}, {s['period']}",
            "counts of works (the gap sized, not a percentage)",
        ),
        xaxis={"title": {"text": "Works (count)"}, "tickformat": ","},
        yaxis={"autorange": "reversed", "title": {"text": "Member"}},
    )
    return figures.legend_below(fig, 100)


def ranked_table(summ: dict):
    t = summ["table"].sort_values("without_funder", ascending=False).head(500)
    df = grid.pct_records(t, summ["metrics"])
    cols = [
        grid.member_column(width=240),
        {"field": "country", "headerName": "Country", "width": 116},
        {"field": "size_tier", "headerName": "Size tier", "width": 110},
        {
            "field": "works",
            "headerName": "Works",
            "valueFormatter": grid.INT_FORMAT,
            "type": "numericColumn",
            "width": 110,
        },
        {
            "field": "without_funder",
            "headerName": "Works without funder info",
            "valueFormatter": grid.INT_FORMAT,
            "type": "numericColumn",
            "width": 150,
            "sort": "desc",
        },
        *grid.metric_columns(summ["metrics"], filter_=False),
    ]
    return html.Div(
        [
            grid.static_grid(f"{P}-grid", df, cols, height="460px"),
            dmc.Text(
                "Showing the 500 members with the largest gap; the CSV export has every member.",
                size="xs",
                c="dimmed",
                mt=4,
            )
            if len(summ["table"]) > 500
            else None,
        ]
    )


@callback(
    Output(f"{P}-download", "data"),
    Input(f"{P}-export", "n_clicks"),
    State(f"{P}-type", "value"),
    State(f"{P}-period", "value"),
    prevent_initial_call=True,
)
def export_csv(n, type_, period):
    if not n or not facade.has_snapshot():
        return no_update
    s = parse({"type": type_, "period": period})
    summ = facade.funders_summary(s["type"], s["period"])
    t = summ["table"].sort_values("without_funder", ascending=False).copy()
    for k in summ["metrics"]:
        t[k] = (t[k].astype(float) * 100).round(2)
    t = t.rename(columns={k: f"{facade.metric_label(k)} (%)" for k in summ["metrics"]})
    return {
        "content": facade.to_csv(t),
        "filename": f"crossref-funding-{s['type']}-{s['period']}.csv",
        "type": "text/csv",
    }


def publisher_table(d: dict, period: str) -> pd.DataFrame:
    """A funder report's per-publisher rows for the page's period (``all`` sums current and
    backfile): publisher, member_id (the member whose name matches the publisher's, else None),
    works, without_award, award_share (0–100), not_publisher_asserted, publisher_asserted_share
    (0–100); sorted by works without award numbers, then without the publisher's funder ID."""
    t = d["table"]
    if period != "all":
        t = t[t["period"] == period]
    g = t.groupby("publisher", as_index=False)[["works", "with_award", "publisher_asserted"]].sum()
    g["without_award"] = (g["works"] - g["with_award"]).clip(lower=0).astype("int64")
    g["not_publisher_asserted"] = (g["works"] - g["publisher_asserted"]).clip(lower=0)
    g["not_publisher_asserted"] = g["not_publisher_asserted"].astype("int64")
    works = g["works"].where(g["works"] > 0)
    g["award_share"] = (100 * g["with_award"] / works).round(1)
    g["publisher_asserted_share"] = (100 * g["publisher_asserted"] / works).round(1)
    # a report can be saved (`python -m cache funder`) before any snapshot: then no links
    m = facade.members() if facade.has_snapshot() else None
    by_name = (
        m.assign(_n=m["name"].str.strip().str.lower())
        .sort_values("total_dois", ascending=False)
        .drop_duplicates("_n")
        .set_index("_n")["member_id"]
        if m is not None
        else {}
    )
    ids = g["publisher"].str.strip().str.lower().map(by_name)
    g["member_id"] = [int(i) if i == i and i is not None else None for i in ids]
    g = g.sort_values(
        ["without_award", "not_publisher_asserted", "works"], ascending=[False, False, False]
    )
    return g[
        [
            "publisher",
            "member_id",
            "works",
            "without_award",
            "award_share",
            "not_publisher_asserted",
            "publisher_asserted_share",
        ]
    ].reset_index(drop=True)


PUBLISHER_HEADERS = {
    "publisher": "Publisher",
    "member_id": "Member id",
    "works": "Works citing the funder",
    "without_award": "Works without award number",
    "award_share": "With award number (%)",
    "not_publisher_asserted": "Works where the publisher did not deposit the funder ID",
    "publisher_asserted_share": "Funder ID deposited by the publisher (%)",
}


def funder_facts(d: dict) -> list:
    """Readable facts of a report: the funder's id (as text on demo data), when it was built,
    what the periods cover. No internal keys."""
    f = d["facts"]
    fid = str(f.get("id") or "")
    demo = facade.freshness()["is_demo"]
    kind = "ROR ID" if f.get("kind") == "ror" else "Funder Registry ID"
    year = f.get("current_year")
    built = str(f.get("created") or "").replace("T", " ")[:16]
    ident = (
        dmc.Text([f"{kind}: ", html.Code(fid), " (fictitious: demo data)"], size="sm")
        if demo or not fid
        else dmc.Text(
            [
                f"{kind}: ",
                dmc.Anchor(
                    fid,
                    href=fid if fid.startswith("https://") else f"https://doi.org/{fid}",
                    target="_blank",
                ),
            ],
            size="sm",
        )
    )
    lines = [ident, dmc.Text(f"Report built {built} UTC from Crossref's facets.", size="sm")]
    if year:
        lines.append(
            dmc.Text(
                f"Current = works published {int(year) - 2}–{int(year)}; backfile = older.",
                size="sm",
                c="dimmed",
            )
        )
    if f.get("kind") == "ror":
        lines.append(
            dmc.Text(
                "Works found by ROR ID include those where the ROR ID is an author affiliation, "
                "not only a funder.",
                size="sm",
                c="dimmed",
            )
        )
    return lines


@callback(
    Output(f"{P}-funder-detail", "children"),
    Input(f"{P}-funder", "value"),
    Input(f"{P}-period", "value"),
)
def funder_detail(key, period):
    if not key:
        return None
    d = facade.funder_report(key)
    if d is None:
        return dmc.Text("This per-funder report could not be read.", size="sm", c="dimmed")
    per = facade.valid_period(period)
    facts = funder_facts(d)
    table = publisher_table(d, per)
    if table.empty:
        return html.Div(
            [
                dmc.Title(d["name"], order=5, mb=4),
                *facts,
                dmc.Text(
                    f"No works of this funder were found in the "
                    f"{facade.PERIOD_LABELS[per].lower()} period.",
                    size="sm",
                    c="dimmed",
                ),
            ]
        )
    cols = [
        grid.member_column("publisher", "Publisher", width=240, filter_=True, wrap=True),
        {
            "field": "works",
            "headerName": PUBLISHER_HEADERS["works"],
            "valueFormatter": grid.INT_FORMAT,
            "type": "numericColumn",
            "width": 130,
        },
        {
            "field": "without_award",
            "headerName": PUBLISHER_HEADERS["without_award"],
            "valueFormatter": grid.INT_FORMAT,
            "type": "numericColumn",
            "width": 150,
            "sort": "desc",
        },
        {
            "field": "award_share",
            "headerName": PUBLISHER_HEADERS["award_share"],
            "valueFormatter": grid.PCT_FORMAT,
            "type": "numericColumn",
            "width": 140,
        },
        {
            "field": "not_publisher_asserted",
            "headerName": PUBLISHER_HEADERS["not_publisher_asserted"],
            "valueFormatter": grid.INT_FORMAT,
            "type": "numericColumn",
            "width": 190,
        },
        {
            "field": "publisher_asserted_share",
            "headerName": PUBLISHER_HEADERS["publisher_asserted_share"],
            "valueFormatter": grid.PCT_FORMAT,
            "type": "numericColumn",
            "width": 170,
        },
    ]
    matched = int(table["member_id"].notna().sum())
    return html.Div(
        [
            dmc.Title(d["name"], order=5, mb=4),
            *facts,
            dcc.Graph(figure=funder_figure(d), config=figures.GRAPH_CONFIG),
            dmc.Text(
                f"{len(table):,} publishers, {facade.PERIOD_LABELS[per].lower()}; "
                f"{matched:,} linked to their member page (same name). Sorted by works "
                "without award number; the CSV has every row.",
                size="sm",
                c="dimmed",
                id=f"{P}-funder-count",
                mb="xs",
            ),
            grid.static_grid(f"{P}-funder-grid", table.head(2000), cols, height="420px"),
        ]
    )


@callback(
    Output(f"{P}-funder-download", "data"),
    Input(f"{P}-funder-export", "n_clicks"),
    State(f"{P}-funder", "value"),
    State(f"{P}-period", "value"),
    prevent_initial_call=True,
)
def export_funder_csv(n, key, period):
    """The per-publisher table of one funder as CSV (readable headers, counts as integers)."""
    d = facade.funder_report(key) if n and isinstance(key, str) else None
    if d is None:
        return no_update
    per = facade.valid_period(period)
    t = publisher_table(d, per)
    t["member_id"] = t["member_id"].astype("Int64")
    t.insert(0, "funder", d["name"])
    t.insert(1, "funder_id", str(d["facts"].get("id") or ""))
    t.insert(2, "period", per)
    t = t.rename(columns=PUBLISHER_HEADERS)
    name = "".join(ch if ch.isalnum() else "-" for ch in str(d["facts"].get("id") or key))
    return {
        "content": facade.to_csv(t),
        "filename": f"crossref-funder-{name.strip('-')}-{per}.csv",
        "type": "text/csv",
    }


def funder_figure(d: dict) -> go.Figure:
    """Top publishers of a funder's current works: share with award numbers / own funder IDs."""
    t = d["table"]
    t = t[t["period"] == "current"].nlargest(TOP, "works")
    if t.empty:
        return figures.empty("This funder has no current works.", d["name"])
    names = [
        figures.esc(n if len(n) <= 30 else n[:28] + "…") + f" ({w:,})"
        for n, w in zip(t["publisher"], t["works"], strict=True)
    ]
    fig = go.Figure()
    fig.add_bar(
        y=names,
        x=t["award_share"] * 100,
        orientation="h",
        name="With award numbers",
        marker_color=th.DOI_WEIGHTED,
        hovertemplate="%{y}: %{x:.1f} %<extra></extra>",
    )
    fig.add_bar(
        y=names,
        x=t["publisher_asserted_share"] * 100,
        orientation="h",
        name="Funder ID deposited by the publisher",
        marker_color=th.MEMBER_MEDIAN,
        hovertemplate="%{y}: %{x:.1f} %<extra></extra>",
    )
    fig.update_layout(
        template=figures.TEMPLATE,
        barmode="group",
        height=max(360, 40 * len(t) + 160),
        title=figures.title(
            f"{d['name']}: its current works by publisher (top {len(t)})",
            "share of each publisher's works citing this funder; "
            "the rest of the funder IDs were matched by Crossref",
        ),
        yaxis={"autorange": "reversed", "title": {"text": "Publisher (works)"}},
    )
    figures.pct_axis(fig, "x", "Share of the publisher's works (%)")
    return figures.legend_below(fig, 100)
