"""Member report: coverage per metric with counts, peer position, works per year, change since the
previous snapshot, and why each element matters.

URL: /member/<member_id>?type=journal-article&period=current&peers=size
"""

from __future__ import annotations

import dash
import dash_mantine_components as dmc
import numpy as np
import plotly.graph_objects as go
from dash import Input, Output, State, callback, dcc, html, no_update

from cache import facade
from pages.components import figures, grid, help, params, ui
from pages.components import theme as th


def _title(member_id=None, **_):
    mid = facade.parse_member_id(member_id)
    if mid is not None and facade.has_snapshot() and mid in facade.members().index:
        return f"{facade.member_name(mid)} · Member report"
    return "Member report"


dash.register_page(__name__, path_template="/member/<member_id>", name="Member report", title=_title,
                   order=10)

P = "member"
DEFAULTS = {"type": facade.DEFAULT_TYPE, "period": facade.DEFAULT_PERIOD, "peers": "size"}


def parse(kwargs: dict) -> dict:
    have = facade.has_snapshot()
    return {
        "type": facade.valid_type(params.first(kwargs.get("type"))) if have else DEFAULTS["type"],
        "period": facade.valid_period(params.first(kwargs.get("period"))),
        "peers": params.choice(kwargs.get("peers"), facade.PEER_GROUPINGS, "size"),
    }


def layout(member_id=None, type=None, period=None, peers=None, **kwargs):
    if not facade.has_snapshot():
        return html.Div([ui.page_header("Member report"), ui.no_snapshot()])
    if member_id is None:  # only Dash's validation layout calls this without a path segment
        first = facade.members().index[:1].tolist()
        return html.Div([report(first[0], parse({})) if first else None, not_found(None)])
    info = facade.member(params.first(member_id))
    if info is None:
        return not_found(member_id)
    return report(int(info["member_id"]), parse({"type": type, "period": period, "peers": peers}))


def report(mid: int, state: dict) -> html.Div:
    info = facade.member(mid) or {}
    state = {**state, "member_id": int(mid)}
    facts = [
        ("Member ID", str(mid)),
        ("Country", f"{info.get('country_name') or '—'}" + (f" ({info['country']})" if info.get("country") else "")),
        ("GEM country", "yes" if info.get("gem") else "no"),
        ("Size tier", str(info.get("size_tier") or "—")),
        ("Registered works", f"{int(info.get('total_dois') or 0):,}"),
        ("Current / backfile", f"{int(info.get('current_dois') or 0):,} / {int(info.get('backfile_dois') or 0):,}"),
    ]
    prefixes = str(info.get("prefixes") or "")
    return html.Div(
        [
            dcc.Location(id=f"{P}-location", refresh=False),
            dcc.Store(id=f"{P}-state", data=state),
            ui.page_header(
                str(info.get("name") or mid),
                None,
                dmc.Group(
                    [
                        dmc.Anchor("Compare with other members →", href=f"/compare?members={mid}", size="sm"),
                        dmc.Anchor("Crossref REST API record ↗", href=f"https://api.crossref.org/members/{mid}",
                                   target="_blank", size="sm"),
                    ],
                    gap="lg", mt=4,
                ),
            ),
            dmc.SimpleGrid([ui.stat(k, v) for k, v in facts], cols={"base": 2, "sm": 3, "lg": 6},
                           spacing="sm", mb="md", id=f"{P}-facts"),
            dmc.Text(f"Prefixes: {prefixes}", size="xs", c="dimmed", mb="sm") if prefixes else None,
            dmc.Card(
                dmc.Group(
                    [
                        ui.type_select(f"{P}-type", state["type"]),
                        ui.period_control(f"{P}-period", state["period"]),
                        dmc.Select(id=f"{P}-peers", label="Peer group", value=state["peers"], w=200,
                                   data=[{"value": k, "label": v} for k, v in facade.PEER_GROUPINGS.items()],
                                   allowDeselect=False),
                    ],
                    align="flex-end", gap="lg", wrap="wrap",
                ),
                mb="md",
            ),
            html.Div(id=f"{P}-empty-note"),
            dmc.SimpleGrid([ui.graph(f"{P}-coverage"), ui.graph(f"{P}-peers-chart")],
                           cols={"base": 1, "lg": 2}, spacing="md", mb="md"),
            ui.section("Peer position", html.Div(id=f"{P}-peer-table"), sid=f"{P}-peer-section",
                       description="Percentile = share of members in the same peer group (with works of "
                                   "this type and period) whose coverage is at or below this member's."),
            dmc.SimpleGrid(
                [ui.graph(f"{P}-years"),
                 ui.section("Change since the previous snapshot", html.Div(id=f"{P}-change"))],
                cols={"base": 1, "lg": 2}, spacing="md", mb="md",
            ),
            ui.section("Why each element matters and how to improve it", html.Div(id=f"{P}-help")),
            ui.section(
                "Work-level detail",
                html.Div(
                    dmc.Text("Work-level detail is not loaded for this member. (Per-DOI gap lists and "
                             "coverage by publication year appear here when available.)",
                             size="sm", c="dimmed"),
                    id="member-worklevel",
                    className="member-worklevel",
                ),
            ),
        ]
    )


