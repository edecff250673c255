"""AG Grid factories. Member names are plain text; links use the React cell renderer in assets/."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import dash_ag_grid as dag
import pandas as pd

from cache import facade

PCT_FORMAT = {"function": "params.value == null ? '—' : d3.format('.1f')(params.value) + ' %'"}
INT_FORMAT = {"function": "params.value == null ? '—' : d3.format(',')(params.value)"}
PP_FORMAT = {"function": "params.value == null ? '—' : d3.format('+.1f')(params.value) + ' pp'"}
TEXT_OR_DASH = {
    "function": "(params.value == null || params.value === '') ? '—' : String(params.value)"
}

NUMBER_FILTER = {
    "filterOptions": [
        "greaterThanOrEqual",
        "lessThanOrEqual",
        "inRange",
        "equals",
        "blank",
        "notBlank",
    ],
    "maxNumConditions": 1,
    "buttons": ["reset"],
}
TEXT_FILTER = {
    "filterOptions": ["contains", "notContains", "equals", "startsWith"],
    "maxNumConditions": 1,
    "buttons": ["reset"],
    "debounceMs": 400,
}


def member_column(
    field: str = "name",
    header: str = "Member",
    width: int = 260,
    pinned=True,
    filter_: bool = True,
    wrap: bool = False,
) -> dict:
    """The member-name column (a link to the member page). ``wrap``: long names wrap onto more
    lines (the row grows) instead of being cut with an ellipsis — for tables where the name is
    what matters (shortlists)."""
    col = {
        "field": field,
        "headerName": header,
        "cellRenderer": "MemberLink",
        "minWidth": width,
        "tooltipField": field,
    }
    if wrap:
        col.update(wrapText=True, autoHeight=True, cellClass="cell-wrap")
    if pinned:
        col["pinned"] = "left"
    if filter_:
        col.update(filter="agTextColumnFilter", filterParams=TEXT_FILTER)
    return col


def pct_column(
    key: str,
    header: str | None = None,
    tooltip: str | None = None,
    width: int = 136,
    filter_: bool = True,
) -> dict:
    col = {
        "field": key,
        "headerName": header or facade.metric_label(key),
        "type": "numericColumn",
        "valueFormatter": PCT_FORMAT,
        "minWidth": width,
        "width": width,
    }
    if tooltip:
        col["headerTooltip"] = tooltip
    if filter_:
        col.update(filter="agNumberColumnFilter", filterParams=NUMBER_FILTER)
    return col


def metric_columns(keys: Iterable[str], filter_: bool = True) -> list[dict]:
    out = []
    for k in keys:
        info = facade.metric_info(k)
        tip = f"{info['label']}: {info['description']} (% of works; — = no works)"
        out.append(pct_column(k, info["label"], tip, filter_=filter_))
    return out


def league_columns(keys: Sequence[str]) -> list[dict]:
    return [
        member_column(),
        {
            "field": "member_id",
            "headerName": "ID",
            "width": 90,
            "type": "numericColumn",
            "filter": "agNumberColumnFilter",
            "filterParams": NUMBER_FILTER,
        },
        {
            "field": "country",
            "headerName": "Country",
            "width": 116,
            "valueFormatter": TEXT_OR_DASH,
            "tooltipField": "country_name",
            "filter": "agTextColumnFilter",
            "filterParams": TEXT_FILTER,
        },
        {"field": "size_tier", "headerName": "Size tier", "width": 110, "sortable": True},
        {
            "field": "works",
            "headerName": "Works",
            "width": 110,
            "type": "numericColumn",
            "valueFormatter": INT_FORMAT,
            "filter": "agNumberColumnFilter",
            "filterParams": NUMBER_FILTER,
            "headerTooltip": "Works of this content type and period",
        },
        pct_column(
            "composite",
            "Composite",
            "Weighted mean of the metrics (default weights; see Methodology)",
            width=124,
        ),
        *metric_columns(keys),
    ]


def infinite_grid(grid_id: str, column_defs: list[dict], height: str = "560px") -> dag.AgGrid:
    """A grid whose rows come from the server block by block (rowModelType='infinite')."""
    return dag.AgGrid(
        id=grid_id,
        columnDefs=column_defs,
        rowModelType="infinite",
        defaultColDef={
            "sortable": True,
            "resizable": True,
            "suppressHeaderMenuButton": False,
            "wrapHeaderText": True,
            "autoHeaderHeight": True,
        },
        dashGridOptions={
            "rowBuffer": 0,
            "cacheBlockSize": 100,
            "maxBlocksInCache": 20,
            "infiniteInitialRowCount": 100,
            "maxConcurrentDatasourceRequests": 1,
            "tooltipShowDelay": 300,
            "animateRows": False,
        },
        style={"height": height, "width": "100%"},
        className="dash-grid",
    )


def static_grid(
    grid_id: str,
    df: pd.DataFrame | None,
    column_defs: list[dict],
    height: str = "420px",
    export_name: str | None = None,
    fit: bool = False,
) -> dag.AgGrid:
    """A small client-side grid (already-aggregated data: ≤ a few hundred rows)."""
    rows = [] if df is None else df.to_dict("records")
    rows = [
        {k: (None if isinstance(v, float) and v != v else v) for k, v in r.items()} for r in rows
    ]
    return dag.AgGrid(
        id=grid_id,
        columnDefs=column_defs,
        rowData=rows,
        defaultColDef={
            "sortable": True,
            "resizable": True,
            "filter": True,
            "wrapHeaderText": True,
            "autoHeaderHeight": True,
        },
        dashGridOptions={"animateRows": False, "tooltipShowDelay": 300},
        csvExportParams={"fileName": export_name} if export_name else None,
        columnSize="responsiveSizeToFit" if fit else None,
        style={"height": height, "width": "100%"},
        className="dash-grid",
    )


def pct_records(df: pd.DataFrame, cols: Iterable[str]) -> pd.DataFrame:
    """0–1 columns → 0–100 rounded to 0.1 (for grids); NaN stays NaN (shown as —)."""
    out = df.copy()
    for c in cols:
        if c in out.columns:
            out[c] = (out[c].astype(float) * 100).round(1)
    return out
