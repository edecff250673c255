"""Data layer: Crossref client, raw-response cache, snapshot store, refresh jobs and CLI.

Nothing is imported here on purpose: ``import cache.snapshots`` must not pull in httpx, and
``cache.client`` is the only module that imports it (docs/architecture.md §1).
"""
