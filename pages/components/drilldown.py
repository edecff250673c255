"""The member report's work-level section: layout and figures built from a saved drill-down.

`section()` is the whole block (status, Load/Refresh and Cancel buttons, progress bar, results);
`body()` the results part that the page re-renders after a drill-down finishes. The callbacks
that drive it live in `pages/member.py` (ids `member-drilldown-*`). Everything shown comes from
`facade.drilldown(member_id)` (a `Drilldown`), and every name, title and DOI is plain text.
"""

from __future__ import annotations

import math

import dash_ag_grid as dag
import dash_mantine_components as dmc
import plotly.graph_objects as go
from dash import dcc, html

from cache import facade
from pages.components import figures, ui
from pages.components import theme as th

DD = "member-drilldown"
DEFAULT_YEAR_METRICS = ("abstracts", "orcids", "funders", "licenses")
MAX_YEAR_METRICS = 8

HIDDEN = {"display": "none"}
SHOWN_BLOCK = {"display": "block"}
SHOWN_INLINE = {"display": "inline-block"}


# ------------------------------------------------------------------------------ the section


def section(mid: int, content_type: str, period: str) -> dmc.Card:
    dd = facade.drilldown(mid)
    return ui.section(
        "Work-level detail",
        html.Div(
            [
                dcc.Store(id=f"{DD}-version", data=dd.created if dd else None),
                dmc.Group(
                    [
                        html.Div(status(dd), id=f"{DD}-status", style={"flex": "1 1 400px"}),
                        dmc.Group(
                            [
                                dmc.Button(
                                    run_label(dd),
                                    id=f"{DD}-run",
                                    n_clicks=0,
                                    variant=run_variant(dd),
                                ),
                                dmc.Button(
                                    "Cancel",
                                    id=f"{DD}-cancel",
                                    n_clicks=0,
                                    variant="subtle",
                                    color="red",
                                    style=HIDDEN,
                                ),
                            ],
                            gap="xs",
                        ),
                    ],
                    justify="space-between",
                    align="flex-start",
                    wrap="wrap",
                    mb="sm",
                ),
                html.Div(
                    [
                        dmc.Progress(
                            id=f"{DD}-progress",
                            value=0,
                            size="lg",
                            striped=True,
                            animated=True,
                            transitionDuration=200,
                        ),
                        dmc.Text(
                            "Starting…", id=f"{DD}-progress-label", size="xs", c="dimmed", mt=4
                        ),
                    ],
                    id=f"{DD}-progress-box",
                    style=HIDDEN,
                    className="dd-progress",
                ),
                html.Div(id=f"{DD}-error"),
                html.Div(body(dd, content_type, period), id=f"{DD}-body"),
            ],
            id="member-drilldown",
            className="member-drilldown",
        ),
        sid=f"{DD}-section",
        description=(
            "Per-work figures the member summary cannot give: exact /works counts for "
            "licence quality, authenticated ORCID iDs, funder DOIs and who asserted them, "
            "clinical-trial numbers; estimates from a random sample of 100 works for ORCID "
            "depth, the ROR split and Creative Commons licences; coverage per publication "
            "year; and the DOIs that lack each element."
        ),
    )


def run_label(dd) -> str:
    return "Load work-level detail" if dd is None else "Refresh"


def run_variant(dd) -> str:
    return "filled" if dd is None else "light"


def status(dd):
    if dd is None:
        return dmc.Text(
            "Work-level detail is not loaded for this member. Loading runs about 80 paced list "
            "requests to the Crossref API (roughly half a minute in the polite pool); an "
            "interrupted run resumes from the 24-hour response cache.",
            size="sm",
            c="dimmed",
            id=f"{DD}-not-loaded",
        )
    created = dd.created.replace("T", " ").replace("+00:00", " UTC")[:23]
    types = ", ".join(facade.type_label(t) for t in dd.types) or "—"
    return dmc.Text(
        [
            html.Span("Loaded "),
            html.B(created, id=f"{DD}-created"),
            html.Span(
                f" · {dd.requests:,} requests in {dd.duration_s:,.1f} s · content types: {types}"
            ),
        ],
        size="sm",
    )


