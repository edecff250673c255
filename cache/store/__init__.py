"""The on-disk formats of the data directory, one module per file family; the only code that
knows paths, layouts and id formats.

    snapshots        dated snapshots (meta.json + Parquet tables), LATEST pointer, listing
    drilldowns       member drill-down results  (drilldown/member-<id>.json)
    funder_reports   funder reports             (drilldown/funder-<key>.json)
    files            the one atomic JSON writer and reader the others use
    csvsafe          the one CSV writer every export goes through (formula guard, quoting)
"""
