"""Settings: env vars, pools, derived dirs, 0700, token redaction."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import pytest

from cache.crossref.settings import ConfigError, Settings, check_data_dir, ensure_private_dir


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


def test_existing_shared_dir_is_left_alone_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o775)  # someone shares it with a group on purpose
    with caplog.at_level(logging.WARNING):
        assert ensure_private_dir(shared) == shared
        ensure_private_dir(shared)  # warned once per process, not at every call
    assert stat.S_IMODE(shared.stat().st_mode) == 0o775  # not silently chmod-ed
    warnings = [r.getMessage() for r in caplog.records if str(shared) in r.getMessage()]
    assert len(warnings) == 1 and "775" in warnings[0] and "left unchanged" in warnings[0]
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        ensure_private_dir(private)
    assert not caplog.records


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PORT": "eighty"}, "PORT must be a whole number, not 'eighty'"),
        ({"PORT": "8050.5"}, "PORT must be a whole number, not '8050.5'"),
        ({"PORT": "0"}, "PORT must be within 1–65535, not 0"),
        ({"PORT": "70000"}, "PORT must be within 1–65535, not 70000"),
        ({"CROSSREF_API_URL": "http://[::1"}, "CROSSREF_API_URL is not a valid URL"),
        ({"CROSSREF_API_URL": "ftp://x"}, "CROSSREF_API_URL must start with http:// or https://"),
        ({"CROSSREF_API_URL": "javascript:alert(1)"}, "CROSSREF_API_URL must start with http"),
        ({"CROSSREF_API_URL": "http://"}, "CROSSREF_API_URL has no host name"),
        ({"CROSSREF_API_URL": "https:///members"}, "CROSSREF_API_URL has no host name"),
        ({"CROSSREF_API_URL": "api.crossref.org"}, "CROSSREF_API_URL must start with http"),
        ({"CROSSREF_API_URL": "http://x:99999"}, "CROSSREF_API_URL is not a valid URL"),
        ({"CROSSREF_API_URL": "http://a b"}, "CROSSREF_API_URL is not a URL"),
        ({"CROSSREF_API_URL": "http://u:p@host"}, "CROSSREF_API_URL must not contain a user"),
        ({"CROSSREF_API_URL": "http://h/?x=1"}, "CROSSREF_API_URL must not contain a query"),
        ({"CROSSREF_TIMEOUT_S": "fast"}, "CROSSREF_TIMEOUT_S must be a number, not 'fast'"),
        ({"CROSSREF_TIMEOUT_S": "0"}, "CROSSREF_TIMEOUT_S must be a finite number > 0"),
        ({"CROSSREF_TIMEOUT_S": "nan"}, "CROSSREF_TIMEOUT_S must be a finite number"),
        ({"CROSSREF_MAX_ATTEMPTS": "2.5"}, "CROSSREF_MAX_ATTEMPTS must be a whole number"),
        ({"CROSSREF_MAX_ATTEMPTS": "0"}, "CROSSREF_MAX_ATTEMPTS must be a finite number >= 1"),
        ({"CROSSREF_BACKOFF_BASE_S": "-1"}, "CROSSREF_BACKOFF_BASE_S must be a finite number"),
    ],
)
def test_bad_configuration_is_one_clear_line(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_env(environ=env)
    text = str(info.value)
    assert text.startswith(message) and "\n" not in text
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    "url", ["https://api.crossref.org", "http://127.0.0.1:8765/", "http://[::1]:9/", "http://mock"]
)
def test_good_api_urls(url: str) -> None:
    assert Settings.from_env(environ={"CROSSREF_API_URL": url}).api_url == url.rstrip("/")


def test_data_dir_checks(tmp_path: Path) -> None:
    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(ConfigError, match="is a file, not a directory"):
        check_data_dir(a_file)
    with pytest.raises(ConfigError, match="is a file, not a directory"):
        check_data_dir(a_file / "sub")
    with pytest.raises(ConfigError, match="is a file"):
        ensure_private_dir(a_file)
    assert check_data_dir(tmp_path / "new" / "dir") == tmp_path / "new" / "dir"
    assert not (tmp_path / "new").exists()  # checking creates nothing
    with pytest.raises(ConfigError, match="is a file"):
        Settings.from_env(environ={}, data_dir=a_file).ensure_dirs()