# ------------------------------------------------------------------------------ the results


def body(dd, content_type: str, period: str) -> list:
    """Results of a drill-down, or (dd None) the same components empty and hidden.

    The components always exist so the page's callbacks have their ids; their content is
    rendered here directly, so those callbacks need no initial call.
    """
    if dd is None:
        year_opts, year_value, gap_opts, gap_value = [], [], [], None
        metrics_block, years_fig, gap_rows, gap_note_children = None, figures.empty(""), [], None
    else:
        year_opts = [{"value": k, "label": facade.metric_label(k)} for k in dd.year_metrics()]
        year_value = default_year_metrics(dd)
        gap_type = pick_gap_type(dd, content_type)
        gap_opts = gap_options(dd, gap_type)
        gap_value = default_gap_metric(dd, gap_type)
        metrics_block = metric_block(dd, content_type, period)
        years_fig = years_figure(dd, year_value)
        gap_rows, gap_note_children = gap_view(dd, gap_value, content_type, period)
    return [
        html.Div(
            [
                dmc.Title("Work-level metrics", order=5, mb=4),
                html.Div(metrics_block, id=f"{DD}-metrics"),
                dmc.Divider(my="md"),
                dmc.MultiSelect(
                    id=f"{DD}-years-metrics",
                    data=year_opts,
                    value=year_value,
                    maxValues=MAX_YEAR_METRICS,
                    searchable=True,
                    clearable=False,
                    w=640,
                    placeholder="Add metrics…",
                    label="Coverage by publication year: metrics to plot (up to 8)",
                    comboboxProps={"zIndex": 400},
                    mb="xs",
                ),
                ui.graph(f"{DD}-years", years_fig),
                dmc.Divider(my="md"),
                dmc.Title("DOIs to fix", order=5, mb=4),
                dmc.Group(
                    [
                        dmc.Select(
                            id=f"{DD}-gap-metric",
                            label="Works without",
                            data=gap_opts,
                            value=gap_value,
                            w=340,
                            searchable=True,
                            allowDeselect=False,
                            comboboxProps={"zIndex": 400},
                        ),
                        ui.export_button(f"{DD}-download-btn", "Download this list (CSV)"),
                        dcc.Download(id=f"{DD}-download"),
                        ui.export_button(
                            f"{DD}-download-all-btn", "Download every DOI to fix (CSV)"
                        ),
                        dcc.Download(id=f"{DD}-download-all"),
                    ],
                    align="flex-end",
                    gap="md",
                    mb="xs",
                    wrap="wrap",
                ),
                dmc.Text(
                    "The full CSV has one row per DOI that lacks any element (in the measured "
                    "content types and the listed period), with the elements it lacks.",
                    size="xs",
                    c="dimmed",
                    mb="xs",
                ),
                html.Div(gap_note_children, id=f"{DD}-gap-note"),
                gap_grid(gap_rows),
            ],
            id=f"{DD}-results",
            style=HIDDEN if dd is None else None,
        ),
    ]


# ---------------------------------------------------------------- (a–c) metric table with bars


def pick_type(dd, content_type: str) -> str | None:
    types = dd.types
    if content_type in types:
        return content_type
    return types[0] if types else None


