"""Compare 2–8 members per metric, against the Crossref-wide DOI-weighted value and member median.

URL: /compare?members=78,311,1968&type=journal-article&period=current&chart=bars|heatmap
     &peers=size|<other key of facade.PEER_GROUPINGS>
"""

from __future__ import annotations

import dash
import dash_mantine_components as dmc
import plotly.graph_objects as go
from dash import Input, Output, State, callback, dcc, html, no_update

from cache import facade
from pages.components import figures, grid, params, search, ui
from pages.components import theme as th

dash.register_page(
    __name__,
    path="/compare",
    name="Compare",
    title="Compare members · Crossref metadata completeness",
    order=1,
)

P = "compare"
MAX_MEMBERS = 8
MIN_PEERS = 10  # a smaller peer group is flagged wherever its median is shown
DEFAULTS = {
    "type": facade.DEFAULT_TYPE,
    "period": facade.DEFAULT_PERIOD,
    "chart": "bars",
    "peers": "size",
}
CHARTS = ("bars", "heatmap")


def parse(kwargs: dict) -> dict:
    have = facade.has_snapshot()
    ids = params.ids(kwargs.get("members"), limit=MAX_MEMBERS)
    if have:
        known = facade.members().index
        ids = [i for i in ids if i in known]
    return {
        "members": ids,
        "type": facade.valid_type(params.first(kwargs.get("type"))) if have else DEFAULTS["type"],
        "period": facade.valid_period(params.first(kwargs.get("period"))),
        "chart": params.choice(kwargs.get("chart"), CHARTS, "bars"),
        "peers": params.choice(kwargs.get("peers"), facade.PEER_GROUPINGS, "size"),
    }


def layout(members=None, type=None, period=None, chart=None, peers=None, **kwargs):
    if not facade.has_snapshot():
        return html.Div([ui.page_header("Compare members"), ui.no_snapshot()])
    state = parse(
        {"members": members, "type": type, "period": period, "chart": chart, "peers": peers}
    )
    value = [str(i) for i in state["members"]]
    return html.Div(
        [
            dcc.Location(id=f"{P}-location", refresh=False),
            ui.page_header(
                "Compare members",
                "Pick 2–8 members. Bars show each member's coverage; ticks show the "
                "Crossref-wide DOI-weighted value and the median member, diamonds the median "
                "member of the first member's peer group.",
            ),
            dmc.Card(
                [
                    search.member_select(
                        f"{P}-members",
                        multi=True,
                        value=value,
                        label="Members (type a name or id; typos and word order are fine)",
                        placeholder="Search members…",
                        max_values=MAX_MEMBERS,
                        w="100%",
                        mb="sm",
                    ),
                    dmc.Group(
                        [
                            ui.type_select(f"{P}-type", state["type"]),
                            ui.period_control(f"{P}-period", state["period"]),
                            dmc.Select(
                                id=f"{P}-peers",
                                label="Peer median: the first member's peer group by",
                                value=state["peers"],
                                w=300,
                                allowDeselect=False,
                                data=[
                                    {"value": k, "label": v}
                                    for k, v in facade.PEER_GROUPINGS.items()
                                ],
                            ),
                            ui.segmented(
                                f"{P}-chart",
                                "Chart",
                                state["chart"],
                                {"bars": "Grouped bars", "heatmap": "Heatmap"},
                            ),
                        ],
                        align="flex-end",
                        gap="lg",
                        wrap="wrap",
                    ),
                ],
                mb="md",
            ),
            ui.graph(f"{P}-chart-graph"),
            ui.section(
                "Values",
                dmc.Group(ui.export_button(f"{P}-export"), justify="flex-end", mb="xs"),
                html.Div(id=f"{P}-table"),
                ui.download(f"{P}-download"),
                description="Coverage per metric (% of each "
                "member's works); — = no works of this type in this period.",
            ),
        ]
    )


# Server-side autocomplete (the one member search): a pick re-runs it with the new selection, so
# an answer computed for the previous selection can never drop the member just picked.
search.register(f"{P}-members")


def _picked(value: object) -> list[str]:
    """The select's value as member ids (text); anything malformed is dropped (≤ 100 kept)."""
    return search.picked(value) if isinstance(value, list) else []


