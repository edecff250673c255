"""Award shortlist: top members per peer group (GEM, small, medium, large) with published, editable
weights, and an enrichment ranking (improvement between two snapshots).

URL: /shortlist?type=journal-article&period=current&min_works=100&top=10&w=references:2,abstracts:1
     &before=<snapshot id>&after=<snapshot id>
"""

from __future__ import annotations

import dash
import dash_mantine_components as dmc
import pandas as pd
from dash import ALL, Input, Output, State, callback, dcc, html, no_update

from cache import facade
from pages.components import grid, params, ui

dash.register_page(
    __name__,
    path="/shortlist",
    name="Award shortlist",
    title="Award shortlist · Crossref metadata completeness",
    order=3,
)

P = "shortlist"
DEFAULTS = {
    "type": facade.DEFAULT_TYPE,
    "period": facade.DEFAULT_PERIOD,
    "min_works": 100,
    "top": 10,
}
GROUP_LABELS = {
    "gem": "GEM countries",
    "small": "Small (non-GEM)",
    "medium": "Medium (non-GEM)",
    "large": "Large (non-GEM)",
}


def parse_weights(value) -> dict[str, float]:
    """'key:2,key2:0.5' → weights; unknown keys and non-numbers ignored; defaults for the rest."""
    raw = {}
    for item in params.csv_list(value, limit=100):
        k, _, v = item.partition(":")
        raw[k.strip()] = v.strip()
    return facade.clean_weights(raw)


def encode_weights(weights: dict[str, float]) -> str:
    base = facade.default_weights()
    diff = [f"{k}:{_num(v)}" for k, v in weights.items() if abs(v - base.get(k, 0.0)) > 1e-9]
    return ",".join(diff)


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:g}"


def parse(kwargs: dict) -> dict:
    have = facade.has_snapshot()
    snaps = [m.get("id") for m in facade.snapshots()] if have else []
    after = params.choice(kwargs.get("after"), snaps, snaps[0] if snaps else "")
    before = params.choice(kwargs.get("before"), snaps, snaps[1] if len(snaps) > 1 else "")
    return {
        "type": facade.valid_type(params.first(kwargs.get("type"))) if have else DEFAULTS["type"],
        "period": facade.valid_period(params.first(kwargs.get("period"))),
        "min_works": params.integer(kwargs.get("min_works"), 100, 0, 10**9),
        "top": params.integer(kwargs.get("top"), 10, 1, 100),
        "weights": parse_weights(kwargs.get("w")) if have else {},
        "before": before,
        "after": after,
    }


def layout(
    type=None, period=None, min_works=None, top=None, w=None, before=None, after=None, **kwargs
):
    if not facade.has_snapshot():
        return html.Div([ui.page_header("Award shortlist"), ui.no_snapshot()])
    s = parse(
        {
            "type": type,
            "period": period,
            "min_works": min_works,
            "top": top,
            "w": w,
            "before": before,
            "after": after,
        }
    )
    tiers = ", ".join(f"{t}: {txt}" for t, txt in facade.size_tiers())
    weight_inputs = [
        dmc.NumberInput(
            id={"type": f"{P}-weight", "metric": k},
            label=facade.metric_label(k),
            value=s["weights"].get(k, 0.0),
            min=0,
            max=100,
            step=0.5,
            w=150,
            size="xs",
            allowNegative=False,
        )
        for k in facade.metric_keys()
    ]
    snaps = facade.snapshots()
    snap_data = [
        {"value": m["id"], "label": f"{m['id']} ({m.get('source', '')})"}
        for m in snaps
        if m.get("id")
    ]
    return html.Div(
        [
            dcc.Location(id=f"{P}-location", refresh=False),
            ui.page_header(
                "Award shortlist",
                "Ranks members within peer groups the way the Crossref Metadata Awards do: "
                "GEM countries, then small, medium and large members elsewhere. The composite is "
                "the weighted mean of the metrics with works (weights below; defaults as published "
                "on the Methodology page).",
            ),
            dmc.Card(
                [
                    dmc.Group(
                        [
                            ui.type_select(f"{P}-type", s["type"]),
                            ui.period_control(f"{P}-period", s["period"]),
                            dmc.NumberInput(
                                id=f"{P}-min-works",
                                label="Minimum works",
                                value=s["min_works"],
                                min=0,
                                step=50,
                                w=140,
                                allowNegative=False,
                                allowDecimal=False,
                            ),
                            dmc.NumberInput(
                                id=f"{P}-top",
                                label="Top N per group",
                                value=s["top"],
                                min=1,
                                max=100,
                                w=130,
                                allowNegative=False,
                                allowDecimal=False,
                            ),
                            ui.export_button(f"{P}-export"),
                        ],
                        align="flex-end",
                        gap="lg",
                        wrap="wrap",
                    ),
                    dmc.Text(
                        f"Size tiers by registered works — {tiers}. GEM = member country in "
                        "Crossref's Global Equitable Membership list.",
                        size="xs",
                        c="dimmed",
                        mt="sm",
                    ),
                    dmc.Text(
                        "Weights (0 = left out of the composite)", size="sm", fw=600, mt="md", mb=4
                    ),
                    dmc.Group(weight_inputs, gap="sm", wrap="wrap", id=f"{P}-weights"),
                    dmc.Group(
                        dmc.Button("Reset weights", id=f"{P}-reset", variant="subtle", size="xs"),
                        justify="flex-start",
                        mt="xs",
                    ),
                    ui.download(f"{P}-download"),
                ],
                mb="md",
            ),
            html.Div(id=f"{P}-groups"),
            ui.section(
                "Enrichment: most improved between two snapshots",
                dmc.Group(
                    [
                        dmc.Select(
                            id=f"{P}-before",
                            label="From snapshot",
                            data=snap_data,
                            value=s["before"] or None,
                            w=300,
                            allowDeselect=False,
                            comboboxProps={"zIndex": 400},
                        ),
                        dmc.Select(
                            id=f"{P}-after",
                            label="To snapshot",
                            data=snap_data,
                            value=s["after"] or None,
                            w=300,
                            allowDeselect=False,
                            comboboxProps={"zIndex": 400},
                        ),
                    ],
                    gap="md",
                    mb="sm",
                ),
                html.Div(id=f"{P}-enrichment"),
                sid=f"{P}-enrichment-section",
            ),
        ]
    )


