"""Countries: coverage by member country on a map (ISO3), DOI-weighted or median, with a table.

URL: /countries?type=journal-article&period=current&metric=abstracts&how=doi_weighted|member_median
"""

from __future__ import annotations

import dash
import dash_mantine_components as dmc
import plotly.graph_objects as go
from dash import Input, Output, State, callback, dcc, html, no_update

from cache import facade
from pages.components import figures, grid, params, ui

dash.register_page(
    __name__,
    path="/countries",
    name="Countries",
    title="Countries · Crossref metadata completeness",
    order=4,
)

P = "countries"
HOW = {
    "doi_weighted": "DOI-weighted (share of all works)",
    "member_median": "Member median (typical member)",
}
DEFAULTS = {"type": facade.DEFAULT_TYPE, "period": facade.DEFAULT_PERIOD, "how": "doi_weighted"}


def _default_metric() -> str:
    keys = facade.metric_keys()
    return "abstracts" if "abstracts" in keys else (keys[0] if keys else "composite")


def parse(kwargs: dict) -> dict:
    have = facade.has_snapshot()
    return {
        "type": facade.valid_type(params.first(kwargs.get("type"))) if have else DEFAULTS["type"],
        "period": facade.valid_period(params.first(kwargs.get("period"))),
        "metric": params.choice(
            kwargs.get("metric"), [*facade.metric_keys(), "composite"], _default_metric()
        ),
        "how": params.choice(kwargs.get("how"), HOW, "doi_weighted"),
    }


def layout(type=None, period=None, metric=None, how=None, **kwargs):
    if not facade.has_snapshot():
        return html.Div([ui.page_header("Countries"), ui.no_snapshot()])
    s = parse({"type": type, "period": period, "metric": metric, "how": how})
    return html.Div(
        [
            dcc.Location(id=f"{P}-location", refresh=False),
            ui.page_header(
                "Coverage by member country",
                "Countries come from each member's registered location (ISO 3166 alpha-3). "
                "Members without a recognised country are left out.",
            ),
            dmc.Card(
                dmc.Group(
                    [
                        ui.type_select(f"{P}-type", s["type"]),
                        ui.period_control(f"{P}-period", s["period"]),
                        ui.metric_select(f"{P}-metric", s["metric"], with_composite=True),
                        ui.segmented(
                            f"{P}-how",
                            "Aggregate",
                            s["how"],
                            {"doi_weighted": "DOI-weighted", "member_median": "Member median"},
                        ),
                    ],
                    align="flex-end",
                    gap="lg",
                    wrap="wrap",
                ),
                mb="md",
            ),
            ui.graph(f"{P}-map"),
            ui.section(
                "Countries",
                *ui.table_block(P),
            ),
        ]
    )


@callback(
    Output(f"{P}-location", "search"),
    Output(f"{P}-map", "figure"),
    Output(f"{P}-table", "children"),
    Output(f"{P}-count", "children"),
    Input(f"{P}-type", "value"),
    Input(f"{P}-period", "value"),
    Input(f"{P}-metric", "value"),
    Input(f"{P}-how", "value"),
)
def update(type_, period, metric, how):
    s = parse({"type": type_, "period": period, "metric": metric, "how": how})
    q = params.query(s, {**DEFAULTS, "metric": _default_metric()})
    if not facade.has_snapshot():
        return q, figures.empty("No data"), None, ""
    df = facade.countries(s["type"], s["period"], s["metric"])
    return q, choropleth(df, s), table(df), f"{len(df):,} countries"


def _metric_label(key: str) -> str:
    return "Composite score" if key == "composite" else facade.metric_label(key)


