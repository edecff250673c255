"""Countries: coverage by member country on a map (ISO3), with a table and CSV, from two sources.

* ``source=snapshot`` (default): computed from our member snapshot, DOI-weighted or member median.
* ``source=crossref``: Crossref's own published statistics ("State of Crossref metadata by member
  country", imported with ``python -m cache country-stats``), per country or World Bank region, at
  any imported date, with a time series and our snapshot's figure next to Crossref's.

URL: /countries?type=…&period=…&metric=…&how=doi_weighted|member_median
     /countries?source=crossref&measure=with_abstract&otype=journal-article&date=2026-04-30
                &level=country|region&area=IDN
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
GEO = {
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
}
SOURCES = {"snapshot": "Member snapshots", "crossref": "Crossref statistics"}
LEVELS = {"country": "Countries", "region": "World Bank regions"}
DEFAULTS = {
    "type": facade.DEFAULT_TYPE,
    "period": facade.DEFAULT_PERIOD,
    "how": "doi_weighted",
    "source": "snapshot",
    "measure": "with_abstract",
    "otype": "journal-article",
    "date": "",
    "level": "country",
    "area": "",
}


def _default_metric() -> str:
    keys = facade.metric_keys()
    return "abstracts" if "abstracts" in keys else (keys[0] if keys else "composite")


def parse(kwargs: dict) -> dict:
    """Every query-string argument of the page, validated (anything odd → its default)."""
    have = facade.has_snapshot()
    s = {
        "type": facade.valid_type(params.first(kwargs.get("type"))) if have else DEFAULTS["type"],
        "period": facade.valid_period(params.first(kwargs.get("period"))),
        "metric": params.choice(
            kwargs.get("metric"), [*facade.metric_keys(), "composite"], _default_metric()
        ),
        "how": params.choice(kwargs.get("how"), HOW, "doi_weighted"),
        "source": "snapshot",
        "measure": DEFAULTS["measure"],
        "otype": DEFAULTS["otype"],
        "date": "",
        "level": params.choice(kwargs.get("level"), LEVELS, "country"),
        "area": "",
    }
    if facade.official_available():
        opts = facade.official_options()
        s["source"] = params.choice(kwargs.get("source"), SOURCES, "snapshot")
        s["measure"] = params.choice(kwargs.get("measure"), opts["measures"], _first_measure(opts))
        types = opts["types"]
        s["otype"] = params.choice(
            kwargs.get("otype"), types, "journal-article" if "journal-article" in types else "all"
        )
        s["date"] = params.choice(kwargs.get("date"), opts["dates"], opts["dates"][0])
        area = params.first(kwargs.get("area")) or ""
        s["area"] = area if area in {o["value"] for o in _area_options()} else ""
    return s


def _area_options() -> list[dict]:
    """World, the World Bank regions, then every country in the imported data, by name."""
    if not facade.official_available():
        return [{"value": "", "label": "World"}]
    latest = facade.official_options()["dates"][0]
    countries = facade.official_table("deposits_abstract", "all", latest)
    named = sorted(zip(countries["area_name"], countries["area"], strict=True))
    return [
        {"value": "", "label": "World"},
        *({"value": k, "label": f"Region: {v}"} for k, v in facade.REGIONS.items()),
        *({"value": code, "label": name} for name, code in named),
    ]


def _first_measure(opts: dict) -> str:
    return (
        DEFAULTS["measure"]
        if DEFAULTS["measure"] in opts["measures"]
        else next(iter(opts["measures"]), DEFAULTS["measure"])
    )


def _select(name: str, label: str, value: str, width: int, data: list) -> dmc.Select:
    return dmc.Select(
        id=f"{P}-{name}",
        label=label,
        value=value,
        w=width,
        data=data,
        searchable=True,
        allowDeselect=False,
        comboboxProps={"zIndex": 400},
    )


def _official_controls(s: dict) -> dmc.Group:
    """Measure, content type, date and level of Crossref's statistics (empty before an import)."""
    opts = (
        facade.official_options()
        if facade.official_available()
        else {"measures": {}, "types": [], "dates": []}
    )
    types = [{"value": t, "label": _otype_label(t).capitalize()} for t in opts["types"]]
    return dmc.Group(
        [
            _select(
                "measure",
                "Measure",
                s["measure"],
                320,
                [{"value": k, "label": v} for k, v in opts["measures"].items()],
            ),
            _select("otype", "Content type", s["otype"], 220, types),
            _select("date", "Data as of", s["date"], 150, opts["dates"]),
            ui.segmented(f"{P}-level", "Level", s["level"], LEVELS),
            _select("area", "Time series for", s["area"], 240, _area_options()),
        ],
        align="flex-end",
        gap="lg",
        wrap="wrap",
    )


