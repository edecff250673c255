"""The one package pages read data through.

Pages never open files, never call Crossref and never run scoring themselves: they call the
functions re-exported here (`from cache import facade; facade.view(...)`). The state they share
is one `SnapshotCache` (`facade.cache()`): the served snapshot (the newest readable one, with a
warning in `freshness()` when the latest cannot be read), the scored (content type, period)
views of the most recent requests (LRU, `Settings.view_cache_size`) and a per-snapshot memo,
so a callback only filters, sorts and slices frames that already exist.

One module per responsibility:

    loader         SnapshotCache: configuration, served snapshot and fallback, views (LRU), memo,
                   filtered reads of other snapshots, freshness and health
    export         CSV (formula-neutralised) and formatting helpers
    vocab          metric keys/labels, content types, periods, size tiers, countries, methodology
    roster         the member table, peer groups, id parsing, lookup, name search
    views          the scored View of one (snapshot, type, period) and how it is built
    league_table   overview: league filtering/sorting/paging, CSV, headline, distribution
    member_report  member metrics, peer position, works per year/type, change since previous
    comparison     compare up to 8 members
    funders        funding ranking and saved funder reports
    geography      per-country aggregates of the snapshot
    official       Crossref's own published country statistics (imported)
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
    dois_to_fix_csv,
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
    SnapshotCache,
    cache,
    configure,
    data_dir,
    freshness,
    has_snapshot,
    health,
    meta,
    reset,
    settings,
    snapshot,
    snapshot_id,
    snapshots,
    store,
    view,
    warm,
)
from .member_report import (
    change_since_previous,
    counts_by_type,
    member_metrics,
    peer_position,
    previous_snapshot_id,
    value_text,
    works_by_year,
)
from .official import (
    MEASURES,
    REGIONS,
    area_name,
    official_available,
    official_options,
    official_series,
    official_table,
    with_snapshot,
)
from .roster import member, member_name, members, parse_member_id, search_members
from .views import View, build_view
from .vocab import (
    DEFAULT_PERIOD,
    DEFAULT_TYPE,
    PEER_GROUPINGS,
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
    "MEASURES",
    "NA",
    "PEER_GROUPINGS",
    "PERIOD_LABELS",
    "REGIONS",
    "SHORTLIST_GROUPS",
    "Drilldown",
    "LeagueFilter",
    "Loaded",
    "SnapshotCache",
    "View",
    "area_name",
    "build_view",
    "cache",
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
    "dois_to_fix_csv",
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
    "health",
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
    "official_available",
    "official_options",
    "official_series",
    "official_table",
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
    "with_snapshot",
    "works_by_year",
]
