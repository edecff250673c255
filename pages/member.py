"""Member report: coverage per metric with counts, peer position, works per year, change since the
previous snapshot, the work-level drill-down, and why each element matters.

Snapshot values from samples show as estimates ("≈ 42 % ±10", the full interval on hover); a metric
the member has works for but the snapshot has no figure for shows "not measured", never 0 %.
The work-level section (`pages/components/drilldown.py`) shows a saved drill-down at once and runs
a new one in a Dash background callback (`app.background_callback_manager`) with a progress bar.

URL: /member/<member_id>?type=journal-article&period=current&peers=size
"""

from __future__ import annotations

import logging

import dash
import dash_mantine_components as dmc
import plotly.graph_objects as go
from dash import Input, Output, State, callback, dcc, html, no_update

from cache import facade
from cache.jobs import drilldown as drilldown_job
from metrics import scoring
from pages.components import (
    badges,
    drilldown,
    figures,
    grid,
    help,
    history,
    jobs,
    params,
    search,
    ui,
)
from pages.components import theme as th

logger = logging.getLogger(__name__)


def _title(member_id=None, **_):
    mid = facade.parse_member_id(member_id)
    if mid is not None and facade.has_snapshot() and mid in facade.members().index:
        return f"{facade.member_name(mid)} · Member report"
    return "Member report"


dash.register_page(
    __name__, path_template="/member/<member_id>", name="Member report", title=_title, order=10
)

P = "member"
DEFAULTS = {"type": facade.DEFAULT_TYPE, "period": facade.DEFAULT_PERIOD, "peers": "size"}


def main_type(mid: int) -> str:
    """The member's main content type: the snapshot's type with most of its works (`/members`
    `counts-type.all`), e.g. posted-content for a preprint server; the default type otherwise."""
    known = set(facade.content_types())
    for t, n in facade.counts_by_type(mid, "all").itertuples(index=False):
        if t in known and n > 0:
            return str(t)
    return facade.DEFAULT_TYPE if facade.DEFAULT_TYPE in known else facade.valid_type(None)


def type_options(mid: int, period: str, selected: str | None = None) -> list[dict]:
    """The content types this member has works of (any period), labelled with their counts in
    `period` ("Posted content (1,234)"), most works first; "All types" first. The `selected`
    type stays listed even when the member has none of it (labelled 0)."""
    known = facade.content_types()
    every = dict(facade.counts_by_type(mid, "all").itertuples(index=False))
    here = dict(facade.counts_by_type(mid, period).itertuples(index=False))
    types = [t for t in every if t in known and every[t] > 0]
    if selected and selected != scoring.ALL_TYPES and selected not in types and selected in known:
        types.append(selected)
    types.sort(key=lambda t: (-int(here.get(t, 0)), -int(every.get(t, 0)), t))
    total = sum(int(here.get(t, 0)) for t in types)
    out = [{"value": scoring.ALL_TYPES, "label": f"All types ({total:,})"}]
    out += [
        {"value": t, "label": f"{facade.type_label(t)} ({int(here.get(t, 0)):,})"} for t in types
    ]
    return out


