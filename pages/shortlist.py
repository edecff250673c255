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


MIN_PEERS = 10  # a peer group with fewer eligible members is flagged as too small to rank
TIE_DIGITS = 4  # composites equal to 0.01 percentage point (fraction, 4 decimals) are ties
TIE_RULE = (
    "Ranked by composite, highest first. Composites equal to 0.01 percentage point are ties and "
    "share a rank (shown as =3); tied members are listed by more works, then lower member id."
)


def default_percent() -> dict[str, float]:
    """The published default weights as percentages summing to 100 (0.12 → 12.0)."""
    base = facade.default_weights()
    total = sum(base.values()) or 1.0
    return {k: round(100 * v / total, 1) for k, v in base.items()}


def parse_weights(value) -> dict[str, float]:
    """'key:20,key2:5' (percentages) → weights in percent; unknown keys and non-numbers ignored,
    the published defaults (in percent) for the rest; all-zero falls back to the defaults."""
    out = default_percent()
    for item in params.csv_list(value, limit=100):
        k, _, v = item.partition(":")
        k = k.strip()
        if k not in out:
            continue
        try:
            f = float(v)
        except ValueError:
            continue
        if f == f and abs(f) != float("inf"):
            out[k] = min(max(f, 0.0), 100.0)
    return out if sum(out.values()) > 0 else default_percent()


def encode_weights(weights: dict[str, float]) -> str:
    base = default_percent()
    diff = [f"{k}:{_num(v)}" for k, v in weights.items() if abs(v - base.get(k, 0.0)) > 1e-9]
    return ",".join(diff)


def weights_text(weights: dict[str, float]) -> str:
    """'References 12 %; Abstracts 12 %; …' (non-zero weights, in percent of their sum)."""
    total = sum(weights.values()) or 1.0
    return "; ".join(
        f"{facade.metric_label(k)} {_num(round(100 * v / total, 2))} %"
        for k, v in weights.items()
        if v > 0
    )


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
            step=1,
            decimalScale=1,
            suffix=" %",
            w=150,
            size="xs",
            allowNegative=False,
        )
        for k in facade.metric_keys()
    ]
    snaps = facade.snapshots()
    snap_data = [{"value": m["id"], "label": snapshot_label(m)} for m in snaps if m.get("id")]
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
                        "Weights in percent (0 = left out of the composite); they should sum "
                        "to 100 %",
                        size="sm",
                        fw=600,
                        mt="md",
                        mb=4,
                    ),
                    dmc.Group(weight_inputs, gap="sm", wrap="wrap", id=f"{P}-weights"),
                    dmc.Group(
                        [
                            dmc.Badge(id=f"{P}-weights-total", size="lg", variant="light"),
                            dmc.Text(id=f"{P}-weights-note", size="xs", c="dimmed"),
                            dmc.Button(
                                "Reset weights", id=f"{P}-reset", variant="subtle", size="xs"
                            ),
                        ],
                        justify="flex-start",
                        gap="sm",
                        mt="xs",
                    ),
                    dmc.Alert(
                        id=f"{P}-rules",
                        title="How the shortlist is ranked",
                        color="gray",
                        variant="light",
                        mt="sm",
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
                        ui.export_button(f"{P}-enrichment-export", "Export enrichment CSV"),
                    ],
                    gap="md",
                    mb="sm",
                    align="flex-end",
                    wrap="wrap",
                ),
                html.Div(id=f"{P}-enrichment"),
                ui.download(f"{P}-enrichment-download"),
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
    if not isinstance(ids, list):  # malformed request: nothing to reset
        raise dash.exceptions.PreventUpdate
    base = default_percent()
    return [base.get(i.get("metric"), 0.0) if _weight_id(i) else 0.0 for i in ids]


def _weight_id(i: object) -> bool:
    """A weight slider's pattern id ``{"type": …, "metric": str}`` (request input validation)."""
    return isinstance(i, dict) and isinstance(i.get("metric"), str)


def _state(type_, period, min_works, top, weight_values, weight_ids, before, after) -> dict:
    ids = weight_ids if isinstance(weight_ids, list) else []
    values = weight_values if isinstance(weight_values, list) else []
    w = {i["metric"]: v for i, v in zip(ids, values, strict=False) if _weight_id(i)}
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
    Output(f"{P}-weights-total", "children"),
    Output(f"{P}-weights-total", "color"),
    Output(f"{P}-weights-note", "children"),
    Output(f"{P}-rules", "children"),
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
    total = round(sum(s["weights"].values()), 1)
    ok = abs(total - 100) < 0.05
    note = (
        None
        if ok
        else f"The weights sum to {_num(total)} %, not 100 %: each is divided by the sum, so the "
        "ranking uses them as shares of the total."
    )
    if not facade.has_snapshot():
        return q, None, None, f"Total {_num(total)} %", "green" if ok else "orange", note, None
    groups = facade.shortlist(s["type"], s["period"], s["weights"], s["min_works"], s["top"])
    return (
        q,
        group_tables(groups, s),
        enrichment_block(s),
        f"Total {_num(total)} %",
        "green" if ok else "orange",
        note,
        rules_text(s),
    )