def not_found(member_id) -> html.Div:
    shown = params.text(params.first(member_id), 40) if member_id is not None else ""
    return html.Div(
        [
            ui.page_header("Member not found"),
            dmc.Alert(
                [html.Span("There is no member with the id "), html.Code(shown or "(none)"),
                 html.Span(" in the current snapshot. Search for a member by name or id:")],
                title="Member not found", color="red", id=f"{P}-not-found", mb="md",
            ),
            dmc.Select(id=f"{P}-search", placeholder="Type a member name…", searchable=True, w=420,
                       data=[], nothingFoundMessage="No matching member", clearable=True,
                       comboboxProps={"zIndex": 400}, label="Find a member"),
        ]
    )


@callback(
    Output(f"{P}-search", "data"),
    Input(f"{P}-search", "searchValue"),
    State(f"{P}-search", "value"),
    prevent_initial_call=True,
)
def search_options(search, value):
    return facade.search_members(search, limit=20, keep=[value] if value else [])


@callback(
    Output("url", "pathname", allow_duplicate=True),
    Input(f"{P}-search", "value"),
    prevent_initial_call=True,
)
def go_to_member(value):
    mid = facade.parse_member_id(value)
    return f"/member/{mid}" if mid is not None else no_update


@callback(
    Output(f"{P}-location", "search"),
    Output(f"{P}-coverage", "figure"),
    Output(f"{P}-peers-chart", "figure"),
    Output(f"{P}-peer-table", "children"),
    Output(f"{P}-years", "figure"),
    Output(f"{P}-change", "children"),
    Output(f"{P}-help", "children"),
    Output(f"{P}-empty-note", "children"),
    Input(f"{P}-type", "value"),
    Input(f"{P}-period", "value"),
    Input(f"{P}-peers", "value"),
    State(f"{P}-state", "data"),
)
def update_report(type_, period, peers, state):
    state = dict(state or {})
    mid = facade.parse_member_id(state.get("member_id"))
    if mid is None or not facade.has_snapshot() or facade.member(mid) is None:
        return (no_update,) * 8
    s = parse({"type": type_, "period": period, "peers": peers})
    ct, per = s["type"], s["period"]
    mm = facade.member_metrics(mid, ct, per)
    pos = facade.peer_position(mid, ct, per, s["peers"])
    change = facade.change_since_previous(mid, ct, per)
    empty = None
    if mm["total"].fillna(0).max() <= 0:
        empty = dmc.Alert(f"This member has no {facade.type_label(ct).lower()} works in the "
                          f"{facade.PERIOD_LABELS[per].lower()} period: every value is N/A (—).",
                          color="gray", mb="md")
    values = {r.metric: facade.pct(r.value) for r in mm.itertuples()}
    return (
        params.query({"type": ct, "period": per, "peers": s["peers"]}, DEFAULTS),
        coverage_figure(mm, ct, per),
        peer_figure(pos, ct, per),
        peer_table(pos),
        years_figure(mid),
        change_block(change),
        help.metric_help(mm["metric"], values),
        empty,
    )


def coverage_figure(mm, ct: str, per: str) -> go.Figure:
    if mm["total"].fillna(0).max() <= 0:
        return figures.empty("No works of this type in this period (N/A).", "Coverage per metric")
    vals = (mm["value"] * 100).round(1)
    text = [
        f"{figures.na_text(v)} ({int(c):,}/{int(t):,})" if t and t > 0 and c is not None else "— (no works)"
        for v, c, t in zip(vals, mm["covered"], mm["total"], strict=True)
    ]
    inside = [bool(v >= 55) for v in vals.fillna(0)]
    fig = go.Figure(go.Bar(
        y=mm["label"], x=vals.fillna(0), orientation="h", marker_color=th.DOI_WEIGHTED, text=text,
        textposition=["inside" if i else "outside" for i in inside], insidetextanchor="end",
        insidetextfont={"color": "white"}, outsidetextfont={"color": "#212529"}, cliponaxis=False,
        customdata=np.stack([mm["covered"].fillna(0), mm["total"].fillna(0)], axis=1),
        hovertemplate="%{y}: %{x:.1f} %<br>%{customdata[0]:,} of %{customdata[1]:,} works<extra></extra>",
    ))
    fig.update_layout(
        template=figures.TEMPLATE, height=max(360, 34 * len(mm) + 140),
        title=figures.title(f"Coverage per metric — {facade.type_label(ct)}, {per}",
                            "this member's works with the element (covered/total)"),
        yaxis={"autorange": "reversed", "title": {"text": "Metric"}},
        margin={"r": 40},
    )
    return figures.pct_axis(fig, "x", "Coverage (% of this member's works)", (0, 100))


