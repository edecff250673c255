"""The write side: jobs that read Crossref (or files) and write to the store.

refresh          /members → snapshot
drilldown        member drill-down: /works counts, facets, samples, DOIs to fix
funder_report    funder report: a funder's works faceted by publisher
bulk/            works files (public data file, Plus snapshot, saved API pages) → snapshot
locations        member ``location`` free text → country
cli              ``python -m cache …``
"""