def layout(type=None, period=None, metric=None, how=None, **kwargs):
    if not facade.has_snapshot():
        return html.Div([ui.page_header("Countries"), ui.no_snapshot()])
    s = parse({"type": type, "period": period, "metric": metric, "how": how, **kwargs})
    official = facade.official_available()
    return html.Div(
        [
            dcc.Location(id=f"{P}-location", refresh=False),
            ui.page_header(
                "Coverage by member country",
                "Member snapshots: countries come from each member's registered location (ISO 3166 "
                "alpha-3); members without a recognised country are left out. Crossref statistics: "
                "Crossref's own published figures by member country (import them with "
                "python -m cache country-stats FILE…).",
            ),
            dmc.Card(
                ui.segmented(f"{P}-source", "Source", s["source"], SOURCES),
                mb="sm",
                display="block" if official else "none",
            ),
            dmc.Card(
                _official_controls(s),
                id=f"{P}-official-controls",
                mb="md",
                display="block" if s["source"] == "crossref" else "none",
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
                id=f"{P}-snapshot-controls",
                mb="md",
                display="none" if s["source"] == "crossref" else "block",
            ),
            ui.graph(f"{P}-map"),
            html.Div(
                ui.graph(f"{P}-series"),
                id=f"{P}-series-box",
                style={} if s["source"] == "crossref" else {"display": "none"},
            ),
            ui.section(
                "Countries",
                *ui.table_block(P),
            ),
        ]
    )


def _query(s: dict) -> str:
    if s["source"] == "crossref":
        keys = ("source", "measure", "otype", "date", "level", "area")
    else:
        keys = ("type", "period", "metric", "how")
    defaults = {**DEFAULTS, "metric": _default_metric()}
    if facade.official_available():
        defaults["date"] = facade.official_options()["dates"][0]
    return params.query({k: s[k] for k in keys}, {k: defaults[k] for k in keys})


@callback(
    Output(f"{P}-location", "search"),
    Output(f"{P}-map", "figure"),
    Output(f"{P}-table", "children"),
    Output(f"{P}-count", "children"),
    Output(f"{P}-series", "figure"),
    Output(f"{P}-snapshot-controls", "display"),
    Output(f"{P}-official-controls", "display"),
    Output(f"{P}-series-box", "style"),
    Input(f"{P}-type", "value"),
    Input(f"{P}-period", "value"),
    Input(f"{P}-metric", "value"),
    Input(f"{P}-how", "value"),
    Input(f"{P}-source", "value"),
    Input(f"{P}-measure", "value"),
    Input(f"{P}-otype", "value"),
    Input(f"{P}-date", "value"),
    Input(f"{P}-level", "value"),
    Input(f"{P}-area", "value"),
)
def update(
    type_,
    period,
    metric,
    how,
    source=None,
    measure=None,
    otype=None,
    date=None,
    level=None,
    area=None,
):
    """Re-draw the map, table and (Crossref statistics) time series for the selection."""
    s = parse(
        {
            "type": type_,
            "period": period,
            "metric": metric,
            "how": how,
            "source": source,
            "measure": measure,
            "otype": otype,
            "date": date,
            "level": level,
            "area": area,
        }
    )
    q = _query(s)
    if not facade.has_snapshot() and s["source"] == "snapshot":
        return (
            q,
            figures.empty("No data"),
            None,
            "",
            no_update,
            "block",
            "none",
            {"display": "none"},
        )
    if s["source"] == "crossref":
        df = official_frame(s)
        return (
            q,
            official_choropleth(df, s),
            official_grid(df, s),
            _count(df, s),
            official_series_figure(s),
            "none",
            "block",
            {},
        )
    df = facade.countries(s["type"], s["period"], s["metric"])
    return (
        q,
        choropleth(df, s),
        table(df),
        f"{len(df):,} countries",
        no_update,
        "block",
        "none",
        {"display": "none"},
    )


