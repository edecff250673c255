"""Overview: headline figures, member-level distributions and the league table of every member.

URL: /?type=journal-article&period=current&country=IDN,USA&gem=gem&tier=small&q=press&min_works=10
"""

from __future__ import annotations

import dash
import dash_mantine_components as dmc
import numpy as np
import plotly.graph_objects as go
from dash import Input, Output, State, callback, clientside_callback, dcc, html, no_update

from cache import facade
from pages.components import figures, grid, history, params, search, ui
from pages.components import theme as th

dash.register_page(
    __name__, path="/", name="Overview", title="Overview · Crossref metadata completeness", order=0
)

P = "overview"
HISTORY_DEFAULT = ["references", "abstracts", "orcids"]
DEFAULTS = {
    "type": facade.DEFAULT_TYPE,
    "period": facade.DEFAULT_PERIOD,
    "gem": "any",
    "min_works": 0,
}
GEM_CHOICES = ("any", "gem", "non-gem")


def parse(kwargs: dict) -> dict:
    """Query args → a clean state dict (anything odd falls back to its default)."""
    if not isinstance(kwargs, dict):  # a malformed request's state: all defaults
        kwargs = {}
    have = facade.has_snapshot()
    countries = [c for c, _ in facade.country_options()]
    return {
        "type": facade.valid_type(params.first(kwargs.get("type"))) if have else DEFAULTS["type"],
        "period": facade.valid_period(params.first(kwargs.get("period"))),
        "country": params.csv_list(kwargs.get("country"), countries),
        "gem": params.choice(kwargs.get("gem"), GEM_CHOICES, "any"),
        "tier": params.csv_list(kwargs.get("tier"), facade.tier_names() if have else []),
        "q": params.text(kwargs.get("q")),
        "min_works": params.integer(kwargs.get("min_works"), 0, 0, 10**9),
    }


def to_filter(state: dict) -> facade.LeagueFilter:
    return facade.LeagueFilter(
        country=tuple(state.get("country") or ()),
        gem=state.get("gem") or "any",
        tier=tuple(state.get("tier") or ()),
        search=state.get("q") or "",
        min_works=int(state.get("min_works") or 0),
    )


