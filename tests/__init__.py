"""Test suite. Real Crossref fixtures live in ``tests/fixtures`` (copied from the shared design
folder, provenance in each ``SOURCES.md``), so a clone runs every test on its own."""

from pathlib import Path

FIXTURES = Path(__file__).resolve().parent / "fixtures"
