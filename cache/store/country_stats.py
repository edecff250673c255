"""Crossref's published country statistics, as imported: ``country-stats/stats.parquet``.

Source: Crossref, "State of Crossref metadata by member country" (Zenodo record 19928426; Dec 2018 –
Apr 2026), two CSV files: member participation by country, and metadata coverage by country and
content type. Both are cumulative stocks at each ``current_up_to`` date.

One long table, one row per (date, region, country, content type, subtype, measure):

========================  ========  ====================================================
column                    dtype     meaning
========================  ========  ====================================================
``current_up_to``         str       ``YYYY-MM-DD``
``region_id``             str       World Bank region code (``EAS`` …)
``iso3_code``             str       ISO 3166-1 alpha-3 country code
``document_type``         str       Crossref type (``journal-article`` …); ``""`` for member
                                    participation rows
``document_subtype``      str       ``preprint`` … for posted content, else ``""`` (file: NA)
``measure``               str       the file's column name (``n_dois``, ``with_abstract``,
                                    ``total_members``, ``deposits_orcid`` …)
``value``                 Int64     a count (works, references, members); <NA> for NA
========================  ========  ====================================================
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pandas as pd

DIRECTORY = "country-stats"
FILE = "stats.parquet"
KEY = ("current_up_to", "region_id", "iso3_code", "document_type", "document_subtype", "measure")
COLUMNS: dict[str, str] = {**dict.fromkeys(KEY, "str"), "value": "Int64"}


def path(data_dir: Path) -> Path:
    """``<data_dir>/country-stats/stats.parquet``."""
    return Path(data_dir) / DIRECTORY / FILE


def empty() -> pd.DataFrame:
    """A table with the columns and dtypes above and no rows."""
    return pd.DataFrame({c: pd.Series(dtype=d) for c, d in COLUMNS.items()})


def load(data_dir: Path) -> pd.DataFrame:
    """Everything imported so far (the table above, sorted by its key), or an empty table.

    Raises ``OSError`` or ``pyarrow.ArrowInvalid`` when the file exists but cannot be read.
    """
    p = path(data_dir)
    if not p.exists():
        return empty()
    return pd.read_parquet(p).astype(COLUMNS)


def merge(data_dir: Path, rows: pd.DataFrame) -> pd.DataFrame:
    """Add ``rows`` to what is stored; a row with the same key replaces the stored one, so importing
    the same file twice changes nothing. Written atomically; returns the stored table."""
    table = pd.concat([load(data_dir), rows.astype(COLUMNS)], ignore_index=True)
    table = table.drop_duplicates(list(KEY), keep="last")
    table = table.sort_values(list(KEY), kind="stable").reset_index(drop=True)
    p = path(data_dir)
    p.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = p.with_name(f".{p.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        table.to_parquet(tmp, index=False)
        os.replace(tmp, p)
    finally:
        tmp.unlink(missing_ok=True)
    return table