def layout(
    type=None, period=None, country=None, gem=None, tier=None, q=None, min_works=None, **kwargs
):
    if not facade.has_snapshot():
        return html.Div([ui.page_header("Overview"), ui.no_snapshot()])
    state = parse(
        {
            "type": type,
            "period": period,
            "country": country,
            "gem": gem,
            "tier": tier,
            "q": q,
            "min_works": min_works,
        }
    )
    controls = dmc.Group(
        [
            ui.type_select(f"{P}-type", state["type"]),
            ui.period_control(f"{P}-period", state["period"]),
        ],
        align="flex-end",
        gap="lg",
        wrap="wrap",
    )
    filters = dmc.Group(
        [
            dmc.TextInput(
                id=f"{P}-search",
                label="Filter by name or ID",
                placeholder="Part of a name…",
                value=state["q"],
                debounce=350,
                w=200,
            ),
            dmc.MultiSelect(
                id=f"{P}-country",
                label="Country",
                value=state["country"],
                searchable=True,
                clearable=True,
                w=260,
                placeholder="All countries",
                data=[{"value": c, "label": f"{n} ({c})"} for c, n in facade.country_options()],
                comboboxProps={"zIndex": 400},
                maxDropdownHeight=320,
            ),
            ui.segmented(
                f"{P}-gem",
                "GEM country",
                state["gem"],
                {"any": "All", "gem": "GEM", "non-gem": "Non-GEM"},
            ),
            dmc.MultiSelect(
                id=f"{P}-tier",
                label="Size tier",
                value=state["tier"],
                clearable=True,
                w=220,
                placeholder="All sizes",
                data=[
                    {"value": t, "label": f"{t} ({txt})"}
                    for t, txt in facade.size_tiers()
                    if t in facade.tier_names()
                ]
                or facade.tier_names(),
                comboboxProps={"zIndex": 400},
            ),
            dmc.NumberInput(
                id=f"{P}-min-works",
                label="Min. works",
                value=state["min_works"],
                min=0,
                step=10,
                w=120,
                allowDecimal=False,
                allowNegative=False,
            ),
        ],
        align="flex-end",
        gap="md",
        wrap="wrap",
    )
    return html.Div(
        [
            dcc.Location(id=f"{P}-location", refresh=False),
            dcc.Store(id=f"{P}-state", data=state),
            dcc.Store(id=f"{P}-purged"),
            ui.page_header(
                "Overview",
                "Metadata completeness of every Crossref member. Percentages are the share of a "
                "member's works that carry the element (— = no works of that type and period).",
                search.member_select(
                    f"{P}-find",
                    label="Go to a member's report",
                    w=360,
                    mt="sm",
                ),
            ),
            dmc.Card(controls, mb="md"),
            html.Div(id=f"{P}-headline"),
            dmc.SimpleGrid(
                [ui.graph(f"{P}-coverage-chart"), ui.graph(f"{P}-distribution")],
                cols={"base": 1, "lg": 2},
                spacing="md",
                mb="md",
            ),
            ui.section(
                "Over time",
                dmc.MultiSelect(
                    id=f"{P}-history-metrics",
                    label="Metrics",
                    value=HISTORY_DEFAULT,
                    data=[
                        {"value": k, "label": facade.metric_label(k)} for k in facade.metric_keys()
                    ],
                    maxValues=6,
                    w=520,
                    comboboxProps={"zIndex": 400},
                ),
                ui.graph(f"{P}-history"),
                sid=f"{P}-history-section",
                description="The DOI-weighted share of all works and the member median, in every "
                "published snapshot.",
            ),
            dmc.Card(
                [
                    dmc.Group(
                        [
                            dmc.Title("League table", order=4),
                            dmc.Group(
                                [
                                    dmc.Text(id=f"{P}-count", size="sm", c="dimmed"),
                                    ui.export_button(f"{P}-export"),
                                ],
                                gap="sm",
                            ),
                        ],
                        justify="space-between",
                        mb="xs",
                    ),
                    dmc.Text(
                        "Every member, ranked by composite score (sortable; click a name for the "
                        "member report). Filters apply to the table and the CSV export.",
                        size="sm",
                        c="dimmed",
                        mb="sm",
                    ),
                    filters,
                    html.Div(
                        grid.infinite_grid(f"{P}-grid", grid.league_columns(facade.metric_keys())),
                        style={"marginTop": "12px"},
                    ),
                    ui.download(f"{P}-download"),
                ],
                mb="md",
            ),
        ]
    )


# --------------------------------------------------------------------------------------------
# callbacks
# --------------------------------------------------------------------------------------------


@callback(
    Output(f"{P}-state", "data"),
    Output(f"{P}-location", "search"),
    Input(f"{P}-type", "value"),
    Input(f"{P}-period", "value"),
    Input(f"{P}-country", "value"),
    Input(f"{P}-gem", "value"),
    Input(f"{P}-tier", "value"),
    Input(f"{P}-search", "value"),
    Input(f"{P}-min-works", "value"),
    prevent_initial_call=True,
)
def update_state(type_, period, country, gem, tier, q, min_works):
    """Controls → the page state (cleaned) and the shareable query string."""
    state = parse(
        {
            "type": type_,
            "period": period,
            "country": country or [],
            "gem": gem,
            "tier": tier or [],
            "q": q,
            "min_works": None if min_works is None else str(min_works),
        }
    )
    return state, query_string(state)


def query_string(state: dict) -> str:
    return params.query(state, DEFAULTS)


# Purge the infinite-row cache when the filters change, so the grid asks the server again.
clientside_callback(
    """
    function(state) {
        const api = window.dash_ag_grid && window.dash_ag_grid.getApi
            ? window.dash_ag_grid.getApi('overview-grid') : null;
        if (api) { api.purgeInfiniteCache(); api.ensureIndexVisible(0, 'top'); }
        return Date.now();
    }
    """,
    Output(f"{P}-purged", "data"),
    Input(f"{P}-state", "data"),
    prevent_initial_call=True,
)


MAX_FILTER_CONDITIONS = 50  # AG Grid conditions over all columns in one request
MAX_SORT_KEYS = 10


