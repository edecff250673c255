"""Suite-wide guards: tests never touch the user's data dir and never leave the machine."""

from __future__ import annotations

import ipaddress
import os
import socket

import pytest

_real_connect = socket.socket.connect
_ENV_KEYS = ("DASHBOARD_DATA_DIR", "CROSSREF_API_URL", "CROSSREF_MAILTO", "CROSSREF_PLUS_TOKEN")


def _loopback_only(sock: socket.socket, address) -> None:
    host = address[0] if isinstance(address, tuple) else None
    if host is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = host == "localhost"
        if not loopback:
            raise ConnectionRefusedError(f"tests may only connect to loopback, not {host}")
    _real_connect(sock, address)


@pytest.fixture(autouse=True, scope="session")
def _no_internet():
    socket.socket.connect = _loopback_only
    yield
    socket.socket.connect = _real_connect


@pytest.fixture(autouse=True, scope="session")
def _isolated_environment(tmp_path_factory):
    """A throwaway data dir and no Crossref settings leaking in from the developer's shell.

    Session-wide (not per test) so a server thread started by a session fixture keeps seeing
    the same environment; tests that need their own data dir pass it explicitly.
    """
    saved = {k: os.environ.get(k) for k in _ENV_KEYS}
    for key in _ENV_KEYS:
        os.environ.pop(key, None)
    os.environ["DASHBOARD_DATA_DIR"] = str(tmp_path_factory.mktemp("data"))
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