def official_frame(s: dict):
    """Crossref's figures for the selection, with our snapshot's figure where one matches."""
    df = facade.official_table(s["measure"], s["otype"], s["date"], s["level"])
    metric = facade.MEASURES[s["measure"]].metric
    ours = None
    if (
        s["level"] == "country"
        and metric in facade.metric_keys()
        and facade.has_snapshot()
        and s["otype"] in facade.content_types()
    ):
        ours = facade.countries(s["otype"], "all", metric)
    return facade.with_snapshot(df, s["measure"], ours)


def _official_title(s: dict) -> str:
    m = facade.MEASURES[s["measure"]]
    kind = "" if m.participation else f" — {_otype_label(s['otype'])}"
    return f"{m.label}{kind}, Crossref statistics as of {s['date']}"


def _otype_label(otype: str) -> str:
    return "all types" if otype == "all" else facade.type_label(otype).lower()


def _count(df, s: dict) -> str:
    n = int(df["denominator"].gt(0).sum())
    return f"{n:,} {'regions' if s['level'] == 'region' else 'countries'}"


def official_choropleth(df, s: dict) -> go.Figure:
    """Map of Crossref's published share per country (regions colour their countries)."""
    title = _official_title(s)
    if df.empty or df["share"].isna().all():
        return figures.empty("Crossref's statistics have no figure for this selection.", title)
    if s["level"] == "region":
        by_country = facade.official_table(s["measure"], s["otype"], s["date"], "country").copy()
        shares = df.set_index("area")["share"]
        by_country["share"] = by_country["region_id"].map(shares)
        by_country["area_name"] = by_country["region_id"].map(facade.REGIONS)
        df = by_country
    m = facade.MEASURES[s["measure"]]
    unit = "members" if m.participation else "works"
    fig = go.Figure(
        go.Choropleth(
            locations=df["area"],
            z=(df["share"] * 100).round(1),
            locationmode="ISO-3",
            colorscale="Viridis",
            zmin=0,
            zmax=100,
            text=[figures.esc(n) for n in df["area_name"]],
            customdata=df[["numerator", "denominator"]].fillna(0).to_numpy(),
            colorbar={"title": {"text": "Share (%)"}, "ticksuffix": " %"},
            marker={"line": {"color": "white", "width": 0.4}},
            hovertemplate="%{text}: %{z:.1f} %<br>%{customdata[0]:,.0f} of "
            f"%{{customdata[1]:,.0f}} {unit}<extra></extra>",
        )
    )
    fig.update_layout(
        template=figures.TEMPLATE,
        height=520,
        title=figures.title(title, "Crossref's published counts; grey = no figure"),
        geo=GEO,
        margin={"l": 10, "r": 10, "t": 80, "b": 10},
    )
    return fig