def parse(kwargs: dict, mid: int | None = None) -> dict:
    have = facade.has_snapshot()
    default_type = main_type(mid) if have and mid is not None else DEFAULTS["type"]
    return {
        "type": facade.valid_type(params.first(kwargs.get("type")), default_type)
        if have
        else DEFAULTS["type"],
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
    mid = int(info["member_id"])
    return report(mid, parse({"type": type, "period": period, "peers": peers}, mid))


def report(mid: int, state: dict) -> html.Div:
    info = facade.member(mid) or {}
    state = {**state, "member_id": int(mid)}
    facts = [
        ("Member ID", str(mid)),
        (
            "Country",
            f"{info.get('country_name') or '—'}"
            + (f" ({info['country']})" if info.get("country") else ""),
        ),
        ("GEM country", "yes" if info.get("gem") else "no"),
        ("Size tier", str(info.get("size_tier") or "—")),
        ("Registered works", f"{int(info.get('total_dois') or 0):,}"),
        (
            "Current / backfile",
            f"{int(info.get('current_dois') or 0):,} / {int(info.get('backfile_dois') or 0):,}",
        ),
        ("Crossref last checked", badges.epoch_ms_date(info.get("last_status_check")) or "—"),
    ]
    demo = facade.freshness()["is_demo"]
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
                        dmc.Anchor(
                            "Compare with other members →",
                            href=compare_href(mid, state),
                            size="sm",
                            id=f"{P}-compare-link",
                        ),
                        dmc.Text(
                            "Demo data: this member is fictitious and has no Crossref record.",
                            size="sm",
                            c="dimmed",
                            id=f"{P}-record-note",
                        )
                        if demo
                        else dmc.Anchor(
                            "Crossref REST API record ↗",
                            href=f"https://api.crossref.org/members/{mid}",
                            target="_blank",
                            size="sm",
                        ),
                        search.member_select(
                            f"{P}-jump",
                            label=None,
                            placeholder="Find another member…",
                            w=280,
                            size="xs",
                        ),
                    ],
                    gap="lg",
                    mt=4,
                    wrap="wrap",
                ),
            ),
            dmc.SimpleGrid(
                [ui.stat(k, v) for k, v in facts],
                cols={"base": 2, "sm": 4, "lg": 7},
                spacing="sm",
                mb="md",
                id=f"{P}-facts",
            ),
            dmc.Text(f"Prefixes: {prefixes}", size="xs", c="dimmed", mb="sm") if prefixes else None,
            dmc.Card(
                dmc.Group(
                    [
                        dmc.Select(
                            id=f"{P}-type",
                            label="Content type (works in the period)",
                            data=type_options(mid, state["period"], state["type"]),
                            value=state["type"],
                            w=260,
                            allowDeselect=False,
                            comboboxProps={"zIndex": 400},
                        ),
                        ui.period_control(f"{P}-period", state["period"]),
                        dmc.Select(
                            id=f"{P}-peers",
                            label="Peer group",
                            value=state["peers"],
                            w=200,
                            data=[
                                {"value": k, "label": v} for k, v in facade.PEER_GROUPINGS.items()
                            ],
                            allowDeselect=False,
                        ),
                    ],
                    align="flex-end",
                    gap="lg",
                    wrap="wrap",
                ),
                mb="md",
            ),
            html.Div(id=f"{P}-empty-note"),
            dmc.SimpleGrid(
                [ui.graph(f"{P}-coverage"), ui.graph(f"{P}-peers-chart")],
                cols={"base": 1, "lg": 2},
                spacing="md",
                mb="md",
            ),
            ui.section(
                "Peer position",
                html.Div(id=f"{P}-peer-table"),
                sid=f"{P}-peer-section",
                description="Percentile = share of members in the same peer group (with works of "
                "this type and period) whose coverage is at or below this member's.",
            ),
            dmc.SimpleGrid(
                [
                    ui.graph(f"{P}-years"),
                    ui.section("Change since the previous snapshot", html.Div(id=f"{P}-change")),
                ],
                cols={"base": 1, "lg": 2},
                spacing="md",
                mb="md",
            ),
            ui.section(
                "Coverage over time",
                ui.graph(f"{P}-history"),
                sid=f"{P}-history-section",
                description="This member's coverage per metric in every published snapshot "
                "(click a metric in the legend to hide or show it).",
            ),
            drilldown.section(mid, state["type"], state["period"]),
            ui.section("Why each element matters and how to improve it", html.Div(id=f"{P}-help")),
        ]
    )


def not_found(member_id) -> html.Div:
    shown = params.text(params.first(member_id), 40) if member_id is not None else ""
    return html.Div(
        [
            ui.page_header("Member not found"),
            dmc.Alert(
                [
                    html.Span("There is no member with the id "),
                    html.Code(shown or "(none)"),
                    html.Span(" in the current snapshot. Search for a member by name or id:"),
                ],
                title="Member not found",
                color="red",
                id=f"{P}-not-found",
                mb="md",
            ),
            search.member_select(f"{P}-search", w=420),
        ]
    )


search.register(f"{P}-search")
search.register(f"{P}-jump")


def compare_href(mid: int, state: dict) -> str:
    """/compare with this member first, keeping the report's type, period and peer group."""
    q = params.query(
        {
            "members": str(mid),
            "type": state.get("type"),
            "period": state.get("period"),
            "peers": state.get("peers"),
        },
        {"period": facade.DEFAULT_PERIOD, "peers": "size"},
    )
    return f"/compare{q}"


