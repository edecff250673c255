"""Bulk scoring of Crossref works files (public data file, Plus snapshots, harvested pages).

``python -m cache bulk FILE…`` → :func:`ingest` → a snapshot with ``meta.source == "bulk"``.

Both public-data formats are read, whatever the file name says (the content is sniffed):

* JSON Lines, one work per line (the 2025+ public data file), gzip-compressed or plain;
* ``{"items": [ … ]}`` per file (the 2020–2024 chunks of 3,000 records, often pretty-printed).

Every metric of the registry that can be measured on a work (presence metrics and the depth
metric, see :mod:`cache.jobs.bulk.sql`) is computed in DuckDB per member × content type × issued
year, then rolled up to the periods of docs/architecture.md §5 (`current`, `backfile`, `all`; works
with no issued year count only in `all`).

Design (measured on 2 cores, see bench/bulk.py):

* **Fast path**: one DuckDB query per file. ``read_ndjson(columns=…, ignore_errors=true)``
  streams and decompresses the file inside DuckDB and parses each line once, straight into the
  columns of :data:`cache.jobs.bulk.sql.WORK_STRUCTURE` (only the fields the metrics read); the
  metric expressions of :mod:`cache.jobs.bulk.sql` feed a hash aggregate per member × publisher ×
  prefix × type × issued year. Memory is bounded by DuckDB's ``memory_limit`` and its reader
  buffers, and does not grow with the file. The partial aggregates of every file go into one
  small table that is summed at the end (and compacted when it grows).
* Malformed lines (invalid JSON, invalid UTF-8, JSON that is not an object) come out of the
  fast path as rows of NULLs, i.e. without a member, exactly like a valid object that has no
  ``member``. Counting them is free, but DuckDB does not say where they are, so only a file
  that has such rows runs the **line scan**: a streaming reader in Python (zlib + pyarrow, no
  per-line Python work) that numbers every physical line, asks DuckDB which lines are bad and
  reports each with file and line number (and objects without a member as a count). If the
  scan does not account for every row (DuckDB's reader also drops valid lines longer than its
  buffer), the file is rescored on the streaming path.
* **Streaming path**: a gzip file cut short (or corrupt) makes DuckDB's reader fail outright;
  then the same streaming reader scores every complete line before the cut (DuckDB over Arrow
  chunks, ``from_json`` with the same structure, the same SQL) and reports the truncation with
  its line number. bz2/xz files always take this path. ``{"items": …}`` documents are read by
  DuckDB in one piece; a document that does not parse is salvaged item by item in Python.
* ``strict=True`` turns the first malformed line (in file order) into a
  :class:`BulkIngestError` naming file and line; a malformed line is never fatal otherwise and
  never dropped silently (``BulkResult.errors`` lists the first 1,000 with file and line,
  ``error_count`` counts them all).
* The SQL is checked against the registry's Python predicates work by work
  (tests/unit/test_bulk.py) and, per member, against the mock API's filter counts
  (tests/integration/test_reconcile.py).

Modules: :mod:`~cache.jobs.bulk.results` (what an ingest returns),
:mod:`~cache.jobs.bulk.inputs` (file discovery, sniffing, decompression),
:mod:`~cache.jobs.bulk.sql` (the per-metric SQL),
:mod:`~cache.jobs.bulk.job` (the DuckDB session and partial aggregates),
:mod:`~cache.jobs.bulk.fast` and :mod:`~cache.jobs.bulk.stream` (the two paths),
:mod:`~cache.jobs.bulk.tables` (the final tables),
:mod:`~cache.jobs.bulk.pipeline` (:func:`ingest`),
:mod:`~cache.jobs.bulk.evaluate` (the SQL per record).
"""

from cache.jobs.bulk.evaluate import evaluate_records
from cache.jobs.bulk.job import DEFAULT_MEMORY_LIMIT
from cache.jobs.bulk.pipeline import ingest
from cache.jobs.bulk.results import BulkIngestError, BulkIssue, BulkResult, FileReport
from cache.jobs.bulk.tables import SOURCE

__all__ = [
    "DEFAULT_MEMORY_LIMIT",
    "SOURCE",
    "BulkIngestError",
    "BulkIssue",
    "BulkResult",
    "FileReport",
    "evaluate_records",
    "ingest",
]