def rules_text(s: dict) -> list:
    """The ranking's rules in words: eligibility, composite, ties, peer groups, snapshot."""
    tiers = ", ".join(f"{t} {txt}" for t, txt in facade.size_tiers())
    return [
        dmc.Text(
            f"Minimum volume: only members with at least {s['min_works']:,} works of type "
            f"{facade.type_label(s['type']).lower()} in the "
            f"{facade.PERIOD_LABELS[s['period']].lower()} period are ranked.",
            size="sm",
        ),
        dmc.Text(
            "Composite: the weighted mean of the member's metric coverages with the weights "
            "above; a metric with no works is left out and the other weights re-scaled.",
            size="sm",
        ),
        dmc.Text(TIE_RULE, size="sm"),
        dmc.Text(
            f"Peer groups: members in GEM countries form one group; the others are split by "
            f"registered works ({tiers}). A group with fewer than {MIN_PEERS} eligible members "
            "is flagged as too small to compare.",
            size="sm",
        ),
        dmc.Text(f"Snapshot {facade.snapshot_id()}.", size="sm", c="dimmed"),
    ]


def _default_snaps() -> dict:
    ids = [m.get("id") for m in facade.snapshots()]
    return {"after": ids[0] if ids else "", "before": ids[1] if len(ids) > 1 else ""}


def snapshot_label(meta: dict) -> str:
    """'2025-12-01 (demo) · 20251201T120000Z-demo' for a snapshot's meta.json."""
    created = str(meta.get("created") or "")[:10]
    source = meta.get("source") or ""
    return f"{created} ({source}) · {meta.get('id')}" if created else str(meta.get("id"))


def ranked(df: pd.DataFrame) -> pd.DataFrame:
    """A group's frame in shortlist order with its rank: composite (``score``) descending, ties
    (equal to ``TIE_DIGITS`` decimals) sharing the best rank, listed by more works, then lower
    member id. Adds ``rank`` (int) and ``rank_text`` ("3" or "=3" for a tie)."""
    d = df.copy()
    d["_key"] = d["score"].astype(float).round(TIE_DIGITS)
    d = d.sort_values(["_key", "works", "member_id"], ascending=[False, False, True])
    d["rank"] = d["_key"].rank(method="min", ascending=False).astype(int)
    tied = d["_key"].duplicated(keep=False)
    d["rank_text"] = [f"={r}" if t else str(r) for r, t in zip(d["rank"], tied, strict=True)]
    return d.drop(columns="_key")


def group_sizes(s: dict) -> dict[str, int]:
    """Eligible members (≥ min works) per award group for the chosen type and period."""
    v = facade.view(s["type"], s["period"])
    eligible = v.works.index[v.works.to_numpy() >= s["min_works"]]
    from cache.facade.roster import peer_groups

    award = peer_groups("award").reindex(eligible)
    return {g: int((award == ("GEM" if g == "gem" else g)).sum()) for g in facade.SHORTLIST_GROUPS}


