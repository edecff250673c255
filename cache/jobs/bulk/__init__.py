"""Bulk scoring of Crossref works files (public data file, Plus snapshots, harvested pages).

``python -m cache bulk FILE…`` → :func:`ingest` → a snapshot with ``meta.source == "bulk"``.

What is read (decided by content — magic bytes and the first JSON token — not by file name;
see :mod:`cache.jobs.bulk.inputs`):

* JSON Lines, one work per line (the 2025+ public data file);
* ``{"items": [ … ]}`` per file (the 2020–2024 chunks of 3,000 records, often pretty-printed);
* REST API responses saved as-is: ``"message-type": "work-list"`` (``message.items``) or
  ``"work"`` (``message``); JSON arrays of works; one pretty-printed work;
* each of these plain or gzip/bz2/xz, alone, in folders, or as members of a ``.tar`` (the
  public data file) or ``.tar.gz`` (Plus ``all.json.tar.gz``), read as a stream
  (:mod:`cache.jobs.bulk.archive`: members are scored one batch at a time, never unpacked in
  full).

Every metric of the registry that can be measured on a work (presence metrics and the depth
metric, see :mod:`cache.jobs.bulk.sql`) is computed in DuckDB, one narrow row per work (DOI,
``indexed``/``deposited`` timestamps, member, type, issued year, one boolean per metric) in an
on-disk DuckDB table. Then **duplicates** are dropped: a DOI (compared case-insensitively)
seen more than once — a data-file chunk plus a later ``from-index-date`` update file, or the
same chunk twice — keeps its latest copy by ``indexed``, then ``deposited``, then file order;
the count dropped is reported. The rest is summed per member × content type × issued year and
rolled up to the periods of docs/architecture.md §5 (`current`, `backfile`, `all`; works with
no issued year count only in `all`).

A run that scores **no work** raises :class:`NothingScored` naming every input and what it
holds ("an API response envelope of message-type member", "a tar archive with 0 works file(s)
…"); nothing is published and the latest snapshot stays the latest.

Design (measured on 2 cores, see bench/bulk.py):

* **Fast path**: one DuckDB query per batch of files. ``read_ndjson(columns=…,
  ignore_errors=true)`` (JSON Lines) or ``read_json_objects`` + ``from_json`` (documents)
  streams and decompresses the file inside DuckDB and parses each record once, straight into
  the columns of :data:`cache.jobs.bulk.sql.WORK_STRUCTURE` (only the fields the metrics read).
* Malformed lines (invalid JSON, invalid UTF-8, JSON that is not an object) come out of the
  fast path as rows of NULLs, i.e. without a member, exactly like a valid object that has no
  ``member``. Only a file that has such rows runs the **line scan**: a streaming reader in
  Python (zlib + pyarrow, no per-line Python work) that numbers every physical line, asks
  DuckDB which lines are bad and reports each with file and line number. If the scan does not
  account for every row (DuckDB's reader also drops valid lines longer than its buffer), the
  file is rescored on the streaming path.
* **Streaming path**: a gzip file cut short or corrupt makes DuckDB's reader fail outright;
  then the same streaming reader scores every complete line before the damage and reports the
  damage **first** (file, exact compressed byte offset, last complete line), before the
  malformed lines garbage may have produced. A line too long for DuckDB's reader is scored
  here too, with a note naming file and line. bz2/xz files always take this path; documents
  that DuckDB cannot read are salvaged item by item in Python.
* ``strict=True`` fails on the first thing not scored (malformed line, damaged file or
  archive, record without a member, file or archive member with no works); otherwise nothing
  is fatal and nothing is dropped silently (``BulkResult.errors`` lists the first 1,000 issues
  with file and line, ``error_count`` counts them all).
* The SQL is checked against the registry's Python predicates work by work
  (tests/unit/test_bulk.py) and, per member, against the mock API's filter counts
  (tests/integration/test_reconcile.py).

Modules: :mod:`~cache.jobs.bulk.results` (what an ingest returns),
:mod:`~cache.jobs.bulk.inputs` (file discovery, sniffing, decompression),
:mod:`~cache.jobs.bulk.archive` (tar archives as a stream),
:mod:`~cache.jobs.bulk.sql` (the per-metric SQL),
:mod:`~cache.jobs.bulk.job` (the DuckDB session, the works table, deduplication),
:mod:`~cache.jobs.bulk.fast` and :mod:`~cache.jobs.bulk.stream` (the two paths),
:mod:`~cache.jobs.bulk.tables` (the final tables),
:mod:`~cache.jobs.bulk.pipeline` (:func:`ingest`),
:mod:`~cache.jobs.bulk.evaluate` (the SQL per record).
"""

from cache.jobs.bulk.evaluate import evaluate_records
from cache.jobs.bulk.job import DEFAULT_MEMORY_LIMIT
from cache.jobs.bulk.pipeline import ingest
from cache.jobs.bulk.results import (
    BulkIngestError,
    BulkIssue,
    BulkResult,
    FileReport,
    InputReport,
    NothingScored,
)
from cache.jobs.bulk.tables import SOURCE

__all__ = [
    "DEFAULT_MEMORY_LIMIT",
    "SOURCE",
    "BulkIngestError",
    "BulkIssue",
    "BulkResult",
    "FileReport",
    "InputReport",
    "NothingScored",
    "evaluate_records",
    "ingest",
]