@callback(
    Output({"type": f"{P}-weight", "metric": ALL}, "value"),
    Input(f"{P}-reset", "n_clicks"),
    State({"type": f"{P}-weight", "metric": ALL}, "id"),
    prevent_initial_call=True,
)
def reset_weights(n, ids):
    base = facade.default_weights()
    return [base.get(i["metric"], 0.0) for i in ids]


def _state(type_, period, min_works, top, weight_values, weight_ids, before, after) -> dict:
    w = {i["metric"]: v for i, v in zip(weight_ids or [], weight_values or [], strict=False)}
    return parse(
        {
            "type": type_,
            "period": period,
            "min_works": None if min_works is None else str(min_works),
            "top": None if top is None else str(top),
            "w": ",".join(f"{k}:{v}" for k, v in w.items() if v is not None),
            "before": before,
            "after": after,
        }
    )


@callback(
    Output(f"{P}-location", "search"),
    Output(f"{P}-groups", "children"),
    Output(f"{P}-enrichment", "children"),
    Input(f"{P}-type", "value"),
    Input(f"{P}-period", "value"),
    Input(f"{P}-min-works", "value"),
    Input(f"{P}-top", "value"),
    Input({"type": f"{P}-weight", "metric": ALL}, "value"),
    Input(f"{P}-before", "value"),
    Input(f"{P}-after", "value"),
    State({"type": f"{P}-weight", "metric": ALL}, "id"),
)
def update(type_, period, min_works, top, weight_values, before, after, weight_ids):
    s = _state(type_, period, min_works, top, weight_values, weight_ids, before, after)
    q = params.query(
        {
            "type": s["type"],
            "period": s["period"],
            "min_works": s["min_works"],
            "top": s["top"],
            "w": encode_weights(s["weights"]),
            "before": s["before"],
            "after": s["after"],
        },
        {**DEFAULTS, **_default_snaps()},
    )
    if not facade.has_snapshot():
        return q, None, None
    groups = facade.shortlist(s["type"], s["period"], s["weights"], s["min_works"], s["top"])
    return q, group_tables(groups, s), enrichment_block(s)


def _default_snaps() -> dict:
    ids = [m.get("id") for m in facade.snapshots()]
    return {"after": ids[0] if ids else "", "before": ids[1] if len(ids) > 1 else ""}