def _state(state: object) -> dict:
    """The page's ``member-state`` store as a dict (a copy); ``{}`` when a request sent junk."""
    return dict(state) if isinstance(state, dict) else {}


@callback(
    Output("url", "pathname", allow_duplicate=True),
    Input(f"{P}-search", "value"),
    prevent_initial_call=True,
)
def go_to_member(value):
    mid = facade.parse_member_id(value)
    return f"/member/{mid}" if mid is not None else no_update


@callback(
    Output("url", "href", allow_duplicate=True),
    Input(f"{P}-jump", "value"),
    State(f"{P}-type", "value"),
    State(f"{P}-period", "value"),
    State(f"{P}-peers", "value"),
    prevent_initial_call=True,
)
def jump_to_member(value, type_, period, peers):
    """Another member's report, keeping the period and peer group (its own main type)."""
    mid = facade.parse_member_id(value)
    if mid is None:
        return no_update
    s = parse({"period": period, "peers": peers})
    q = params.query({"period": s["period"], "peers": s["peers"]}, DEFAULTS)
    return f"/member/{mid}{q}"


@callback(
    Output(f"{P}-location", "search"),
    Output(f"{P}-coverage", "figure"),
    Output(f"{P}-peers-chart", "figure"),
    Output(f"{P}-peer-table", "children"),
    Output(f"{P}-years", "figure"),
    Output(f"{P}-change", "children"),
    Output(f"{P}-help", "children"),
    Output(f"{P}-empty-note", "children"),
    Output(f"{P}-compare-link", "href"),
    Output(f"{P}-type", "data"),
    Output(f"{P}-history", "figure"),
    Input(f"{P}-type", "value"),
    Input(f"{P}-period", "value"),
    Input(f"{P}-peers", "value"),
    State(f"{P}-state", "data"),
)
def update_report(type_, period, peers, state):
    state = _state(state)
    mid = facade.parse_member_id(state.get("member_id"))
    if mid is None or not facade.has_snapshot() or facade.member(mid) is None:
        return (no_update,) * 11
    s = parse({"type": type_, "period": period, "peers": peers}, mid)
    ct, per = s["type"], s["period"]
    mm = facade.member_metrics(mid, ct, per)
    pos = facade.peer_position(mid, ct, per, s["peers"])
    change = facade.change_since_previous(mid, ct, per)
    empty = None
    if mm["total"].fillna(0).max() <= 0:
        empty = dmc.Alert(
            f"This member has no {facade.type_label(ct).lower()} works in the "
            f"{facade.PERIOD_LABELS[per].lower()} period: every value is N/A (—).",
            color="gray",
            mb="md",
        )
    values = {r.metric: r.short for r in mm.itertuples()}
    return (
        params.query(
            {"type": ct, "period": per, "peers": s["peers"]}, {**DEFAULTS, "type": main_type(mid)}
        ),
        coverage_figure(mm, ct, per),
        peer_figure(pos, ct, per),
        peer_table(pos, mm, peer_ties(mid, ct, per, s["peers"])),
        years_figure(mid),
        change_block(change),
        help.metric_help(mm["metric"], values),
        empty,
        compare_href(mid, s),
        type_options(mid, per, ct),
        history.member_figure(
            history.member_history(mid, ct, per),
            f"Coverage over time — {facade.type_label(ct)}, {per}",
        ),
    )


def _bar_text(r) -> str:
    """Label of one coverage bar: the value with covered/total, an estimate, or why it is empty."""
    if r.status == "not measured":
        return "not measured"
    if r.status == "n/a" or not r.total:
        return "— (no works)"
    if r.status == "estimate":
        return r.short
    return f"{figures.na_text(r.value * 100)} ({int(r.covered):,}/{int(r.total):,})"


