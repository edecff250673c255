"""Style is part of the test run: `ruff check` (E501 included) and `ruff format --check` are clean.

Both run from the repository root with the settings of pyproject.toml, through the interpreter
running the tests (`python -m ruff`, ruff is in the `test` extras), and a failure shows ruff's
own report: the files and lines to fix.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def ruff(*args: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m ruff <args> .`` in the repository root and capture its output."""
    return subprocess.run(
        [sys.executable, "-m", "ruff", *args, "."],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(("check", "--output-format", "concise", "--no-cache"), id="ruff-check"),
        pytest.param(("format", "--check", "--no-cache"), id="ruff-format"),
    ],
)
def test_ruff_is_clean(args):
    """`ruff check .` and `ruff format --check .` exit 0; otherwise fail with what ruff said."""
    result = ruff(*args)
    assert result.returncode == 0, (
        f"`ruff {' '.join(args)} .` exited {result.returncode}:\n{result.stdout}{result.stderr}"
    )