def metric_block(dd, content_type: str, period: str):
    ct = pick_type(dd, content_type)
    if ct is None:
        return dmc.Text(
            "This member had no dated works when the drill-down ran: nothing measured.",
            size="sm",
            c="dimmed",
        )
    table = dd.metric_table(ct, period)
    notes = []
    if ct != content_type:
        covered = " and ".join(facade.type_label(t) for t in dd.types)
        notes.append(
            f"Work-level counts cover this member's largest content types ({covered}); "
            f"showing {facade.type_label(ct)}. Choose one of them under Content type "
            "to switch."
        )
    if period == "all":
        notes.append("Sample estimates exist per period (current, backfile), not for all time.")
    totals_note = dd.totals_note(ct, period)
    if totals_note:
        notes.append(totals_note)
    head = dmc.Text(
        f"{facade.type_label(ct)} · {facade.PERIOD_LABELS.get(period, period)}: works published "
        f"{dd.period_text(period)}. Exact counts come from Crossref /works filters; "
        "≈ values are estimates from a random sample, with their 95 % Wilson interval.",
        size="sm",
        c="dimmed",
        mb="xs",
    )
    rows = []
    for r in table.itertuples():
        rows.append(
            html.Tr(
                [
                    html.Td(r.label),
                    html.Td(r.family, className="dd-family"),
                    html.Td(bar(r), className="dd-bar"),
                    html.Td(
                        short_reason(r.text),
                        title=r.text if r.reason else None,
                        className=f"dd-value dd-{r.status.replace(' ', '-').replace('/', '')}",
                    ),
                    html.Td(basis_text(r.status, r.source)),
                ],
                **{"data-metric": r.metric},
            )
        )
    tbl = dmc.Table(
        [
            html.Thead(
                html.Tr(
                    [
                        html.Th("Metric"),
                        html.Th("Family"),
                        html.Th("Coverage", style={"width": "22%"}),
                        html.Th("Value"),
                        html.Th("Basis"),
                    ]
                )
            ),
            html.Tbody(rows),
        ],
        striped=True,
        highlightOnHover=True,
        withTableBorder=True,
        className="dd-table",
        id=f"{DD}-metric-table",
        fz="sm",
    )
    return html.Div([head, *[dmc.Text(n, size="xs", c="orange.8", mb=4) for n in notes], tbl])


def bar(r):
    """A coverage bar: solid for exact counts, striped and lighter (with interval) for estimates."""
    if r.status not in ("measured", "estimate") or r.value is None or math.isnan(r.value):
        return None
    value = max(0.0, min(100.0, r.value * 100))
    if r.status == "measured":
        return dmc.Progress(value=value, color="indigo", size="md")
    return dmc.Progress(value=value, color="indigo.3", size="md", striped=True)


def basis_text(status: str, source: str) -> str:
    if status == "measured":
        return "exact count (/works filter)"
    if status == "estimate":
        return "estimate (random sample)"
    if status == "n/a":
        return "no works"
    if source == "not-measured":
        return "Crossref rejected the request (400)"
    return "not measured in this drill-down"


def short_reason(text: str) -> str:
    """Crossref's message without its trailing list of valid filters (kept in the tooltip):
    "Filter 'x' specified but there is no such filter for this route." """
    head, sep, _ = str(text).partition(" Valid filters for this route are:")
    return head if sep else str(text)


def failure_alert(exc: BaseException) -> dmc.Alert:
    """What the page says when a whole drill-down stopped. Crossref's own message is kept; only
    errors that can pass (rate limits, 5xx, timeouts, the error budget) suggest trying again —
    a request Crossref rejects (4xx) fails the same way every time."""
    from cache.crossref.errors import CrossrefError, ErrorBudgetExceeded

    if isinstance(exc, CrossrefError):
        reason = str(exc).rstrip(". ")
        transient = exc.retryable or isinstance(exc, ErrorBudgetExceeded)
    else:
        reason, transient = type(exc).__name__, True
    advice = (
        " Requests already answered are cached for 24 hours, so trying again resumes where it "
        "stopped."
        if transient
        else " Crossref rejected the request, so trying again would fail the same way."
    )
    return dmc.Alert(
        f"The drill-down stopped: {reason}.{advice}",
        title="Work-level detail could not be loaded",
        color="red",
        id=f"{DD}-failed",
    )


# ------------------------------------------------------------------------- (d) per-year chart


def default_year_metrics(dd) -> list[str]:
    have = dd.year_metrics()
    picked = [k for k in DEFAULT_YEAR_METRICS if k in have]
    return picked or have[:4]


