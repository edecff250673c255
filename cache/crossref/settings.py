"""Runtime settings, read from environment variables in one place (docs/architecture.md §2).

``Settings.from_env(**overrides)`` is the only function in the project that reads ``os.environ``.
Everything else receives a ``Settings`` object. The Plus token never appears in ``repr``.
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

USER_AGENT_PRODUCT = "crossref-completeness-dashboard/0.1"
DEFAULT_API_URL = "https://api.crossref.org"

# List-request limits per pool (crossref-api.md §5.1). The headers only advertise the
# single-record numbers, so these are enforced by the client whatever the headers say.
POOL_LIST_LIMITS: dict[str, tuple[float, int]] = {
    "polite": (3.0, 3),
    "public": (1.0, 1),
}

DIR_MODE = 0o700

_TUNING_VARS: tuple[tuple[str, str, type], ...] = (
    ("CROSSREF_TIMEOUT_S", "timeout_s", float),
    ("CROSSREF_MAX_ATTEMPTS", "max_attempts", int),
    ("CROSSREF_BACKOFF_BASE_S", "backoff_base_s", float),
)


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) and make it 0700. Returns the path."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    os.chmod(path, DIR_MODE)
    return path


def default_data_dir(environ: dict[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    xdg = env.get("XDG_CACHE_HOME", "").strip()
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "crossref-dashboard"


@dataclass(frozen=True)
class Settings:
    """All knobs of the data layer. Build with :meth:`from_env`, derive with ``replace``."""

    api_url: str = DEFAULT_API_URL
    mailto: str = ""
    plus_token: str = ""
    data_dir: Path = dataclasses.field(default_factory=default_data_dir)
    pool: str = "public"
    list_rate: float = 1.0
    list_concurrency: int = 1
    cache_ttl_s: int = 86_400
    timeout_s: float = 30.0
    max_attempts: int = 6
    error_budget: float = 0.10
    error_budget_min_requests: int = 10
    backoff_base_s: float = 0.5
    backoff_max_s: float = 30.0
    retry_after_max_s: float = 120.0
    pace_margin_s: float = 0.05
    host: str = "127.0.0.1"
    port: int = 8050

    def __post_init__(self) -> None:
        object.__setattr__(self, "data_dir", Path(self.data_dir).expanduser())
        object.__setattr__(self, "api_url", str(self.api_url).rstrip("/"))
        if self.pool not in POOL_LIST_LIMITS:
            raise ValueError(f"pool must be 'polite' or 'public', not {self.pool!r}")
        if not (self.list_rate > 0 and math.isfinite(self.list_rate)):
            raise ValueError(f"list_rate must be a positive number, not {self.list_rate!r}")
        if self.list_concurrency < 1:
            raise ValueError(f"list_concurrency must be >= 1, not {self.list_concurrency!r}")
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be >= 1, not {self.max_attempts!r}")
        if not 0 <= self.error_budget <= 1:
            raise ValueError(f"error_budget must be within 0..1, not {self.error_budget!r}")

    # --- construction -------------------------------------------------------------------
    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
        """Settings from ``os.environ`` (or ``environ``), then ``overrides`` on top.

        The pool follows ``mailto`` (polite when set) unless ``pool`` is overridden, and the list
        limits follow the pool unless ``list_rate``/``list_concurrency`` are overridden.
        """
        env = os.environ if environ is None else environ
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(overrides) - names
        if unknown:
            raise TypeError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        data_dir_env = env.get("DASHBOARD_DATA_DIR", "").strip()
        values: dict[str, Any] = {
            "api_url": env.get("CROSSREF_API_URL", "").strip() or DEFAULT_API_URL,
            "mailto": env.get("CROSSREF_MAILTO", "").strip(),
            "plus_token": env.get("CROSSREF_PLUS_TOKEN", "").strip(),
            "data_dir": Path(data_dir_env) if data_dir_env else default_data_dir(env),
            "host": env.get("HOST", "").strip() or "127.0.0.1",
            "port": int(env.get("PORT", "").strip() or 8050),
        }
        # Optional operational knobs (tests use them to keep retries fast).
        for var, name, kind in _TUNING_VARS:
            raw = env.get(var, "").strip()
            if raw:
                try:
                    values[name] = kind(raw)
                except ValueError:
                    raise ValueError(f"{var} must be a number, not {raw!r}") from None
        values.update({k: v for k, v in overrides.items() if v is not None})
        if "pool" not in overrides or overrides["pool"] is None:
            values["pool"] = "polite" if values["mailto"] else "public"
        if values["pool"] not in POOL_LIST_LIMITS:
            raise ValueError(f"pool must be 'polite' or 'public', not {values['pool']!r}")
        rate, conc = POOL_LIST_LIMITS[values["pool"]]
        values.setdefault("list_rate", rate)
        values.setdefault("list_concurrency", conc)
        return cls(**values)

    # --- derived ------------------------------------------------------------------------
    @property
    def http_dir(self) -> Path:
        return self.data_dir / "http"

    @property
    def snapshots_dir(self) -> Path:
        return self.data_dir / "snapshots"

    @property
    def drilldown_dir(self) -> Path:
        return self.data_dir / "drilldown"

    @property
    def jobs_dir(self) -> Path:
        return self.data_dir / "jobs"

    @property
    def user_agent(self) -> str:
        if self.mailto:
            return f"{USER_AGENT_PRODUCT} (mailto:{self.mailto})"
        return USER_AGENT_PRODUCT

    def ensure_dirs(self) -> None:
        """Create the data directory and its sub-directories, all 0700."""
        ensure_private_dir(self.data_dir)
        for sub in (self.http_dir, self.snapshots_dir, self.drilldown_dir, self.jobs_dir):
            ensure_private_dir(sub)

    def __repr__(self) -> str:
        parts = []
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            secret = f.name == "plus_token"
            shown = ("'***'" if value else "''") if secret else repr(value)
            parts.append(f"{f.name}={shown}")
        return f"Settings({', '.join(parts)})"

    __str__ = __repr__