def coverage_figure(mm, ct: str, per: str) -> go.Figure:
    if mm["total"].fillna(0).max() <= 0:
        return figures.empty("No works of this type in this period (N/A).", "Coverage per metric")
    vals = (mm["value"] * 100).round(1)
    text = [_bar_text(r) for r in mm.itertuples()]
    estimate = (mm["status"] == "estimate").to_numpy()
    inside = [bool(v >= 55) and not e for v, e in zip(vals.fillna(0), estimate, strict=True)]
    hover = [
        f"{figures.esc(r.label)}: {figures.esc(r.text)}"
        + (f"<br>{int(r.covered):,} of {int(r.total):,} works" if r.status == "measured" else "")
        + ("<br>estimate from a random sample" if r.status == "estimate" else "")
        for r in mm.itertuples()
    ]
    fig = go.Figure(
        go.Bar(
            y=mm["label"],
            x=vals.fillna(0),
            orientation="h",
            marker={
                "color": [th.DOI_WEIGHTED if not e else "#91a7ff" for e in estimate],
                "pattern": {"shape": ["/" if e else "" for e in estimate]},
            },
            text=text,
            textposition=["inside" if i else "outside" for i in inside],
            insidetextanchor="end",
            insidetextfont={"color": "white"},
            cliponaxis=False,
            outsidetextfont={
                "color": [
                    th.MUTED if s in ("not measured", "n/a") else "#212529" for s in mm["status"]
                ]
            },
            hovertext=hover,
            hovertemplate="%{hovertext}<extra></extra>",
        )
    )
    basis = "this member's works with the element (covered/total)"
    if estimate.any():
        basis += "; ≈ striped = sample estimate, ± half its 95 % CI"
    fig.update_layout(
        template=figures.TEMPLATE,
        height=max(360, 34 * len(mm) + 140),
        title=figures.title(f"Coverage per metric — {facade.type_label(ct)}, {per}", basis),
        yaxis={"autorange": "reversed"},
        margin={"r": 10, "l": 10},
    )
    figures.pct_axis(fig, "x", "Coverage (% of works)", (0, 100))
    # room right of 100 % for the outside labels, so they are not cut on a phone
    return fig.update_xaxes(range=[-1, 145], tickvals=[0, 25, 50, 75, 100])


def peer_figure(pos: dict, ct: str, per: str) -> go.Figure:
    f = pos["frame"]
    f = f[f["metric"] != "__composite"]
    if f["value"].isna().all():
        return figures.empty("No works of this type in this period (N/A).", "Position among peers")
    fig = go.Figure()
    series = [
        ("value", "This member", th.SERIES[0], "circle", 13),
        ("peer_median", f"Peer median ({pos['group']})", th.PEER, "diamond", 11),
        (
            "crossref_doi_weighted",
            "Crossref-wide, DOI-weighted",
            th.MEMBER_MEDIAN,
            "line-ns-open",
            16,
        ),
    ]
    for col, name, color, symbol, size in series:
        fig.add_scatter(
            x=(f[col] * 100).round(1),
            y=f["label"],
            mode="markers",
            name=name,
            marker={
                "color": color,
                "symbol": symbol,
                "size": size,
                "line": {"width": 2, "color": color},
            },
            hovertemplate="%{y}: %{x:.1f} %<extra>" + figures.esc(name) + "</extra>",
        )
    fig.update_layout(
        template=figures.TEMPLATE,
        height=max(360, 34 * len(f) + 160),
        title=figures.title(
            f"Position among peers — {facade.PEER_GROUPINGS[pos['by']].lower()} "
            f"'{figures.esc(pos['group'])}' ({pos['group_size']:,} members)",
            "member value vs peer median (member-level) and Crossref-wide DOI-weighted",
        ),
        yaxis={"autorange": "reversed", "title": {"text": "Metric"}},
    )
    figures.legend_below(fig, 120)
    return figures.pct_axis(fig, "x", "Coverage (%)", (0, 100))


MIN_PEERS = 10  # fewer members with works in the peer group: median and percentile flagged


def peer_ties(mid: int, ct: str, per: str, by: str) -> dict[str, int]:
    """Per metric (and ``__composite``): how many other members of this member's peer group
    (with works of this type and period) have exactly the same value — a percentile of tied
    values is shared by all of them. Values compared to 0.01 percentage point."""
    from cache.facade.roster import peer_groups

    v = facade.view(ct, per)
    if mid not in v.matrix.index:
        return {}
    groups = peer_groups(by if by in facade.PEER_GROUPINGS else "size")
    active = v.works.reindex(v.matrix.index).fillna(0) > 0
    mat = v.matrix.loc[active].copy()
    mat["__composite"] = v.composite.reindex(mat.index)
    same = groups.reindex(mat.index) == groups.get(mid)
    peers = mat.loc[same.to_numpy()].round(4)
    if mid not in peers.index:
        return {}
    mine = peers.loc[mid]
    out = {}
    for k in peers.columns:
        if mine[k] == mine[k]:  # not NaN
            out[k] = int((peers[k] == mine[k]).sum()) - 1
    return out


