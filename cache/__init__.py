"""Our side of the data flow, in the order data moves through it (docs/architecture.md):

    cache.crossref   speaks HTTP to Crossref: settings, errors, client, raw cache, query vocabulary
    cache.store      the on-disk formats: snapshots, drill-down and funder-report files, CSV writer
    cache.jobs       the write side: refresh, member drill-down, funder report, bulk ingest; the CLI
    cache.facade     the read side: store → scored views → pages (no client, server or write)

Nothing is imported here on purpose: ``import cache.store.snapshots`` must not pull in httpx, and
``cache.crossref.client`` is the only module that imports it.
"""