def grid_models(request: dict) -> tuple[list | None, dict | None]:
    """``(sortModel, filterModel)`` of an AG Grid request, bounded so no request costs much CPU.

    More than ``MAX_SORT_KEYS`` sort keys or ``MAX_FILTER_CONDITIONS`` filter conditions (each
    column counts its ``conditions`` list, at least 1) raise ``PreventUpdate``: the grid keeps
    what it shows. A model of the wrong type counts as none.
    """
    sort_model = request.get("sortModel")
    filter_model = request.get("filterModel")
    sort_model = sort_model if isinstance(sort_model, list) else None
    filter_model = filter_model if isinstance(filter_model, dict) else None
    if sort_model is not None and len(sort_model) > MAX_SORT_KEYS:
        raise dash.exceptions.PreventUpdate
    if filter_model is not None:
        conditions = 0
        for spec in filter_model.values():
            conds = spec.get("conditions") if isinstance(spec, dict) else None
            conditions += max(1, len(conds)) if isinstance(conds, list) else 1
            if conditions > MAX_FILTER_CONDITIONS:
                raise dash.exceptions.PreventUpdate
    return sort_model, filter_model


@callback(
    Output(f"{P}-grid", "getRowsResponse"),
    Output(f"{P}-count", "children"),
    Input(f"{P}-grid", "getRowsRequest"),
    State(f"{P}-state", "data"),
    prevent_initial_call=True,
)
def get_rows(request, state):
    """One block of the league table: server-side filter, sort and slice."""
    if not isinstance(request, dict) or not request or not facade.has_snapshot():
        return no_update, no_update
    state = parse(state or {})
    start = params.integer(str(request.get("startRow", 0)), 0, 0, 10**7)
    end = params.integer(str(request.get("endRow", start + 100)), start + 100, start, start + 500)
    sort_model, filter_model = grid_models(request)
    rows, total = facade.league_page(
        state["type"], state["period"], to_filter(state), start, end, sort_model, filter_model
    )
    return {"rowData": rows, "rowCount": total}, f"{total:,} members"


@callback(
    Output(f"{P}-headline", "children"),
    Output(f"{P}-coverage-chart", "figure"),
    Output(f"{P}-distribution", "figure"),
    Input(f"{P}-type", "value"),
    Input(f"{P}-period", "value"),
)
def update_summary(type_, period):
    """Headline figures and the two summary charts for the chosen type and period."""
    if not facade.has_snapshot():
        return ui.no_snapshot(), figures.empty("No data"), figures.empty("No data")
    ct, per = facade.valid_type(type_), facade.valid_period(period)
    h = facade.headline(ct, per)
    return (
        headline_cards(ct, per, h),
        coverage_figure(ct, per, h["agg"]),
        distribution_figure(ct, per),
    )


def headline_cards(ct: str, per: str, h: dict):
    agg = h["agg"]
    comp = facade.view(ct, per).composite
    scored = h["scored"]
    cards = [
        ui.stat(
            "Members scored", f"{scored:,}", f"of {h['members']:,} with works of this type/period"
        ),
        ui.stat(
            "Works",
            f"{h['works']:,}",
            f"{facade.type_label(ct)}, {facade.PERIOD_LABELS[per].lower()}",
        ),
        ui.stat(
            "Median composite",
            facade.pct(comp.median() if comp.notna().any() else np.nan),
            "member median, default weights",
        ),
    ]
    best = agg["doi_weighted"].dropna()
    if len(best):
        k = best.idxmax()
        cards.append(
            ui.stat("Best covered (DOI-weighted)", facade.pct(best[k]), facade.metric_label(k))
        )
    return dmc.SimpleGrid(cards, cols={"base": 2, "md": 4}, spacing="md", mb="md")


def coverage_figure(ct: str, per: str, agg) -> go.Figure:
    keys = [k for k in agg.index if agg.loc[k, ["doi_weighted", "member_median"]].notna().any()]
    if not keys:
        return figures.empty("No works of this type in this period.", "Coverage per metric")
    labels = [facade.metric_label(k) for k in keys]
    dw = (agg.loc[keys, "doi_weighted"] * 100).round(1)
    md = (agg.loc[keys, "member_median"] * 100).round(1)
    fig = go.Figure()
    fig.add_bar(
        y=labels,
        x=dw,
        orientation="h",
        name="DOI-weighted (share of all works)",
        marker_color=th.DOI_WEIGHTED,
        text=[figures.na_text(v) for v in dw],
        textposition="outside",
        cliponaxis=False,
        hovertemplate="%{y}: %{x:.1f} % of works<extra>DOI-weighted</extra>",
    )
    fig.add_bar(
        y=labels,
        x=md,
        orientation="h",
        name="Member median (typical member)",
        marker_color=th.MEMBER_MEDIAN,
        text=[figures.na_text(v) for v in md],
        textposition="outside",
        cliponaxis=False,
        hovertemplate="%{y}: %{x:.1f} %<extra>member median</extra>",
    )
    fig.update_layout(
        template=figures.TEMPLATE,
        barmode="group",
        height=max(360, 34 * len(keys) + 150),
        title=figures.title(
            f"Coverage per metric — {facade.type_label(ct)}, {per}",
            "DOI-weighted (share of all works) vs member median (typical member)",
        ),
        yaxis={"autorange": "reversed", "title": {"text": "Metric"}},
        margin={"t": 80},
    )
    figures.legend_below(fig, 100)
    return figures.pct_axis(fig, "x", "Coverage (% of works)", (0, 110))