def group_tables(groups: dict[str, pd.DataFrame], s: dict):
    keys = facade.metric_keys()
    active = [k for k in keys if s["weights"].get(k, 0) > 0]
    cards = []
    for g, df in groups.items():
        d = grid.pct_records(df, ["score", *keys]).copy()
        d.insert(0, "rank", range(1, len(d) + 1))
        cols = [
            {"field": "rank", "headerName": "#", "width": 64, "pinned": "left"},
            grid.member_column(width=230, filter_=False),
            {"field": "country", "headerName": "Country", "width": 116},
            {
                "field": "works",
                "headerName": "Works",
                "valueFormatter": grid.INT_FORMAT,
                "type": "numericColumn",
                "width": 104,
            },
            grid.pct_column(
                "score", "Composite", "Weighted mean with the weights above", filter_=False
            ),
            *grid.metric_columns(active, filter_=False),
        ]
        body = (
            grid.static_grid(
                f"{P}-grid-{g}", d, cols, height=f"{min(460, 70 + 42 * max(1, len(d)))}px"
            )
            if len(d)
            else dmc.Text(
                f"No member in this group has ≥ {s['min_works']:,} works of this type and period.",
                size="sm",
                c="dimmed",
            )
        )
        cards.append(
            ui.section(f"{GROUP_LABELS.get(g, g)} — top {len(d)}", body, sid=f"{P}-group-{g}")
        )
    return html.Div(cards)


def enrichment_block(s: dict):
    snaps = facade.snapshots()
    if len(snaps) < 2:
        return dmc.Alert(
            "Only one snapshot exists, so there is nothing to compare yet. The enrichment "
            "ranking appears after the next refresh (python -m cache refresh).",
            color="gray",
            id=f"{P}-one-snapshot",
        )
    if not s["before"] or not s["after"] or s["before"] == s["after"]:
        return dmc.Text("Choose two different snapshots.", size="sm", c="dimmed")
    res = facade.enrichment(
        s["before"], s["after"], s["type"], s["period"], s["min_works"], 20, s["weights"]
    )
    if res is None or len(res) == 0:
        return dmc.Text(
            "No member qualifies for an improvement score between these snapshots.",
            size="sm",
            c="dimmed",
        )
    d = res.copy()
    for c in ("composite_before", "composite_after"):
        d[c] = (d[c].astype(float) * 100).round(1)
    for c in ("composite_change", "most_improved_change"):
        d[c] = (d[c].astype(float) * 100).round(1)
    cols = [
        grid.member_column(width=230, filter_=False),
        {"field": "country", "headerName": "Country", "width": 116},
        {
            "field": "works_after",
            "headerName": "Works (now)",
            "valueFormatter": grid.INT_FORMAT,
            "type": "numericColumn",
            "width": 120,
        },
        {
            "field": "composite_before",
            "headerName": "Composite before",
            "valueFormatter": grid.PCT_FORMAT,
            "type": "numericColumn",
        },
        {
            "field": "composite_after",
            "headerName": "Composite after",
            "valueFormatter": grid.PCT_FORMAT,
            "type": "numericColumn",
        },
        {
            "field": "composite_change",
            "headerName": "Change",
            "valueFormatter": grid.PP_FORMAT,
            "type": "numericColumn",
            "sort": "desc",
        },
        {"field": "most_improved", "headerName": "Most improved metric", "minWidth": 170},
        {
            "field": "most_improved_change",
            "headerName": "Its change",
            "valueFormatter": grid.PP_FORMAT,
            "type": "numericColumn",
        },
    ]
    return html.Div(
        [
            dmc.Text(
                f"Members with ≥ {s['min_works']:,} works of this type and period in both "
                "snapshots; change in percentage points of the composite score (weights above).",
                size="xs",
                c="dimmed",
                mb=4,
            ),
            grid.static_grid(f"{P}-enrichment-grid", d, cols, height="420px"),
        ]
    )


@callback(
    Output(f"{P}-download", "data"),
    Input(f"{P}-export", "n_clicks"),
    State(f"{P}-type", "value"),
    State(f"{P}-period", "value"),
    State(f"{P}-min-works", "value"),
    State(f"{P}-top", "value"),
    State({"type": f"{P}-weight", "metric": ALL}, "value"),
    State({"type": f"{P}-weight", "metric": ALL}, "id"),
    prevent_initial_call=True,
)
def export_csv(n, type_, period, min_works, top, weight_values, weight_ids):
    if not n or not facade.has_snapshot():
        return no_update
    s = _state(type_, period, min_works, top, weight_values, weight_ids, None, None)
    text = facade.shortlist_csv(s["type"], s["period"], s["weights"], s["min_works"], s["top"])
    return {
        "content": text,
        "filename": f"crossref-shortlist-{s['type']}-{s['period']}.csv",
        "type": "text/csv",
    }