def years_figure(dd, keys) -> go.Figure:
    title = "Coverage by publication year"
    basis = (
        "per-work share of each year's works that have the element · all content types · "
        "this member only"
    )
    if dd is None:
        return figures.empty("No work-level detail loaded.", title)
    df = dd.years()
    keys = [k for k in (keys or []) if isinstance(k, str) and k in set(df["metric"])][
        :MAX_YEAR_METRICS
    ]
    if df.empty or not keys:
        return figures.empty("Pick one or more metrics to plot.", title)
    fig = go.Figure()
    totals = df.drop_duplicates("year")[["year", "total"]].sort_values("year")
    # the works bars sit on the first y axis (right) so the coverage lines (second axis, left,
    # overlaying) are drawn above them
    fig.add_bar(
        x=totals["year"],
        y=totals["total"],
        name="Works per year (count, right axis)",
        marker_color="#e9ecef",
        hovertemplate="%{x}: %{y:,} works<extra></extra>",
    )
    for i, k in enumerate(keys):
        d = df[df["metric"] == k]
        fig.add_scatter(
            x=d["year"],
            y=(d["coverage"] * 100).round(1),
            mode="lines+markers",
            yaxis="y2",
            name=figures.esc(facade.metric_label(k)),
            line={"color": th.SERIES[i % len(th.SERIES)], "width": 2},
            marker={"size": 5},
            customdata=list(zip(d["covered"], d["total"], strict=True)),
            hovertemplate=(
                figures.esc(facade.metric_label(k)) + " %{x}: %{y:.1f} %"
                "<br>%{customdata[0]:,} of %{customdata[1]:,} works<extra></extra>"
            ),
        )
    fig.update_layout(
        template=figures.TEMPLATE,
        height=420,
        title=figures.title(title, basis),
        xaxis={"title": {"text": "Publication year"}, "tickformat": "d", "type": "linear"},
        yaxis2={
            "title": {"text": "Coverage (% of the year's works)"},
            "ticksuffix": " %",
            "range": [-1, 102],
            "overlaying": "y",
            "side": "left",
            "tickmode": "auto",
            "gridcolor": "#eef0f3",
            "automargin": True,
        },
        yaxis={
            "title": {"text": "Works (count)"},
            "side": "right",
            "showgrid": False,
            "tickformat": ",.0f",
            "rangemode": "tozero",
            "zeroline": False,
        },
        hovermode="closest",
    )
    return figures.legend_below(fig, 120)


# ------------------------------------------------------------------------------ (e) gap lists


def pick_gap_type(dd, content_type: str) -> str | None:
    """The content type whose gap lists to show: the selected one when it was listed, else the
    member's largest listed type (None when there are no gap lists)."""
    types = dd.gap_types()
    if content_type in types:
        return content_type
    return types[0] if types else None


def default_gap_metric(dd, content_type: str | None = None) -> str | None:
    keys = dd.gap_metrics()
    if not keys:
        return None
    # the first metric (registry order) with works missing
    with_missing = [k for k in keys if (dd.gap(k, content_type)["missing"] or 0) > 0]
    return with_missing[0] if with_missing else keys[0]


def gap_options(dd, content_type: str | None) -> list[dict]:
    """Options of the "Works without" select for one content type (with missing counts)."""
    return [{"value": k, "label": gap_option_label(dd, k, content_type)} for k in dd.gap_metrics()]


def gap_option_label(dd, key: str, content_type: str | None = None) -> str:
    g = dd.gap(key, content_type)
    if g["error"]:
        return f"{facade.metric_label(key)} (not measured)"
    missing = g["missing"]
    return (
        f"{facade.metric_label(key)} ({missing:,} missing)"
        if missing is not None
        else facade.metric_label(key)
    )


def gap_view(dd, key: str | None, content_type: str, period: str) -> tuple[list[dict], object]:
    """(grid rows, note) of one metric's DOIs to fix for the selected type and period."""
    if dd is None or not key or key not in dd.gap_metrics():
        return [], gap_note(dd, None, None)
    ct = pick_gap_type(dd, content_type)
    gap = dd.gap(key, ct)
    return gap["rows"], gap_note(dd, key, gap, ct, content_type, period)