def distribution_figure(ct: str, per: str) -> go.Figure:
    stats = facade.distribution(ct, per)
    if stats.empty:
        return figures.empty(
            "No members with works of this type in this period.",
            "Distribution of members per metric",
        )
    labels = [facade.metric_label(k) for k in stats.index]
    r = stats.round(1)
    fig = go.Figure(
        go.Box(
            x=labels,
            q1=r["q1"],
            median=r["median"],
            q3=r["q3"],
            lowerfence=r["lowerfence"],
            upperfence=r["upperfence"],
            mean=r["mean"],
            boxpoints=False,
            marker_color=th.DOI_WEIGHTED,
            line={"width": 1.2},
            fillcolor="rgba(59,91,219,0.18)",
            showlegend=False,
            name="members",
            customdata=np.stack([stats["n"], (stats["at_zero"] * 100).round(1)], axis=1),
            hovertemplate="%{x}<br>median %{median:.1f} %, quartiles %{q1:.1f}–%{q3:.1f} %<br>"
            "%{customdata[0]:,} members, %{customdata[1]:.1f} % of them at 0 %<extra></extra>",
        )
    )
    n = int(stats["n"].max())
    fig.update_layout(
        template=figures.TEMPLATE,
        height=max(360, 34 * len(labels) + 150),
        title=figures.title(
            f"Distribution of member coverage — {facade.type_label(ct)}, {per}",
            f"member-level ({n:,} members with works) · box = quartiles · dotted = mean",
        ),
        xaxis={"title": {"text": "Metric"}, "tickangle": -35},
        margin={"t": 80, "b": 110},
    )
    return figures.pct_axis(fig, "y", "Member coverage (%)", (0, 100))


search.register(f"{P}-find")


@callback(
    Output("url", "pathname", allow_duplicate=True),
    Input(f"{P}-find", "value"),
    prevent_initial_call=True,
)
def go_to_member(value):
    """The member picked in the search box: open its report."""
    mid = facade.parse_member_id(value)
    return f"/member/{mid}" if mid is not None else no_update


@callback(
    Output(f"{P}-history", "figure"),
    Input(f"{P}-type", "value"),
    Input(f"{P}-period", "value"),
    Input(f"{P}-history-metrics", "value"),
)
def update_history(type_, period, keys):
    """DOI-weighted and member-median coverage of the chosen metrics in every snapshot."""
    if not facade.has_snapshot():
        return figures.empty("No data")
    ct, per = facade.valid_type(type_), facade.valid_period(period)
    known = facade.metric_keys()
    keys = [k for k in keys if k in known][:6] if isinstance(keys, list) else []
    if not keys:
        return figures.empty("Pick one or more metrics above.", "Coverage over time")
    return history.aggregate_figure(
        history.aggregate_history(ct, per),
        keys,
        f"Coverage over time — {facade.type_label(ct)}, {per}",
    )


@callback(
    Output(f"{P}-download", "data"),
    Input(f"{P}-export", "n_clicks"),
    State(f"{P}-state", "data"),
    State(f"{P}-grid", "getRowsRequest"),
    prevent_initial_call=True,
)
def export_csv(n_clicks, state, request):
    """CSV of every member matching the current filters and grid sort/filter (not one block)."""
    if not n_clicks or not facade.has_snapshot():
        return no_update
    state = parse(state or {})
    sort_model, filter_model = grid_models(request if isinstance(request, dict) else {})
    text = facade.league_csv(
        state["type"], state["period"], to_filter(state), sort_model, filter_model
    )
    return {
        "content": text,
        "filename": f"crossref-league-{state['type']}-{state['period']}.csv",
        "type": "text/csv",
    }