@callback(
    Output(f"{P}-download", "data"),
    Input(f"{P}-export", "n_clicks"),
    State(f"{P}-members", "value"),
    State(f"{P}-type", "value"),
    State(f"{P}-period", "value"),
    State(f"{P}-peers", "value"),
    prevent_initial_call=True,
)
def export_csv(n, members, type_, period, peers):
    """The compared members' values as CSV: one row per member, then the Crossref-wide
    DOI-weighted value, the member median and the peer median; percent 0–100, works as integers."""
    if not n or not facade.has_snapshot():
        return no_update
    s = parse(
        {"members": ",".join(_picked(members)), "type": type_, "period": period, "peers": peers}
    )
    data = facade.compare(s["members"], s["type"], s["period"], s["peers"])
    if len(data["ids"]) == 0:
        return no_update
    return {
        "content": facade.to_csv(csv_frame(data, s)),
        "filename": f"crossref-compare-{s['type']}-{s['period']}.csv",
        "type": "text/csv",
    }


def csv_frame(data: dict, s: dict):
    """The comparison as a frame for CSV: member_id, name, works (int), composite (%), one
    "<metric> (%)" column each; reference rows after the members with an empty member_id."""
    import pandas as pd

    keys = data["metrics"]
    rows = []
    for i in data["ids"]:
        row = {
            "member_id": str(i),
            "name": data["names"][i],
            "content_type": s["type"],
            "period": s["period"],
            "works": int(data["works"].get(i, 0)),
            "composite (%)": data["composite"].get(i),
        }
        row.update({k: data["matrix"].at[i, k] for k in keys})
        rows.append(row)
    refs = [
        ("Crossref-wide (DOI-weighted)", data["doi_weighted"]),
        ("Member median (all members)", data["member_median"]),
    ]
    if data.get("peer_median") is not None:
        refs.append((_peer_label(data), data["peer_median"]))
    for name, series in refs:
        row = {"member_id": "", "name": name, "content_type": s["type"], "period": s["period"]}
        row.update({k: series.get(k) for k in keys})
        rows.append(row)
    df = pd.DataFrame(rows)
    for k in ["composite (%)", *keys]:
        if k in df.columns:
            df[k] = (df[k].astype(float) * 100).round(2)
    df["works"] = df["works"].astype("Int64")
    return df.rename(columns={k: f"{facade.metric_label(k)} (%)" for k in keys})


@callback(
    Output(f"{P}-location", "search"),
    Output(f"{P}-chart-graph", "figure"),
    Output(f"{P}-table", "children"),
    Input(f"{P}-members", "value"),
    Input(f"{P}-type", "value"),
    Input(f"{P}-period", "value"),
    Input(f"{P}-chart", "value"),
    Input(f"{P}-peers", "value"),
)
def update(members, type_, period, chart, peers="size"):
    s = parse(
        {
            "members": ",".join(_picked(members)),
            "type": type_,
            "period": period,
            "chart": chart,
            "peers": peers,
        }
    )
    search = params.query(
        {
            "members": s["members"],
            "type": s["type"],
            "period": s["period"],
            "chart": s["chart"],
            "peers": s["peers"],
        },
        DEFAULTS,
    )
    if not facade.has_snapshot():
        return search, figures.empty("No data"), None
    data = facade.compare(s["members"], s["type"], s["period"], s["peers"])
    if len(data["ids"]) == 0:
        return (
            search,
            figures.empty(
                "Pick at least one member above (2–8 to compare).", "Coverage per metric"
            ),
            None,
        )
    fig = heatmap(data, s) if s["chart"] == "heatmap" else bars(data, s)
    return search, fig, table(data)


def _label(data: dict, i: int) -> str:
    name = data["names"][i]
    short = name if len(name) <= 40 else name[:38] + "…"
    return f"{short} ({i})"


def _peer_label(data: dict) -> str:
    kind = facade.PEER_GROUPINGS.get(data["peer_by"], data["peer_by"]).lower()
    small = " — small group, few peers" if data["peer_size"] < MIN_PEERS else ""
    return f"Peer median ({kind} '{data['peer_group']}', {data['peer_size']:,} members{small})"