def gap_note(
    dd,
    key: str | None,
    gap: dict | None,
    content_type: str | None = None,
    selected_type: str | None = None,
    selected_period: str | None = None,
):
    """What one gap list holds: its type and period, how many works lack the element, whether
    the list is capped, and why it may be empty (Crossref rejected it; /works finds no works)."""
    if not key or gap is None:
        return dmc.Text("No gap list in this drill-down.", size="sm", c="dimmed")
    label = facade.metric_label(key)
    missing, shown = gap["missing"] or 0, gap["shown"]
    tl = facade.type_label(content_type).lower() if content_type else ""
    kind, one = (f"works of type {tl}", f"work of type {tl}") if tl else ("works", "work")
    period = f"published {dd.period_text(dd.gap_period)} ({dd.gap_period} period)"
    notes = []
    if selected_type and content_type and selected_type != content_type:
        notes.append(
            f"No list for {facade.type_label(selected_type).lower()}: lists cover "
            + ", ".join(facade.type_label(t).lower() for t in dd.gap_types())
            + "."
        )
    if selected_period and selected_period != dd.gap_period:
        notes.append(
            f"These lists cover the {dd.gap_period} period; Refresh with the "
            f"{facade.PERIOD_LABELS.get(selected_period, selected_period).lower()} period "
            "selected to list that period instead."
        )
    totals = dd.totals(content_type, dd.gap_period) if content_type else None
    if gap["error"]:
        text = f"{label}: not measured: {gap['error']}"
    elif missing == 0 and totals and totals["works"] == 0 and totals["summary"] > 0:
        text = (
            f"/works finds no {kind} {period}, though Crossref's member summary counts "
            f"{totals['summary']:,}: there is nothing to list."
        )
    elif missing == 0:
        text = f"No {one} {period} lacks {label}."
    elif gap["capped"]:
        text = (
            f"{missing:,} {kind} {period} lack {label}. The list holds the first "
            f"{shown:,} (capped at {dd.gap_cap:,}); the CSV has the same rows."
        )
    else:
        text = f"{missing:,} {kind} {period} lack {label}: all of them are listed."
    return html.Div(
        [
            dmc.Text(text, size="sm", mb="xs", id=f"{DD}-gap-count"),
            *[dmc.Text(n, size="xs", c="orange.8", mb=4) for n in notes],
        ]
    )


GAP_COLUMNS = [
    {
        "field": "DOI",
        "headerName": "DOI",
        "cellRenderer": "DoiLink",
        "minWidth": 240,
        "flex": 2,
        "tooltipField": "DOI",
    },
    {"field": "title", "headerName": "Title", "minWidth": 300, "flex": 4, "tooltipField": "title"},
    {"field": "type", "headerName": "Type", "width": 150},
    {"field": "year", "headerName": "Year", "width": 96, "type": "numericColumn"},
]


def gap_grid(rows: list[dict]) -> dag.AgGrid:
    return dag.AgGrid(
        id=f"{DD}-gap-grid",
        columnDefs=GAP_COLUMNS,
        rowData=rows,
        defaultColDef={"sortable": True, "resizable": True, "filter": True},
        dashGridOptions={
            "animateRows": False,
            "tooltipShowDelay": 300,
            "pagination": True,
            "paginationPageSize": 20,
            "paginationPageSizeSelector": [20, 50, 100],
        },
        style={"height": "560px", "width": "100%"},
        className="dash-grid",
    )


def gaps_filename(mid: int, key: str, content_type: str | None = None) -> str:
    kind = f"-{content_type}" if content_type else ""
    return f"crossref-member-{int(mid)}{kind}-missing-{key}.csv"


def fix_filename(mid: int) -> str:
    return f"crossref-member-{int(mid)}-dois-to-fix.csv"
