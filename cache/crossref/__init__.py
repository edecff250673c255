"""The only code that speaks HTTP to Crossref: settings, typed errors, the paced client, the
raw-response cache and the query vocabulary (periods as date filters, filter clauses).

Submodules are imported explicitly (``from cache.crossref.client import CrossrefClient``) so that
importing the vocabulary never pulls in httpx.
"""