def bars(data: dict, s: dict) -> go.Figure:
    keys = data["metrics"]
    labels = [facade.metric_label(k) for k in keys]
    fig = go.Figure()
    for n, i in enumerate(data["ids"]):
        vals = (data["matrix"].loc[i, keys] * 100).round(1)
        fig.add_bar(
            x=labels,
            y=vals,
            name=figures.esc(_label(data, i)),
            marker_color=th.SERIES[n % 8],
            hovertemplate="%{x}: %{y:.1f} %<extra>" + figures.esc(_label(data, i)) + "</extra>",
        )
    fig.add_scatter(
        x=labels,
        y=(data["doi_weighted"].reindex(keys) * 100).round(1),
        name="Crossref-wide, DOI-weighted",
        mode="markers",
        marker={"symbol": "line-ew-open", "size": 44, "color": "#212529", "line": {"width": 3}},
        hovertemplate="%{x}: %{y:.1f} % of all works<extra>DOI-weighted</extra>",
    )
    fig.add_scatter(
        x=labels,
        y=(data["member_median"].reindex(keys) * 100).round(1),
        name="Member median (all members)",
        mode="markers",
        marker={
            "symbol": "line-ew-open",
            "size": 44,
            "color": th.MUTED,
            "line": {"width": 3, "color": th.MUTED},
        },
        hovertemplate="%{x}: %{y:.1f} %<extra>member median</extra>",
    )
    if data.get("peer_median") is not None:
        name = _peer_label(data)
        fig.add_scatter(
            x=labels,
            y=(data["peer_median"].reindex(keys) * 100).round(1),
            name=name,
            mode="markers",
            marker={
                "symbol": "diamond",
                "size": 10,
                "color": th.PEER,
                "line": {"width": 1, "color": "white"},
            },
            hovertemplate="%{x}: %{y:.1f} %<extra>" + figures.esc(name) + "</extra>",
        )
    fig.update_layout(
        template=figures.TEMPLATE,
        barmode="group",
        height=560,
        title=figures.title(
            f"Coverage per metric — {facade.type_label(s['type'])}, {s['period']}",
            "bars: each member's share of its works; ticks: Crossref-wide DOI-weighted and "
            "member median; diamonds: median of the first member's peer group",
        ),
        xaxis={"title": {"text": "Metric"}, "tickangle": -30},
        margin={"t": 80},
    )
    figures.legend_below(fig, 190)
    return figures.pct_axis(fig, "y", "Coverage (% of works)", (0, 100))


def heatmap(data: dict, s: dict) -> go.Figure:
    keys = data["metrics"]
    ylab = [_label(data, i) for i in data["ids"]] + [
        "Crossref-wide (DOI-weighted)",
        "Member median",
    ]
    z = [(data["matrix"].loc[i, keys] * 100).round(1).tolist() for i in data["ids"]]
    z.append((data["doi_weighted"].reindex(keys) * 100).round(1).tolist())
    z.append((data["member_median"].reindex(keys) * 100).round(1).tolist())
    if data.get("peer_median") is not None:
        ylab.append(_peer_label(data))
        z.append((data["peer_median"].reindex(keys) * 100).round(1).tolist())
    text = [[figures.na_text(v) for v in row] for row in z]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=[facade.metric_label(k) for k in keys],
            y=[figures.esc(y) for y in ylab],
            zmin=0,
            zmax=100,
            colorscale=[[0, "#f8f9fa"], [0.5, "#91a7ff"], [1, "#3b5bdb"]],
            text=text,
            texttemplate="%{text}",
            hoverongaps=False,
            colorbar={"title": {"text": "Coverage (%)"}, "ticksuffix": " %"},
            hovertemplate="%{y}<br>%{x}: %{text}<extra></extra>",
        )
    )
    fig.update_layout(
        template=figures.TEMPLATE,
        height=max(360, 48 * len(ylab) + 200),
        title=figures.title(
            f"Coverage per metric — {facade.type_label(s['type'])}, {s['period']}",
            "cells: % of each member's works; last rows: Crossref-wide DOI-weighted, "
            "member median, peer median (member-level)",
        ),
        xaxis={"title": {"text": "Metric"}, "tickangle": -30},
        yaxis={"title": {"text": "Member"}, "autorange": "reversed"},
        margin={"t": 80, "b": 130},
    )
    return fig


def table(data: dict):
    keys = data["metrics"]
    rows = []
    for i in data["ids"]:
        row = {
            "member_id": i,
            "name": data["names"][i],
            "works": int(data["works"].get(i, 0)),
            "composite": data["composite"].get(i),
        }
        row.update({k: data["matrix"].at[i, k] for k in keys})
        rows.append(row)
    import pandas as pd

    df = grid.pct_records(pd.DataFrame(rows), ["composite", *keys])
    cols = [
        grid.member_column(width=220, filter_=False),
        {
            "field": "works",
            "headerName": "Works",
            "valueFormatter": grid.INT_FORMAT,
            "type": "numericColumn",
            "width": 110,
        },
        grid.pct_column("composite", "Composite", filter_=False),
        *grid.metric_columns(keys, filter_=False),
    ]
    return grid.static_grid(f"{P}-grid", df, cols, height=f"{min(420, 60 + 42 * len(rows))}px")