def percentile_text(percentile, ties: int) -> str:
    """'45' or '45 (tied with 12 peers)'; '—' without a value."""
    if percentile is None or percentile != percentile:
        return "—"
    base = f"{percentile:.0f}"
    return f"{base} (tied with {ties:,} peer{'s' if ties != 1 else ''})" if ties > 0 else base


def small_group_note(pos: dict):
    """An alert when the peer group is too small for its median and percentiles to mean much."""
    n = int(pos.get("group_size") or 0)
    if n >= MIN_PEERS:
        return None
    return dmc.Alert(
        f"Small peer group: only {n} member{'s' if n != 1 else ''} with works of this type and "
        f"period in '{pos['group']}' (fewer than {MIN_PEERS}); its median and these percentiles "
        "rest on very few members.",
        color="orange",
        variant="light",
        mb="xs",
        id=f"{P}-small-group",
    )


# "This member" as the report states it: estimates with their interval, "not measured" when the
# snapshot has no figure for a metric the member has works for, "—" when there are no works.
MEMBER_VALUE_FORMAT = {
    "function": (
        "params.data && params.data.status === 'not measured' ? 'not measured' : "
        "(params.data && params.data.status === 'estimate' ? params.data.short : "
        "(params.value == null ? '—' : d3.format('.1f')(params.value) + ' %'))"
    )
}


def peer_table(pos: dict, mm=None, ties: dict[str, int] | None = None):
    f = pos["frame"].copy()
    f["percentile"] = f["percentile"].round(0)
    ties = ties or {}
    f["percentile_text"] = [
        percentile_text(p, ties.get(k, 0))
        for p, k in zip(f["percentile"], f["metric"], strict=True)
    ]
    if mm is not None:
        extra = mm.set_index("metric")[["status", "text", "short"]]
        f["status"] = f["metric"].map(extra["status"]).fillna("measured")
        f["text"] = f["metric"].map(extra["text"]).fillna("")
        f["short"] = f["metric"].map(extra["short"]).fillna("")
    f = grid.pct_records(
        f, ["value", "peer_median", "crossref_doi_weighted", "crossref_member_median"]
    )
    cols = [
        {"field": "label", "headerName": "Metric", "minWidth": 200, "pinned": "left"},
        {
            "field": "value",
            "headerName": "This member",
            "valueFormatter": MEMBER_VALUE_FORMAT,
            "type": "numericColumn",
            "tooltipField": "text",
            "minWidth": 150,
        },
        {
            "field": "percentile",
            "headerName": f"Percentile in {pos['group']}",
            "type": "numericColumn",
            "valueFormatter": {
                "function": "params.data && params.data.percentile_text ? "
                "params.data.percentile_text : '—'"
            },
            "headerTooltip": "Share of peers at or below this member; tied values share one "
            "percentile",
            "minWidth": 170,
        },
        {
            "field": "peer_median",
            "headerName": "Peer median",
            "valueFormatter": grid.PCT_FORMAT,
            "type": "numericColumn",
        },
        {
            "field": "crossref_doi_weighted",
            "headerName": "Crossref (DOI-weighted)",
            "valueFormatter": grid.PCT_FORMAT,
            "type": "numericColumn",
        },
        {
            "field": "crossref_member_median",
            "headerName": "Crossref (member median)",
            "valueFormatter": grid.PCT_FORMAT,
            "type": "numericColumn",
        },
    ]
    return html.Div(
        [
            small_group_note(pos),
            grid.static_grid(f"{P}-peer-grid", f, cols, height="380px", fit=True),
        ]
    )


def years_figure(mid: int) -> go.Figure:
    df = facade.works_by_year(mid)
    if df.empty:
        return figures.empty("No per-year counts for this member.", "Works registered per year")
    fig = go.Figure(
        go.Bar(
            x=df["year"],
            y=df["works"],
            marker_color=th.DOI_WEIGHTED,
            hovertemplate="%{x}: %{y:,} works<extra></extra>",
        )
    )
    fig.update_layout(
        template=figures.TEMPLATE,
        height=360,
        title=figures.title(
            "Works registered per year", "all content types, by issued year (counts)"
        ),
        xaxis={"title": {"text": "Issued year"}, "type": "linear", "tickformat": "d"},
        yaxis={"title": {"text": "Works (count)"}, "tickformat": ","},
    )
    return fig