def peer_figure(pos: dict, ct: str, per: str) -> go.Figure:
    f = pos["frame"]
    f = f[f["metric"] != "__composite"]
    if f["value"].isna().all():
        return figures.empty("No works of this type in this period (N/A).", "Position among peers")
    fig = go.Figure()
    series = [("value", "This member", th.SERIES[0], "circle", 13),
              ("peer_median", f"Peer median ({pos['group']})", th.PEER, "diamond", 11),
              ("crossref_doi_weighted", "Crossref-wide, DOI-weighted", th.MEMBER_MEDIAN, "line-ns-open", 16)]
    for col, name, color, symbol, size in series:
        fig.add_scatter(x=(f[col] * 100).round(1), y=f["label"], mode="markers", name=name,
                        marker={"color": color, "symbol": symbol, "size": size, "line": {"width": 2, "color": color}},
                        hovertemplate="%{y}: %{x:.1f} %<extra>" + figures.esc(name) + "</extra>")
    fig.update_layout(
        template=figures.TEMPLATE, height=max(360, 34 * len(f) + 160),
        title=figures.title(f"Position among peers — {facade.PEER_GROUPINGS[pos['by']].lower()} "
                            f"'{figures.esc(pos['group'])}' ({pos['group_size']:,} members)",
                            "member value vs peer median (member-level) and Crossref-wide DOI-weighted"),
        yaxis={"autorange": "reversed", "title": {"text": "Metric"}},
    )
    figures.legend_below(fig, 120)
    return figures.pct_axis(fig, "x", "Coverage (%)", (0, 100))


def peer_table(pos: dict):
    f = pos["frame"].copy()
    f["percentile"] = f["percentile"].round(0)
    f = grid.pct_records(f, ["value", "peer_median", "crossref_doi_weighted", "crossref_member_median"])
    cols = [
        {"field": "label", "headerName": "Metric", "minWidth": 200, "pinned": "left"},
        {"field": "value", "headerName": "This member", "valueFormatter": grid.PCT_FORMAT, "type": "numericColumn"},
        {"field": "percentile", "headerName": f"Percentile in {pos['group']}", "type": "numericColumn",
         "valueFormatter": {"function": "params.value == null ? '—' : d3.format('.0f')(params.value)"}},
        {"field": "peer_median", "headerName": "Peer median", "valueFormatter": grid.PCT_FORMAT,
         "type": "numericColumn"},
        {"field": "crossref_doi_weighted", "headerName": "Crossref (DOI-weighted)",
         "valueFormatter": grid.PCT_FORMAT, "type": "numericColumn"},
        {"field": "crossref_member_median", "headerName": "Crossref (member median)",
         "valueFormatter": grid.PCT_FORMAT, "type": "numericColumn"},
    ]
    return grid.static_grid(f"{P}-peer-grid", f, cols, height="380px", fit=True)


def years_figure(mid: int) -> go.Figure:
    df = facade.works_by_year(mid)
    if df.empty:
        return figures.empty("No per-year counts for this member.", "Works registered per year")
    fig = go.Figure(go.Bar(x=df["year"], y=df["works"], marker_color=th.DOI_WEIGHTED,
                           hovertemplate="%{x}: %{y:,} works<extra></extra>"))
    fig.update_layout(
        template=figures.TEMPLATE, height=360,
        title=figures.title("Works registered per year", "all content types, by issued year (counts)"),
        xaxis={"title": {"text": "Issued year"}, "type": "linear", "tickformat": "d"},
        yaxis={"title": {"text": "Works (count)"}, "tickformat": ","},
    )
    return fig


def change_block(change: dict):
    if change["previous"] is None:
        return dmc.Text("No previous snapshot: change over time appears after the next refresh.",
                        size="sm", c="dimmed", id=f"{P}-no-previous")
    frame = change["frame"]
    if frame is None:
        return dmc.Text("The previous snapshot could not be read.", size="sm", c="dimmed")
    prev = change["previous"]
    f = frame.copy()
    f["change_pp"] = f["change_pp"].round(1)
    f = grid.pct_records(f, ["value", "before"])
    cols = [
        {"field": "label", "headerName": "Metric", "minWidth": 180},
        {"field": "before", "headerName": "Previous", "valueFormatter": grid.PCT_FORMAT, "type": "numericColumn"},
        {"field": "value", "headerName": "Now", "valueFormatter": grid.PCT_FORMAT, "type": "numericColumn"},
        {"field": "change_pp", "headerName": "Change", "valueFormatter": grid.PP_FORMAT, "type": "numericColumn"},
    ]
    return html.Div([
        dmc.Text(f"Compared with snapshot {prev.get('id')} ({str(prev.get('created') or '')[:10]}); "
                 "change in percentage points.", size="xs", c="dimmed", mb="xs"),
        grid.static_grid(f"{P}-change-grid", f, cols, height="300px", fit=True),
    ])