def official_series_figure(s: dict) -> go.Figure:
    """Crossref's published share over every imported date, for the chosen area."""
    m = facade.MEASURES[s["measure"]]
    where = facade.area_name(s["area"]) if s["area"] else "World"
    title = f"{m.label} over time — {where}"
    if not m.participation:
        title += f", {_otype_label(s['otype'])}"
    d = facade.official_series(s["measure"], s["otype"], s["area"] or None).dropna(subset=["share"])
    if len(d) == 0:
        return figures.empty("No imported date has a figure for this area.", title)
    fig = go.Figure(
        go.Scatter(
            x=d["current_up_to"],
            y=(d["share"] * 100).round(2),
            mode="lines+markers",
            name=where,
            customdata=d[["numerator", "denominator"]].to_numpy(),
            hovertemplate="%{x}: %{y:.1f} %<br>%{customdata[0]:,.0f} of %{customdata[1]:,.0f}"
            "<extra></extra>",
        )
    )
    fig.update_layout(
        template=figures.TEMPLATE,
        height=340,
        title=figures.title(title, "Crossref statistics, cumulative at each date"),
        # dates as categories: Crossref's dates are irregular (yearly, then monthly)
        xaxis={"title": {"text": "Data as of"}, "type": "category"},
        margin={"l": 60, "r": 20, "t": 80, "b": 50},
    )
    if len(d) == 1:
        fig.add_annotation(
            text="Only one imported date has this measure: import more dates of "
            "Crossref's file for a trend.",
            showarrow=False,
            xref="paper",
            yref="paper",
            x=0.5,
            y=1.08,
        )
    figures.pct_axis(fig, axis="y", label="Share (%)")
    return fig


def official_grid(df, s: dict):
    """Table of Crossref's figures (and ours, where a snapshot metric matches)."""
    d = df.copy()
    d = grid.pct_records(d, ["share", "snapshot_share"])
    noun = "Region" if s["level"] == "region" else "Country"
    unit = "Members" if facade.MEASURES[s["measure"]].participation else "Works"
    cols = [
        {"field": "area_name", "headerName": noun, "minWidth": 200, "pinned": "left"},
        {"field": "area", "headerName": "Code", "width": 90},
        {
            "field": "numerator",
            "headerName": "With element",
            "valueFormatter": grid.INT_FORMAT,
            "type": "numericColumn",
            "width": 140,
        },
        {
            "field": "denominator",
            "headerName": unit,
            "valueFormatter": grid.INT_FORMAT,
            "type": "numericColumn",
            "width": 130,
        },
        {
            "field": "share",
            "headerName": "Crossref share",
            "valueFormatter": grid.PCT_FORMAT,
            "type": "numericColumn",
            "width": 140,
        },
    ]
    if d["snapshot_share"].notna().any():
        cols += [
            {
                "field": "snapshot_share",
                "headerName": "Our snapshot (all time)",
                "valueFormatter": grid.PCT_FORMAT,
                "type": "numericColumn",
                "width": 170,
            },
            {
                "field": "difference_pp",
                "headerName": "Difference (pp)",
                "valueFormatter": {
                    "function": "params.value == null ? '—' : "
                    "d3.format('+.1f')(params.value) + ' pp'"
                },
                "type": "numericColumn",
                "width": 140,
            },
        ]
    return grid.static_grid(f"{P}-grid", d, cols, height="460px", fit=True)


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
        geo=GEO,
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
    State(f"{P}-source", "value"),
    State(f"{P}-measure", "value"),
    State(f"{P}-otype", "value"),
    State(f"{P}-date", "value"),
    State(f"{P}-level", "value"),
    prevent_initial_call=True,
)
def export_csv(
    n, type_, period, metric, source=None, measure=None, otype=None, date=None, level=None
):
    """The table on screen as CSV, for the selected source (shares in percent, 0–100)."""
    s = parse(
        {
            "type": type_,
            "period": period,
            "metric": metric,
            "source": source,
            "measure": measure,
            "otype": otype,
            "date": date,
            "level": level,
        }
    )
    if not n:
        return no_update
    if s["source"] == "crossref":
        d = official_frame(s)
        for c in ("share", "snapshot_share"):
            d[c] = (d[c] * 100).round(2)
        d = d.rename(
            columns={
                "share": "crossref_share (%)",
                "snapshot_share": "snapshot_share (%)",
                "numerator": "with_element",
                "difference_pp": "difference (pp)",
            }
        )
        d.insert(0, "measure", s["measure"])
        d.insert(
            1, "content_type", "" if facade.MEASURES[s["measure"]].participation else s["otype"]
        )
        d.insert(2, "current_up_to", s["date"])
        return {
            "content": facade.to_csv(d),
            "filename": f"crossref-statistics-{s['measure']}-{s['otype']}-{s['date']}.csv",
            "type": "text/csv",
        }
    if not facade.has_snapshot():
        return no_update
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