def group_tables(groups: dict[str, pd.DataFrame], s: dict):
    keys = facade.metric_keys()
    active = [k for k in keys if s["weights"].get(k, 0) > 0]
    sizes = group_sizes(s)
    cards = []
    for g, df in groups.items():
        d = grid.pct_records(ranked(df), ["score", *keys]) if len(df) else df
        cols = [
            {
                "field": "rank_text",
                "headerName": "#",
                "width": 70,
                "pinned": "left",
                "headerTooltip": "Rank in the group; =N marks a tie (same composite)",
            },
            grid.member_column(width=200, filter_=False, wrap=True),
            {"field": "country", "headerName": "Country", "width": 100},
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
        n = sizes.get(g, 0)
        small = (
            dmc.Alert(
                f"Small peer group: only {n} member{'s' if n != 1 else ''} with at least "
                f"{s['min_works']:,} works (minimum {MIN_PEERS} to compare fairly).",
                color="orange",
                variant="light",
                mb="xs",
                className="small-group",
            )
            if n < MIN_PEERS
            else None
        )
        tied = int(d["rank_text"].str.startswith("=").sum()) if len(d) else 0
        body = (
            grid.static_grid(
                f"{P}-grid-{g}", d, cols, height=f"{min(520, 90 + 52 * max(1, len(d)))}px"
            )
            if len(d)
            else dmc.Text(
                f"No member in this group has ≥ {s['min_works']:,} works of this type and period.",
                size="sm",
                c="dimmed",
            )
        )
        cards.append(
            ui.section(
                f"{GROUP_LABELS.get(g, g)} — top {len(d)} of {n:,} eligible",
                small,
                dmc.Text(
                    f"{tied} members share a rank with another (ties: same composite).",
                    size="xs",
                    c="dimmed",
                    mb=4,
                )
                if tied
                else None,
                body,
                sid=f"{P}-group-{g}",
            )
        )
    return html.Div(cards)


def _snapshot_pair(s: dict) -> tuple[str, str] | None:
    """(older, newer) of the two picked snapshots, whatever order they were picked in."""
    a, b = s.get("before"), s.get("after")
    if not a or not b or a == b:
        return None
    from cache.store.snapshots import id_sort_key

    return (a, b) if id_sort_key(a) <= id_sort_key(b) else (b, a)


def enrichment_frame(s: dict) -> pd.DataFrame | None:
    """Members whose composite improved between the two picked snapshots (older → newer), best
    first; only rows with a positive composite change, the improved metric named only when it
    rose. Fractions 0–1 for composites, ``*_change`` as fractions too. None when not comparable."""
    pair = _snapshot_pair(s)
    if pair is None:
        return None
    res = facade.enrichment(
        pair[0], pair[1], s["type"], s["period"], s["min_works"], 200, s["weights"]
    )
    if res is None:
        return None
    d = res[res["composite_change"].astype(float) > 0].copy()
    rose = d["most_improved_change"].astype(float) > 0
    d.loc[~rose, "most_improved"] = ""
    d.loc[~rose, "most_improved_change"] = float("nan")
    d = d.sort_values(
        ["composite_change", "works_after", "member_id"], ascending=[False, False, True]
    )
    return d.head(20)


def enrichment_block(s: dict):
    snaps = facade.snapshots()
    if len(snaps) < 2:
        return dmc.Alert(
            "Only one snapshot exists, so there is nothing to compare yet. The enrichment "
            "ranking appears after the next refresh (python -m cache refresh).",
            color="gray",
            id=f"{P}-one-snapshot",
        )
    pair = _snapshot_pair(s)
    if pair is None:
        return dmc.Text("Choose two different snapshots.", size="sm", c="dimmed")
    res = enrichment_frame(s)
    if res is None:
        return dmc.Text("These snapshots could not be compared.", size="sm", c="dimmed")
    if len(res) == 0:
        return dmc.Text(
            f"No member with ≥ {s['min_works']:,} works improved its composite score between "
            f"{pair[0]} and {pair[1]}.",
            size="sm",
            c="dimmed",
            id=f"{P}-no-improvement",
        )
    d = res.copy()
    for c in ("composite_before", "composite_after", "composite_change", "most_improved_change"):
        d[c] = (d[c].astype(float) * 100).round(1)
    d["improved"] = [
        f"{m} +{v:.1f} pp" if m else "—"
        for m, v in zip(d["most_improved"], d["most_improved_change"], strict=True)
    ]
    cols = [
        grid.member_column(width=200, filter_=False, wrap=True),
        {"field": "country", "headerName": "Country", "width": 100},
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
        {
            "field": "improved",
            "headerName": "Metric that improved most",
            "minWidth": 220,
            "headerTooltip": "The metric with the largest rise, in percentage points",
        },
    ]
    return html.Div(
        [
            dmc.Text(
                f"From {pair[0]} to {pair[1]}: members with ≥ {s['min_works']:,} works of this "
                "type and period in both snapshots whose composite score (weights above) rose; "
                "change in percentage points (pp). Members with no improvement are not listed.",
                size="xs",
                c="dimmed",
                mb=4,
            ),
            grid.static_grid(f"{P}-enrichment-grid", d, cols, height="420px"),
        ]
    )


def reproduce_columns(s: dict) -> dict:
    """Columns repeated on every CSV row so the ranking can be reproduced from the file alone:
    snapshot, type, period, rules, thresholds and every weight (percent of the weights' sum)."""
    total = sum(s["weights"].values()) or 1.0
    cols = {
        "snapshot_id": facade.snapshot_id(),
        "content_type": s["type"],
        "period": s["period"],
        "min_works": int(s["min_works"]),
        "top_n": int(s["top"]),
        "size_tiers": "; ".join(f"{t} {txt}" for t, txt in facade.size_tiers()),
        "gem_rule": "GEM = member country in Crossref's Global Equitable Membership list",
        "tie_rule": TIE_RULE,
        "composite_rule": "weighted mean of metric coverages; metrics with no works left out "
        "and the other weights re-scaled",
    }
    for k in facade.metric_keys():
        cols[f"weight {facade.metric_label(k)} (%)"] = round(
            100 * s["weights"].get(k, 0.0) / total, 2
        )
    return cols


def shortlist_frame(s: dict) -> pd.DataFrame:
    """The shortlist as one frame for CSV: peer_group, rank (int), tie (bool), eligible members
    in the group, member columns, composite and metrics in percent 0–100, then the rules."""
    groups = facade.shortlist(s["type"], s["period"], s["weights"], s["min_works"], s["top"])
    sizes = group_sizes(s)
    keys = facade.metric_keys()
    frames = []
    for g, df in groups.items():
        d = ranked(df)
        d.insert(0, "peer_group", g)
        d.insert(1, "rank", d.pop("rank"))
        d.insert(2, "tie", d.pop("rank_text").str.startswith("="))
        d.insert(3, "group_members", sizes.get(g, 0))
        d.insert(4, "small_group", sizes.get(g, 0) < MIN_PEERS)
        frames.append(d)
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    for k in ["score", *keys]:
        if k in out.columns:
            out[k] = (out[k].astype(float) * 100).round(2)
    if "works" in out.columns:
        out["works"] = out["works"].astype("Int64")
    out = out.rename(
        columns={k: f"{facade.metric_label(k)} (%)" for k in keys} | {"score": "composite (%)"}
    )
    for k, v in reproduce_columns(s).items():
        out[k] = v
    return out


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
    """The shortlist CSV, with the snapshot id, weights, thresholds and rules on every row."""
    if not n or not facade.has_snapshot():
        return no_update
    s = _state(type_, period, min_works, top, weight_values, weight_ids, None, None)
    return {
        "content": facade.to_csv(shortlist_frame(s)),
        "filename": f"crossref-shortlist-{s['type']}-{s['period']}.csv",
        "type": "text/csv",
    }


@callback(
    Output(f"{P}-enrichment-download", "data"),
    Input(f"{P}-enrichment-export", "n_clicks"),
    State(f"{P}-type", "value"),
    State(f"{P}-period", "value"),
    State(f"{P}-min-works", "value"),
    State(f"{P}-top", "value"),
    State({"type": f"{P}-weight", "metric": ALL}, "value"),
    State({"type": f"{P}-weight", "metric": ALL}, "id"),
    State(f"{P}-before", "value"),
    State(f"{P}-after", "value"),
    prevent_initial_call=True,
)
def export_enrichment(n, type_, period, min_works, top, weight_values, weight_ids, before, after):
    """The enrichment ranking as CSV: both snapshot ids, the weights and rules on every row."""
    if not n or not facade.has_snapshot():
        return no_update
    s = _state(type_, period, min_works, top, weight_values, weight_ids, before, after)
    d = enrichment_frame(s)
    pair = _snapshot_pair(s)
    if d is None or pair is None:
        return no_update
    out = pd.DataFrame(
        {
            "rank": range(1, len(d) + 1),
            "member_id": d["member_id"].astype("int64").to_numpy(),
            "name": d["name"].to_numpy(),
            "country": d["country"].to_numpy(),
            "works_before": d["works_before"].astype("int64").to_numpy(),
            "works_after": d["works_after"].astype("int64").to_numpy(),
            "composite_before (%)": (d["composite_before"].astype(float) * 100).round(2),
            "composite_after (%)": (d["composite_after"].astype(float) * 100).round(2),
            "composite_change (pp)": (d["composite_change"].astype(float) * 100).round(2),
            "most_improved_metric": d["most_improved"].to_numpy(),
            "most_improved_change (pp)": (d["most_improved_change"].astype(float) * 100).round(2),
        }
    )
    out["snapshot_before"] = pair[0]
    out["snapshot_after"] = pair[1]
    for k, v in reproduce_columns(s).items():
        if k != "snapshot_id":
            out[k] = v
    out["enrichment_rule"] = (
        "members with at least min_works works in both snapshots whose composite rose; ranked by "
        "composite change, then more works, then lower member id"
    )
    return {
        "content": facade.to_csv(out),
        "filename": f"crossref-enrichment-{s['type']}-{s['period']}.csv",
        "type": "text/csv",
    }
