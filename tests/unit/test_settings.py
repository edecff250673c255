"""Settings: env vars, pools, derived dirs, 0700, token redaction."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from cache.crossref.settings import Settings, ensure_private_dir


def test_defaults_public_pool(tmp_path: Path) -> None:
    s = Settings.from_env(environ={"XDG_CACHE_HOME": str(tmp_path)})
    assert s.api_url == "https://api.crossref.org"
    assert s.mailto == "" and s.plus_token == ""
    assert s.pool == "public"
    assert (s.list_rate, s.list_concurrency) == (1.0, 1)
    assert s.data_dir == tmp_path / "crossref-dashboard"
    assert s.cache_ttl_s == 86_400
    assert s.error_budget == pytest.approx(0.10)
    assert s.max_attempts >= 3
    assert s.user_agent == "crossref-completeness-dashboard/0.1"


def test_home_fallback_without_xdg() -> None:
    s = Settings.from_env(environ={})
    assert s.data_dir == Path.home() / ".cache" / "crossref-dashboard"


def test_mailto_selects_polite_pool(tmp_path: Path) -> None:
    env = {
        "CROSSREF_MAILTO": "me@example.org",
        "CROSSREF_API_URL": "http://127.0.0.1:9/",
        "DASHBOARD_DATA_DIR": str(tmp_path / "d"),
    }
    s = Settings.from_env(environ=env)
    assert s.pool == "polite"
    assert (s.list_rate, s.list_concurrency) == (3.0, 3)
    assert s.api_url == "http://127.0.0.1:9"
    assert s.user_agent == "crossref-completeness-dashboard/0.1 (mailto:me@example.org)"
    assert s.data_dir == tmp_path / "d"
    assert s.http_dir == tmp_path / "d" / "http"
    assert s.snapshots_dir == tmp_path / "d" / "snapshots"
    assert s.drilldown_dir == tmp_path / "d" / "drilldown"
    assert s.jobs_dir == tmp_path / "d" / "jobs"


def test_overrides_win_and_unknown_ones_fail(tmp_path: Path) -> None:
    s = Settings.from_env(environ={"CROSSREF_MAILTO": "a@b.org"}, list_rate=2.0, data_dir=tmp_path)
    assert s.pool == "polite" and s.list_rate == 2.0 and s.list_concurrency == 3
    assert Settings.from_env(environ={}, pool="polite").list_rate == 3.0
    assert Settings.from_env(environ={}, data_dir=None).data_dir.name == "crossref-dashboard"
    with pytest.raises(TypeError, match="unknown setting"):
        Settings.from_env(environ={}, nonsense=1)
    with pytest.raises(ValueError):
        Settings.from_env(environ={}, pool="plus")


def test_tuning_env_vars() -> None:
    env = {
        "CROSSREF_TIMEOUT_S": "2.5",
        "CROSSREF_MAX_ATTEMPTS": "2",
        "CROSSREF_BACKOFF_BASE_S": "0.01",
    }
    s = Settings.from_env(environ=env)
    assert (s.timeout_s, s.max_attempts, s.backoff_base_s) == (2.5, 2, 0.01)
    with pytest.raises(ValueError, match="CROSSREF_MAX_ATTEMPTS"):
        Settings.from_env(environ={"CROSSREF_MAX_ATTEMPTS": "many"})


def test_token_redacted_in_repr() -> None:
    s = Settings.from_env(environ={"CROSSREF_PLUS_TOKEN": "sekrit-token-123"})
    assert s.plus_token == "sekrit-token-123"
    for text in (repr(s), str(s), f"{s}", f"{s!r}"):
        assert "sekrit-token-123" not in text
        assert "plus_token='***'" in text
    assert "plus_token=''" in repr(Settings.from_env(environ={}))


def test_frozen() -> None:
    s = Settings.from_env(environ={})
    with pytest.raises(AttributeError):
        s.mailto = "x"  # type: ignore[misc]


def test_dirs_are_0700(tmp_path: Path) -> None:
    s = Settings.from_env(environ={}, data_dir=tmp_path / "data")
    s.ensure_dirs()
    for path in (s.data_dir, s.http_dir, s.snapshots_dir, s.drilldown_dir, s.jobs_dir):
        assert stat.S_IMODE(path.stat().st_mode) == 0o700, path
    loose = tmp_path / "loose"
    loose.mkdir(mode=0o755)
    ensure_private_dir(loose)
    assert stat.S_IMODE(loose.stat().st_mode) == 0o700
