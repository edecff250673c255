"""Runtime settings, read from environment variables in one place (docs/architecture.md §2).

``Settings.from_env(**overrides)`` is the only function in the project that reads ``os.environ``.
Everything else receives a ``Settings`` object. The Plus token never appears in ``repr``.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

logger = logging.getLogger(__name__)

USER_AGENT_PRODUCT = "crossref-completeness-dashboard/0.1"
DEFAULT_API_URL = "https://api.crossref.org"

# List-request limits per pool (crossref-api.md §5.1). The headers only advertise the
# single-record numbers, so these are enforced by the client whatever the headers say.
POOL_LIST_LIMITS: dict[str, tuple[float, int]] = {
    "polite": (3.0, 3),
    "public": (1.0, 1),
}

DIR_MODE = 0o700
DATA_DIR_VAR = "DASHBOARD_DATA_DIR"

# (variable, setting, type, smallest allowed value, whether the smallest value is allowed)
_TUNING_VARS: tuple[tuple[str, str, type, float, bool], ...] = (
    ("CROSSREF_TIMEOUT_S", "timeout_s", float, 0.0, False),
    ("CROSSREF_MAX_ATTEMPTS", "max_attempts", int, 1, True),
    ("CROSSREF_BACKOFF_BASE_S", "backoff_base_s", float, 0.0, True),
    ("DASHBOARD_VIEW_CACHE", "view_cache_size", int, 1, True),
    ("DASHBOARD_MAX_JOBS", "max_jobs", int, 1, True),
    ("DASHBOARD_MAX_QUEUED_JOBS", "max_queued_jobs", int, 1, True),
)

_warned_shared: set[str] = set()


def validate_redis_url(url: str) -> str:
    """``REDIS_URL`` as given (``""`` = no Redis). Raises :class:`ConfigError` unless its scheme
    is ``redis://``, ``rediss://`` or ``unix://``."""
    if url and url.split("://", 1)[0] not in ("redis", "rediss", "unix"):
        raise ConfigError(f"REDIS_URL must start with redis://, rediss:// or unix://: {url!r}")
    return url


class ConfigError(ValueError):
    """Bad configuration (an environment variable, an option or the data directory).

    ``str()`` is one line that names the variable or path and the offending value, meant to be
    printed as is (the app and the CLI exit with status 2 on it, without a traceback).
    """


def _describe_dir(path: Path) -> str:
    return f"data directory {str(path)!r}"