def change_block(change: dict):
    if change["previous"] is None:
        return dmc.Text(
            "No previous snapshot: change over time appears after the next refresh.",
            size="sm",
            c="dimmed",
            id=f"{P}-no-previous",
        )
    frame = change["frame"]
    if frame is None:
        return dmc.Text("The previous snapshot could not be read.", size="sm", c="dimmed")
    prev = change["previous"]
    f = frame.copy()
    f["change_pp"] = f["change_pp"].round(1)
    f = grid.pct_records(f, ["value", "before"])
    cols = [
        {"field": "label", "headerName": "Metric", "minWidth": 180},
        {
            "field": "before",
            "headerName": "Previous",
            "valueFormatter": grid.PCT_FORMAT,
            "type": "numericColumn",
        },
        {
            "field": "value",
            "headerName": "Now",
            "valueFormatter": grid.PCT_FORMAT,
            "type": "numericColumn",
        },
        {
            "field": "change_pp",
            "headerName": "Change",
            "valueFormatter": grid.PP_FORMAT,
            "type": "numericColumn",
        },
    ]
    return html.Div(
        [
            dmc.Text(
                f"Compared with snapshot {prev.get('id')} ({str(prev.get('created') or '')[:10]}); "
                "change in percentage points.",
                size="xs",
                c="dimmed",
                mb="xs",
            ),
            grid.static_grid(f"{P}-change-grid", f, cols, height="300px", fit=True),
        ]
    )


# ------------------------------------------------------------------------- work-level drill-down

DD = drilldown.DD


@callback(
    Output(f"{DD}-version", "data"),
    Output(f"{DD}-error", "children"),
    Input(f"{DD}-run", "n_clicks"),
    State(f"{P}-state", "data"),
    State(f"{P}-period", "value"),
    background=True,
    progress=[Output(f"{DD}-progress", "value"), Output(f"{DD}-progress-label", "children")],
    progress_default=[0, "Starting…"],
    running=[
        (Output(f"{DD}-run", "disabled"), True, False),
        (Output(f"{DD}-run", "loading"), True, False),
        (Output(f"{DD}-cancel", "style"), drilldown.SHOWN_INLINE, drilldown.HIDDEN),
        (Output(f"{DD}-progress-box", "style"), drilldown.SHOWN_BLOCK, drilldown.HIDDEN),
    ],
    cancel=[Input(f"{DD}-cancel", "n_clicks")],
    interval=500,
    prevent_initial_call=True,
)
@jobs.shared(
    key=lambda n_clicks, state, period=None, *_: "{}:{}".format(
        facade.parse_member_id(state.get("member_id") if isinstance(state, dict) else None),
        parse({"period": period})["period"],
    ),
    queued=lambda position, running: (
        0,
        f"Waiting for a free slot: position {position} in the queue "
        f"({running} drill-down{'s' if running != 1 else ''} running).",
    ),
    unavailable=lambda reason: (
        no_update,
        dmc.Alert(
            "Too many drill-downs are waiting; try again in a few minutes."
            if reason == "busy"
            else "The drill-down's worker stopped twice. Requests already answered are cached "
            "for 24 hours, so trying again resumes where it stopped.",
            title="Work-level detail could not be loaded",
            color="red",
            id=f"{DD}-failed",
        ),
    ),
)
def run_drilldown(set_progress, n_clicks, state, period=None):
    """Runs in a background process: the member's drill-down against Crossref, saved to disk;
    its gap lists cover the selected period (default current).

    Returns only small, picklable values (the result's creation time and an optional alert):
    `show_drilldown` then renders the saved result in the web process.
    """
    mid = facade.parse_member_id(_state(state).get("member_id"))
    if not n_clicks or mid is None:
        return no_update, no_update

    def progress(done: int, total: int, label: str) -> None:
        pct = round(100 * done / total) if total else 0
        set_progress((pct, f"{done:,} of {total:,} {label}"))

    gap_period = parse({"period": period})["period"]
    try:
        result, _ = drilldown_job.run(
            facade.settings(), mid, progress=progress, gap_period=gap_period
        )
    except Exception as exc:  # shown to the user with Crossref's own message
        logger.exception("work-level drill-down of member %s failed", mid)
        return no_update, drilldown.failure_alert(exc)
    return result["created"], None


