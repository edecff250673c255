"""The one package pages read data through.

Pages never open files, never call Crossref and never run scoring themselves: they call the
functions re-exported here (`from cache import facade; facade.view(...)`). Everything is
memoised per snapshot id, and the heavy scoring for one (content type, period) is computed
once per snapshot and kept in-process (`view()`), so a callback only filters, sorts and slices
frames that already exist.

One module per responsibility:

    loader         configuration, snapshot loading, the per-snapshot memo, filtered reads of others
    export         CSV (formula-neutralised) and formatting helpers
    vocab          metric keys/labels, content types, periods, size tiers, countries, methodology
    roster         the member table, id parsing, lookup, name search
    views          the memoised scoring View per (snapshot, type, period); warm-up
    league_table   overview: league filtering/sorting/paging, CSV, headline, distribution
    member_report  member metrics, peer position, works per year/type, change since previous
    comparison     compare up to 8 members
    funders        funding ranking and saved funder reports
    geography      per-country aggregates
    awards         award shortlist and enrichment
    drilldown      saved work-level drill-downs (cache/jobs/drilldown.py) and running one

The module names avoid the public function names (`members()`, `league()`, `compare()`,
`countries()`, `shortlist()`), so `facade.<name>` is always the function and
`cache.facade.<module>` always the module.
"""

from __future__ import annotations

from .awards import SHORTLIST_GROUPS, clean_weights, enrichment, shortlist, shortlist_csv
from .comparison import compare
from .drilldown import (
    Drilldown,
    drilldown,
    drilldown_csv,
    drilldown_keys,
)
from .export import NA, csv_safe, estimate_short, estimate_text, pct, to_csv
from .funders import (
    funder_report,
    funder_reports,
    funders_summary,
    funding_metrics,
)
from .geography import countries
from .league_table import (
    LEAGUE_BASE_COLUMNS,
    LeagueFilter,
    distribution,
    headline,
    league,
    league_csv,
    league_page,
    league_positions,
    records,
)
from .loader import (
    Loaded,
    configure,
    data_dir,
    freshness,
    has_snapshot,
    meta,
    reset,
    settings,
    snapshot,
    snapshot_id,
    snapshots,
    store,
)
from .loader import _snapshots as _snapshots  # private state: tests
from .loader import _views as _views  # private state: tests
from .member_report import (
    PEER_GROUPINGS,
    change_since_previous,
    counts_by_type,
    member_metrics,
    peer_position,
    previous_snapshot_id,
    value_text,
    works_by_year,
)
from .roster import member, member_name, members, parse_member_id, search_members
from .views import View, view, warm
from .views import _build_view as _build_view  # private: bench/callbacks.py
from .vocab import (
    DEFAULT_PERIOD,
    DEFAULT_TYPE,
    PERIOD_LABELS,
    content_types,
    country_options,
    default_weights,
    methodology_markdown,
    metric_info,
    metric_keys,
    metric_label,
    periods,
    size_tiers,
    tier_names,
    type_label,
    valid_period,
    valid_type,
)

__all__ = [
    "DEFAULT_PERIOD",
    "DEFAULT_TYPE",
    "LEAGUE_BASE_COLUMNS",
    "NA",
    "PEER_GROUPINGS",
    "PERIOD_LABELS",
    "SHORTLIST_GROUPS",
    "Drilldown",
    "LeagueFilter",
    "Loaded",
    "View",
    "change_since_previous",
    "clean_weights",
    "compare",
    "configure",
    "content_types",
    "countries",
    "country_options",
    "counts_by_type",
    "csv_safe",
    "data_dir",
    "default_weights",
    "distribution",
    "drilldown",
    "drilldown_csv",
    "drilldown_keys",
    "enrichment",
    "estimate_short",
    "estimate_text",
    "freshness",
    "funder_report",
    "funder_reports",
    "funders_summary",
    "funding_metrics",
    "has_snapshot",
    "headline",
    "league",
    "league_csv",
    "league_page",
    "league_positions",
    "member",
    "member_metrics",
    "member_name",
    "members",
    "meta",
    "methodology_markdown",
    "metric_info",
    "metric_keys",
    "metric_label",
    "parse_member_id",
    "pct",
    "peer_position",
    "periods",
    "previous_snapshot_id",
    "records",
    "reset",
    "search_members",
    "settings",
    "shortlist",
    "shortlist_csv",
    "size_tiers",
    "snapshot",
    "snapshot_id",
    "snapshots",
    "store",
    "tier_names",
    "to_csv",
    "type_label",
    "valid_period",
    "valid_type",
    "value_text",
    "view",
    "warm",
    "works_by_year",
]
