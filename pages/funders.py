"""Funders: which members carry funder IDs and award numbers, and how big the gap is.

URL: /funders?type=journal-article&period=current&funder=<key of a drilldown/funder-*.json file>
"""

from __future__ import annotations

import dash
import dash_mantine_components as dmc
import pandas as pd
import plotly.graph_objects as go
from dash import Input, Output, State, callback, dcc, html, no_update

from cache import facade
from pages.components import figures, grid, params, ui
from pages.components import theme as th

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
            ui.graph(f"{P}-gap-chart"),
            ui.section(
                "Members ranked by funding metadata",
                *ui.table_block(P),
                description="Members with works of this type and period, ranked by works lacking "
                "funder information. Percentages are shares of each member's works.",
            ),
            ui.section("Per funder", funder_section(state["funder"]), sid=f"{P}-per-funder"),
        ]
    )


def funder_section(selected: str):
    files = facade.funder_reports()
    notice = None
    if not files:
        notice = dmc.Alert(
            [
                html.Span("No per-funder data loaded yet. Run "),
                html.Code("python -m cache funder <id or name>"),
                html.Span(
                    " to load per-funder data (which publishers deposit this funder's IDs and "
                    "award numbers); it appears here."
                ),
            ],
            color="blue",
            id=f"{P}-no-drilldown",
        )
    return html.Div(
        [
            notice,
            html.Div(
                [
                    dmc.Select(
                        id=f"{P}-funder",
                        label="Funder",
                        value=(selected or files[0]["key"]) if files else None,
                        w=420,
                        data=[{"value": f["key"], "label": f["label"]} for f in files],
                        searchable=True,
                        allowDeselect=False,
                        comboboxProps={"zIndex": 400},
                    ),
                    html.Div(id=f"{P}-funder-detail", style={"marginTop": "12px"}),
                ],
                style=None if files else {"display": "none"},
            ),
        ]
    )


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


@callback(
    Output(f"{P}-funder-detail", "children"),
    Input(f"{P}-funder", "value"),
)
def funder_detail(key):
    if not key:
        return None
    d = facade.funder_report(key)
    if d is None:
        return dmc.Text("This per-funder file could not be read.", size="sm", c="dimmed")
    facts = [dmc.Text([html.B(f"{k}: "), str(v)], size="sm") for k, v in d["facts"].items()]
    table = d["table"]
    if table.empty:
        return html.Div(
            [
                dmc.Title(d["name"], order=5, mb=4),
                *facts,
                dmc.Text("No works of this funder were found.", size="sm", c="dimmed"),
            ]
        )
    shown = table.head(2000).copy()
    cols = []
    for name in shown.columns:
        col = {"field": name, "headerName": name.replace("_", " ")}
        if name.endswith("_share"):
            shown[name] = (shown[name].astype(float) * 100).round(1)
            col.update(valueFormatter=grid.PCT_FORMAT, type="numericColumn")
        elif pd.api.types.is_integer_dtype(shown[name]):
            col.update(valueFormatter=grid.INT_FORMAT, type="numericColumn")
        cols.append(col)
    return html.Div(
        [
            dmc.Title(d["name"], order=5, mb=4),
            *facts,
            dcc.Graph(figure=funder_figure(d), config=figures.GRAPH_CONFIG),
            grid.static_grid(f"{P}-funder-grid", shown, cols, height="380px"),
        ]
    )


def funder_figure(d: dict) -> go.Figure:
    """Top publishers of a funder's current works: share with award numbers / own funder IDs."""
    t = d["table"]
    t = t[t["period"] == "current"].nlargest(TOP, "works")
    if t.empty:
        return figures.empty("This funder has no current works.", d["name"])
    names = [
        figures.esc(n if len(n) <= 42 else n[:40] + "…") + f" ({w:,})"
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
