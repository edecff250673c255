"""pytest fixtures for page and facade tests.

Load with `pytest_plugins = ("tests.browser.fixtures",)`.

synthetic_dir: a module-scoped data dir with one synthetic snapshot; use_synthetic: re-points the
facade at it for each test; two_snapshots: a data dir with two snapshots (change, enrichment).
"""

from __future__ import annotations

import pytest

from tests.browser import synthetic

# ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def synthetic_dir(tmp_path_factory):
    """A data dir with one synthetic snapshot; the facade is pointed at it for the module."""
    import app  # noqa: F401  (registers the pages; must come before importing pages.*)
    from cache import facade

    d = tmp_path_factory.mktemp("synthetic")
    synthetic.publish(d)
    facade.configure(d)
    yield d
    facade.configure(None)


@pytest.fixture
def use_synthetic(synthetic_dir):
    """Function-scoped: make sure the facade points at the module's synthetic data dir."""
    from cache import facade

    if facade.data_dir() != synthetic_dir:
        facade.configure(synthetic_dir)
    return synthetic_dir


@pytest.fixture
def two_snapshots(tmp_path_factory):
    """A data dir with two snapshots (different seeds) so change/enrichment have data."""
    import time

    import app  # noqa: F401
    from cache import facade

    d = tmp_path_factory.mktemp("two")
    first = synthetic.publish(d, seed=7)
    time.sleep(1.05)  # snapshot ids have second resolution
    second = synthetic.publish(d, seed=8)
    facade.configure(d)
    yield d, first, second
    facade.configure(None)