def choropleth(df, s: dict) -> go.Figure:
    label = _metric_label(s["metric"])
    title = f"{label} by member country — {facade.type_label(s['type'])}, {s['period']}"
    if df.empty or df[s["how"]].isna().all():
        return figures.empty(
            "No members with a known country and works of this type in this period.", title
        )
    vals = (df[s["how"]] * 100).round(1)
    fig = go.Figure(
        go.Choropleth(
            locations=df["country"],
            z=vals,
            locationmode="ISO-3",
            colorscale="Viridis",
            zmin=0,
            zmax=100,
            text=[
                figures.esc(n or c) for n, c in zip(df["country_name"], df["country"], strict=True)
            ],
            customdata=df[["members", "works"]].to_numpy(),
            colorbar={"title": {"text": f"{label} (%)"}, "ticksuffix": " %"},
            marker={"line": {"color": "white", "width": 0.4}},
            hovertemplate="%{text}: %{z:.1f} %<br>"
            "%{customdata[0]:,} members, %{customdata[1]:,} works<extra></extra>",
        )
    )
    fig.update_layout(
        template=figures.TEMPLATE,
        height=520,
        title=figures.title(title, HOW[s["how"]] + "; grey = no members with works"),
        geo={
            "showframe": False,
            "showcoastlines": False,
            "scope": "world",
            "projection": {"type": "natural earth", "rotation": {"lon": 0, "lat": 0}},
            "center": {"lon": 0, "lat": 10},
            "lonaxis": {"range": [-180, 180]},
            "lataxis": {"range": [-58, 85]},
            "showland": True,
            "landcolor": "#e9ecef",
            "showcountries": True,
            "countrycolor": "white",
        },
        margin={"l": 10, "r": 10, "t": 80, "b": 10},
    )
    return fig


def table(df):
    d = df.copy()
    d["members_at_zero"] = (d["members_at_zero"] * 100).round(1)
    d = grid.pct_records(d, ["doi_weighted", "member_median"])
    cols = [
        {"field": "country_name", "headerName": "Country", "minWidth": 200, "pinned": "left"},
        {"field": "country", "headerName": "ISO3", "width": 90},
        {"field": "gem", "headerName": "GEM", "width": 80},
        {
            "field": "members",
            "headerName": "Members",
            "valueFormatter": grid.INT_FORMAT,
            "type": "numericColumn",
            "width": 110,
        },
        {
            "field": "works",
            "headerName": "Works",
            "valueFormatter": grid.INT_FORMAT,
            "type": "numericColumn",
            "width": 120,
        },
        {
            "field": "doi_weighted",
            "headerName": "DOI-weighted",
            "valueFormatter": grid.PCT_FORMAT,
            "type": "numericColumn",
            "width": 130,
        },
        {
            "field": "member_median",
            "headerName": "Member median",
            "valueFormatter": grid.PCT_FORMAT,
            "type": "numericColumn",
            "width": 130,
        },
        {
            "field": "members_at_zero",
            "headerName": "Members at 0 %",
            "valueFormatter": grid.PCT_FORMAT,
            "type": "numericColumn",
            "width": 130,
        },
    ]
    return grid.static_grid(f"{P}-grid", d, cols, height="460px", fit=True)


@callback(
    Output(f"{P}-download", "data"),
    Input(f"{P}-export", "n_clicks"),
    State(f"{P}-type", "value"),
    State(f"{P}-period", "value"),
    State(f"{P}-metric", "value"),
    prevent_initial_call=True,
)
def export_csv(n, type_, period, metric):
    if not n or not facade.has_snapshot():
        return no_update
    s = parse({"type": type_, "period": period, "metric": metric})
    d = facade.countries(s["type"], s["period"], s["metric"]).copy()
    for c in ("doi_weighted", "member_median", "members_at_zero"):
        d[c] = (d[c].astype(float) * 100).round(2)
    d = d.rename(
        columns={
            "doi_weighted": "doi_weighted (%)",
            "member_median": "member_median (%)",
            "members_at_zero": "members_at_zero (%)",
        }
    )
    d.insert(0, "metric", s["metric"])
    return {
        "content": facade.to_csv(d),
        "filename": f"crossref-countries-{s['metric']}-{s['type']}-{s['period']}.csv",
        "type": "text/csv",
    }