def check_data_dir(path: Path, *, writable: bool = True) -> Path:
    """Check that ``path`` can serve as the data directory, without changing anything.

    ``path`` must be a directory or not exist yet (then its nearest existing parent must be a
    writable directory); with ``writable`` it must also be writable and searchable by this
    process. Returns ``path``. Raises :class:`ConfigError` naming the directory and the reason
    ("is a file, not a directory", "is read-only", …).
    """
    path = Path(path).expanduser()
    what = _describe_dir(path)
    if path.exists():
        if not path.is_dir():
            raise ConfigError(
                f"{what} is a file, not a directory (set {DATA_DIR_VAR} or --data-dir to a folder)"
            )
        if writable and not os.access(path, os.W_OK | os.X_OK):
            raise ConfigError(f"{what} is read-only for this user (it must be writable)")
        return path
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise ConfigError(f"{what} cannot be created: {str(parent)!r} is a file, not a directory")
    if writable and not os.access(parent, os.W_OK | os.X_OK):
        raise ConfigError(f"{what} cannot be created: {str(parent)!r} is read-only")
    return path


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) if needed and return it.

    A directory created here is made 0700 (owner only). An existing directory is never
    re-permissioned: someone may share it on purpose; when it is readable or writable by group or
    others a warning is logged once per process. Raises :class:`ConfigError` when ``path`` (or a
    parent) is a file or cannot be created because the location is read-only, and ``OSError`` for
    other failures (e.g. disk full).
    """
    path = Path(path)
    try:
        path.mkdir(parents=True, mode=DIR_MODE)
    except FileExistsError:
        if not path.is_dir():
            raise ConfigError(f"{str(path)!r} is a file, not a directory") from None
        _warn_if_shared(path)
        return path
    except NotADirectoryError:
        raise ConfigError(f"{str(path)!r} cannot be created: a parent is a file") from None
    except PermissionError:
        raise ConfigError(f"{str(path)!r} cannot be created: the location is read-only") from None
    os.chmod(path, DIR_MODE)  # mkdir's mode is filtered by the umask
    return path


def _warn_if_shared(path: Path) -> None:
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return
    if mode & (stat.S_IRWXG | stat.S_IRWXO) and str(path) not in _warned_shared:
        _warned_shared.add(str(path))
        logger.warning(
            "%s is accessible by group/others (mode %o); it holds cached responses and pickled "
            "job state, so consider `chmod 700` (left unchanged)",
            path,
            mode,
        )


def validate_api_url(value: str, variable: str = "CROSSREF_API_URL") -> str:
    """``value`` without a trailing slash when it is an ``http``/``https`` URL with a host.

    Raises :class:`ConfigError` naming ``variable`` otherwise (``http://[::1``, ``ftp://x``,
    ``javascript:alert(1)``, ``http:///path``, a query string, spaces, bad port …).
    """
    text = str(value)
    shown = text if len(text) <= 80 else text[:77] + "..."
    if not text or any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in text):
        raise ConfigError(f"{variable} is not a URL: {shown!r}")
    try:
        parts = urlsplit(text)
        port = parts.port
        host = parts.hostname
    except ValueError as exc:
        raise ConfigError(f"{variable} is not a valid URL ({exc}): {shown!r}") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise ConfigError(f"{variable} must start with http:// or https://, not {shown!r}")
    if not host:
        raise ConfigError(f"{variable} has no host name: {shown!r}")
    if parts.username is not None or parts.password is not None:
        raise ConfigError(f"{variable} must not contain a user name or password")
    if parts.query or parts.fragment or text.endswith(("?", "#")):
        raise ConfigError(f"{variable} must not contain a query string or fragment: {shown!r}")
    if port == 0:
        raise ConfigError(f"{variable} has port 0: {shown!r}")
    return text.rstrip("/")


def parse_port(raw: str, variable: str = "PORT") -> int:
    """A TCP port 1–65535 from text. Raises :class:`ConfigError` naming ``variable``."""
    text = str(raw).strip()
    try:
        port = int(text)
    except ValueError:
        raise ConfigError(f"{variable} must be a whole number, not {text!r}") from None
    if not 1 <= port <= 65535:
        raise ConfigError(f"{variable} must be within 1–65535, not {port}")
    return port


def _parse_knob(var: str, raw: str, kind: type, low: float, inclusive: bool) -> float | int:
    try:
        value = kind(raw)
    except ValueError:
        noun = "a whole number" if kind is int else "a number"
        raise ConfigError(f"{var} must be {noun}, not {raw!r}") from None
    if not math.isfinite(value) or value < low or (value == low and not inclusive):
        bound = f">= {low:g}" if inclusive else f"> {low:g}"
        raise ConfigError(f"{var} must be a finite number {bound}, not {raw!r}")
    return value


def default_data_dir(environ: dict[str, str] | None = None) -> Path:
    """``$XDG_CACHE_HOME/crossref-dashboard``, else ``~/.cache/crossref-dashboard``.

    Reads ``environ`` (default ``os.environ``); only builds the path, creates nothing.
    """
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
    # REDIS_URL: shared Crossref rate limiter (cache/crossref/limiter.py) and background jobs on
    # Celery (pages/components/jobs.py)
    redis_url: str = ""
    # DASHBOARD_MAX_JOBS / DASHBOARD_MAX_QUEUED_JOBS: background jobs running at once across the
    # deployment, and waiting for a slot before new ones are refused
    max_jobs: int = 2
    max_queued_jobs: int = 20
    # DASHBOARD_VIEW_CACHE: scored (type, period) views each web worker keeps (LRU; ~8 MB each
    # at 33k members); the others are re-scored on demand (cache/facade/loader.py)
    view_cache_size: int = 6

    def __post_init__(self) -> None:
        object.__setattr__(self, "data_dir", Path(self.data_dir).expanduser())
        object.__setattr__(self, "api_url", validate_api_url(self.api_url, "api_url"))
        if isinstance(self.port, bool) or not isinstance(self.port, int):
            raise ConfigError(f"port must be a whole number, not {self.port!r}")
        if not 1 <= self.port <= 65535:
            raise ConfigError(f"port must be within 1–65535, not {self.port}")
        if self.pool not in POOL_LIST_LIMITS:
            raise ValueError(f"pool must be 'polite' or 'public', not {self.pool!r}")
        if not (self.list_rate > 0 and math.isfinite(self.list_rate)):
            raise ValueError(f"list_rate must be a positive number, not {self.list_rate!r}")
        if self.list_concurrency < 1:
            raise ValueError(f"list_concurrency must be >= 1, not {self.list_concurrency!r}")
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be >= 1, not {self.max_attempts!r}")
        if self.view_cache_size < 1:
            raise ValueError(f"view_cache_size must be >= 1, not {self.view_cache_size!r}")
        if not 0 <= self.error_budget <= 1:
            raise ValueError(f"error_budget must be within 0..1, not {self.error_budget!r}")

    # --- construction -------------------------------------------------------------------
    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
        """Settings from ``os.environ`` (or ``environ``), then ``overrides`` on top.

        The pool follows ``mailto`` (polite when set) unless ``pool`` is overridden, and the list
        limits follow the pool unless ``list_rate``/``list_concurrency`` are overridden.

        Raises :class:`ConfigError` (a ``ValueError``) with one line naming the variable and its
        value for a malformed ``CROSSREF_API_URL`` (scheme must be http/https, a host is needed),
        a non-numeric or out-of-range ``PORT`` (1–65535) or tuning knob. The data directory is
        not touched here (see :func:`check_data_dir`).
        """
        env = os.environ if environ is None else environ
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(overrides) - names
        if unknown:
            raise TypeError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        data_dir_env = env.get(DATA_DIR_VAR, "").strip()
        api_url = env.get("CROSSREF_API_URL", "").strip() or DEFAULT_API_URL
        port = env.get("PORT", "").strip()
        values: dict[str, Any] = {
            "api_url": validate_api_url(api_url, "CROSSREF_API_URL"),
            "mailto": env.get("CROSSREF_MAILTO", "").strip(),
            "plus_token": env.get("CROSSREF_PLUS_TOKEN", "").strip(),
            "data_dir": Path(data_dir_env) if data_dir_env else default_data_dir(env),
            "host": env.get("HOST", "").strip() or "127.0.0.1",
            "port": parse_port(port) if port else 8050,
            "redis_url": validate_redis_url(env.get("REDIS_URL", "").strip()),
        }
        # Optional operational knobs (tests use them to keep retries fast).
        for var, name, kind, low, inclusive in _TUNING_VARS:
            raw = env.get(var, "").strip()
            if raw:
                values[name] = _parse_knob(var, raw, kind, low, inclusive)
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
        """``<data_dir>/http``: the raw-response cache (see :mod:`cache.crossref.rawcache`)."""
        return self.data_dir / "http"

    @property
    def snapshots_dir(self) -> Path:
        """``<data_dir>/snapshots``: the published snapshots (:mod:`cache.store.snapshots`)."""
        return self.data_dir / "snapshots"

    @property
    def drilldown_dir(self) -> Path:
        """``<data_dir>/drilldown``: saved member drill-downs (:mod:`cache.store.drilldowns`)."""
        return self.data_dir / "drilldown"

    @property
    def jobs_dir(self) -> Path:
        """``<data_dir>/jobs``: state of background jobs started by the pages."""
        return self.data_dir / "jobs"

    @property
    def user_agent(self) -> str:
        """The ``User-Agent`` header sent to Crossref: the product, plus ``(mailto:…)`` when set
        (Crossref's polite pool etiquette).
        """
        if self.mailto:
            return f"{USER_AGENT_PRODUCT} (mailto:{self.mailto})"
        return USER_AGENT_PRODUCT

    def ensure_dirs(self) -> None:
        """Create the data directory and its sub-directories (new ones 0700). Raises
        :class:`ConfigError` when the data directory is a file or read-only."""
        check_data_dir(self.data_dir)
        ensure_private_dir(self.data_dir)
        for sub in (self.http_dir, self.snapshots_dir, self.drilldown_dir, self.jobs_dir):
            ensure_private_dir(sub)

    def __repr__(self) -> str:
        parts = []
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            secret = f.name in ("plus_token", "redis_url")  # a Redis URL may hold a password
            shown = ("'***'" if value else "''") if secret else repr(value)
            parts.append(f"{f.name}={shown}")
        return f"Settings({', '.join(parts)})"

    __str__ = __repr__