@callback(
    Output(f"{DD}-body", "children"),
    Output(f"{DD}-status", "children"),
    Output(f"{DD}-run", "children"),
    Output(f"{DD}-run", "variant"),
    Input(f"{DD}-version", "data"),
    State(f"{P}-type", "value"),
    State(f"{P}-period", "value"),
    State(f"{P}-state", "data"),
    prevent_initial_call=True,
)
def show_drilldown(version, type_, period, state):
    """After a drill-down finished: render the saved result (read in this process)."""
    mid = facade.parse_member_id(_state(state).get("member_id"))
    if mid is None or not version:
        return no_update, no_update, no_update, no_update
    dd = facade.drilldown(mid)
    s = parse({"type": type_, "period": period})
    return (
        drilldown.body(dd, s["type"], s["period"]),
        drilldown.status(dd),
        drilldown.run_label(dd),
        drilldown.run_variant(dd),
    )


@callback(
    Output(f"{DD}-metrics", "children"),
    Input(f"{P}-type", "value"),
    Input(f"{P}-period", "value"),
    State(f"{P}-state", "data"),
    prevent_initial_call=True,
)
def update_drilldown_metrics(type_, period, state):
    mid = facade.parse_member_id(_state(state).get("member_id"))
    dd = facade.drilldown(mid) if mid is not None else None
    if dd is None:
        return None
    s = parse({"type": type_, "period": period})
    return drilldown.metric_block(dd, s["type"], s["period"])


@callback(
    Output(f"{DD}-years", "figure"),
    Input(f"{DD}-years-metrics", "value"),
    State(f"{P}-state", "data"),
    prevent_initial_call=True,
)
def update_drilldown_years(keys, state):
    mid = facade.parse_member_id(_state(state).get("member_id"))
    dd = facade.drilldown(mid) if mid is not None else None
    return drilldown.years_figure(dd, keys if isinstance(keys, list) else [])


@callback(
    Output(f"{DD}-gap-metric", "data"),
    Output(f"{DD}-gap-grid", "rowData"),
    Output(f"{DD}-gap-note", "children"),
    Input(f"{DD}-gap-metric", "value"),
    Input(f"{P}-type", "value"),
    Input(f"{P}-period", "value"),
    State(f"{P}-state", "data"),
    prevent_initial_call=True,
)
def update_drilldown_gaps(key, type_, period, state):
    """The DOIs to fix of the chosen metric for the selected content type and period."""
    mid = facade.parse_member_id(_state(state).get("member_id"))
    dd = facade.drilldown(mid) if mid is not None else None
    if dd is None:
        return [], [], drilldown.gap_note(dd, None, None)
    s = parse({"type": type_, "period": period})
    options = drilldown.gap_options(dd, drilldown.pick_gap_type(dd, s["type"]))
    rows, note = drilldown.gap_view(
        dd, key if isinstance(key, str) else None, s["type"], s["period"]
    )
    return options, rows, note


@callback(
    Output(f"{DD}-download", "data"),
    Input(f"{DD}-download-btn", "n_clicks"),
    State(f"{DD}-gap-metric", "value"),
    State(f"{P}-type", "value"),
    State(f"{P}-state", "data"),
    prevent_initial_call=True,
)
def download_gaps(n_clicks, key, type_, state):
    mid = facade.parse_member_id(_state(state).get("member_id"))
    dd = facade.drilldown(mid) if mid is not None else None
    if not n_clicks or dd is None or not isinstance(key, str):
        return no_update
    ct = drilldown.pick_gap_type(dd, parse({"type": type_})["type"])
    text = facade.drilldown_csv(mid, key, ct)
    if text is None:
        return no_update
    return {"content": text, "filename": drilldown.gaps_filename(mid, key, ct), "type": "text/csv"}


@callback(
    Output(f"{DD}-download-all", "data"),
    Input(f"{DD}-download-all-btn", "n_clicks"),
    State(f"{P}-state", "data"),
    prevent_initial_call=True,
)
def download_dois_to_fix(n_clicks, state):
    """One CSV per member: every listed DOI that lacks any element, and which elements."""
    mid = facade.parse_member_id(_state(state).get("member_id"))
    text = facade.dois_to_fix_csv(mid) if n_clicks and mid is not None else None
    if text is None:
        return no_update
    return {"content": text, "filename": drilldown.fix_filename(mid), "type": "text/csv"}
