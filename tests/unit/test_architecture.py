"""The layout's one-way data flow, enforced from the source (AST, no imports executed).

Crossref → cache.crossref (the only HTTP code) → cache.jobs (write side) → cache.store (files)
→ cache.facade (read side) → pages. The rules:

* exactly one module of the project imports httpx, and it is ``cache/crossref/client.py``;
* nothing under ``cache/`` is or holds the mock Crossref API (it lives in ``mock_crossref/``);
* no module under ``cache/facade/`` imports the Crossref client, a job, the mock or httpx,
  and none writes a file.

Each rule reports every offending ``path:line``. The checkers are also run on small offending
sources written to ``tmp_path``, so a checker that stopped seeing violations fails here too.
"""

from __future__ import annotations

import ast
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Not project code: the virtualenv, the tests, tool caches and build output.
EXCLUDED_DIRS = {".venv", "tests", "build", "__pycache__"}

HTTP_MODULE = "cache/crossref/client.py"
# Modules the read side must not import (a name or any submodule of it).
FACADE_FORBIDDEN_IMPORTS = ("httpx", "cache.crossref.client", "cache.jobs", "mock_crossref")
# Calls that write, move or delete files. Attribute calls match on the method name; `to_csv`
# and `to_json` only with a target (with no argument they return text).
WRITE_METHODS = {
    "write_text",
    "write_bytes",
    "to_parquet",
    "to_feather",
    "to_excel",
    "mkdir",
    "unlink",
    "rmdir",
    "touch",
    "write_table",
    # the store's own writers
    "publish",
    "save",
    "write_json_atomic",
}
WRITE_TARGET_METHODS = {"to_csv", "to_json"}
OS_WRITERS = {
    "replace",
    "rename",
    "renames",
    "remove",
    "unlink",
    "mkdir",
    "makedirs",
    "rmdir",
    "removedirs",
    "link",
    "symlink",
    "truncate",
}
WRITE_MODULES = {"shutil", "tempfile"}  # any use of these is a file-system write
JSON_WRITERS = {"dump"}  # json.dump / orjson has no file writer


def project_modules(root: Path) -> Iterator[Path]:
    """Every ``*.py`` of the project under ``root``, minus the excluded and hidden directories."""
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).parts[:-1]
        if any(p in EXCLUDED_DIRS or p.startswith(".") or p.endswith(".egg-info") for p in parts):
            continue
        yield path


def parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def module_name(root: Path, path: Path) -> str:
    """Dotted name of a module file (``cache/facade/__init__.py`` → ``cache.facade``)."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_names(root: Path, path: Path, tree: ast.Module) -> Iterator[tuple[int, str]]:
    """(line, dotted name) for every import in the module, anywhere in it (functions included).

    ``from a.b import c`` yields both ``a.b`` and ``a.b.c`` (c may be a submodule); relative
    imports are resolved against the module's package; ``importlib.import_module("x")`` and
    ``__import__("x")`` with a literal name count as imports of ``x``.
    """
    package = module_name(root, path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            yield node.lineno, module
            for alias in node.names:
                yield node.lineno, f"{module}.{alias.name}"
        elif (
            isinstance(node, ast.Call)
            and call_name(node) in {"import_module", "importlib.import_module", "__import__"}
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            yield node.lineno, node.args[0].value


def call_name(node: ast.Call) -> str:
    """``open``, ``os.replace``, ``frame.to_csv`` → ``"open"``, ``"os.replace"``, ``"?.to_csv"``."""
    func = node.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        owner = func.value.id if isinstance(func.value, ast.Name) else "?"
        return f"{owner}.{func.attr}"
    return "?"


def matches(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def rel(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


# ------------------------------------------------------------------------------------ checkers


def httpx_importers(root: Path) -> dict[str, list[int]]:
    """{relative path: [lines]} of every project module that imports httpx."""
    found: dict[str, list[int]] = {}
    for path in project_modules(root):
        lines = [
            line
            for line, name in imported_names(root, path, parse(path))
            if matches(name, ("httpx",))
        ]
        if lines:
            found[rel(root, path)] = sorted(set(lines))
    return found


def mock_paths_under_cache(root: Path) -> list[str]:
    """Files or directories under ``cache/`` with 'mock' in their path (case-insensitive)."""
    return sorted(
        rel(root, p)
        for p in (root / "cache").rglob("*")
        if "__pycache__" not in p.parts and "mock" in rel(root, p).lower()
    )


FILE_OPENERS = {"io", "codecs", "gzip", "bz2", "lzma", "builtins"}  # X.open(file, mode)


def open_mode(node: ast.Call, module: str) -> ast.expr | None:
    """The mode of ``open(file, mode)``, ``gzip.open(file, mode)`` or ``path.open(mode)``."""
    for kw in node.keywords:
        if kw.arg == "mode":
            return kw.value
    positional = 1 if isinstance(node.func, ast.Name) or module in FILE_OPENERS else 0
    return node.args[positional] if len(node.args) > positional else None


def write_calls(tree: ast.Module) -> Iterator[tuple[int, str]]:
    """(line, description) of every call in ``tree`` that writes, moves or deletes a file."""
    aliases: dict[str, str] = {}  # local name → module, for `import shutil as sh`
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                aliases[alias.asname or alias.name] = alias.name
                if alias.name.split(".")[0] in WRITE_MODULES:
                    yield node.lineno, f"import {alias.name}"
        elif isinstance(node, ast.ImportFrom):
            root_module = (node.module or "").split(".")[0]
            for alias in node.names:
                if root_module in WRITE_MODULES:
                    yield node.lineno, f"from {node.module} import {alias.name}"
                elif root_module == "os" and alias.name in OS_WRITERS:
                    yield node.lineno, f"from os import {alias.name}"
                elif root_module == "json" and alias.name in JSON_WRITERS:
                    yield node.lineno, f"from json import {alias.name}"
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = call_name(node)
        owner, _, attr = name.rpartition(".")
        module = aliases.get(owner, owner)
        if name == "open" or attr == "open":
            mode = open_mode(node, module)
            if mode is None:
                continue
            if not isinstance(mode, ast.Constant) or not isinstance(mode.value, str):
                yield node.lineno, f"{name}() with a computed mode"
            elif set(mode.value) & set("wax+"):
                yield node.lineno, f"{name}(..., {mode.value!r})"
        elif (
            module in WRITE_MODULES
            or (module == "os" and attr in OS_WRITERS)
            or (module == "json" and attr in JSON_WRITERS)
        ):
            yield node.lineno, f"{name}()"
        elif not owner:
            continue  # a plain function call (`to_csv(frame)` of the facade returns text)
        elif attr in WRITE_METHODS and module not in {"json", "os"}:
            yield node.lineno, f".{attr}()"
        elif attr in WRITE_TARGET_METHODS and (
            node.args or any(kw.arg == "path_or_buf" for kw in node.keywords)
        ):
            yield node.lineno, f".{attr}(<target>)"


def facade_violations(root: Path) -> list[str]:
    """``path:line: what`` for every forbidden import or file write under ``cache/facade/``."""
    out: list[str] = []
    for path in sorted((root / "cache" / "facade").rglob("*.py")):
        tree = parse(path)
        seen: set[tuple[int, str]] = set()
        for line, name in imported_names(root, path, tree):
            for forbidden in FACADE_FORBIDDEN_IMPORTS:
                if matches(name, (forbidden,)) and (line, forbidden) not in seen:
                    seen.add((line, forbidden))
                    out.append(f"{rel(root, path)}:{line}: imports {name}")
        for line, what in write_calls(tree):
            out.append(f"{rel(root, path)}:{line}: writes a file: {what}")
    return out


# -------------------------------------------------------------------------- the rules, on ROOT


def test_only_the_crossref_client_imports_httpx():
    found = httpx_importers(ROOT)
    others = {path: lines for path, lines in found.items() if path != HTTP_MODULE}
    assert not others, (
        "httpx imported outside "
        + HTTP_MODULE
        + ":\n"
        + "\n".join(f"{path}:{line}" for path, lines in others.items() for line in lines)
    )
    assert HTTP_MODULE in found, f"{HTTP_MODULE} no longer imports httpx (the rule is stale)"


def test_no_mock_under_cache():
    found = mock_paths_under_cache(ROOT)
    assert not found, "the mock belongs in mock_crossref/, not under cache/:\n" + "\n".join(found)
    assert (ROOT / "mock_crossref" / "__init__.py").is_file()


def test_facade_is_read_only_and_never_reaches_crossref():
    modules = list((ROOT / "cache" / "facade").rglob("*.py"))
    assert len(modules) > 3, "cache/facade/ not found: the rule would check nothing"
    found = facade_violations(ROOT)
    assert not found, "cache/facade/ is the read side only:\n" + "\n".join(found)


# ------------------------------------------------------- the checkers see planted violations


def plant(root: Path, relpath: str, source: str) -> Path:
    path = root / relpath
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source), encoding="utf-8")
    return path


@pytest.fixture
def tree(tmp_path):
    """A minimal clean project: the client imports httpx, a facade module only reads."""
    plant(tmp_path, "cache/__init__.py", "")
    plant(tmp_path, "cache/crossref/__init__.py", "")
    plant(tmp_path, "cache/crossref/client.py", "import httpx\n")
    plant(tmp_path, "cache/facade/__init__.py", "from .reader import read\n")
    plant(
        tmp_path,
        "cache/facade/reader.py",
        """\
        import json
        from pathlib import Path

        from cache.crossref import settings
        from cache.store import snapshots


        def read(path: Path) -> dict:
            with open(path, encoding="utf-8") as fh:
                text = fh.read()
            frame = snapshots.load(path)
            csv = frame.to_csv(index=False)
            return json.loads(text) | {"csv": csv, "s": settings, "p": path.open().read()}
        """,
    )
    plant(tmp_path, ".venv/lib/site.py", "import httpx\n")
    plant(tmp_path, "tests/unit/test_x.py", "import httpx\n")
    return tmp_path


def test_clean_tree_passes(tree):
    assert httpx_importers(tree) == {HTTP_MODULE: [1]}
    assert mock_paths_under_cache(tree) == []
    assert facade_violations(tree) == []


@pytest.mark.parametrize(
    "relpath, source",
    [
        ("pages/x.py", "import httpx\n"),
        ("app.py", "def f():\n    from httpx import Client\n"),
        ("cache/jobs/cli.py", "import importlib\nimportlib.import_module('httpx')\n"),
    ],
)
def test_second_httpx_importer_is_reported(tree, relpath, source):
    plant(tree, relpath, source)
    found = httpx_importers(tree)
    assert relpath in found and found[relpath][-1] == source.count("\n")


@pytest.mark.parametrize("relpath", ["cache/mock/__init__.py", "cache/jobs/mock_server.py"])
def test_mock_under_cache_is_reported(tree, relpath):
    plant(tree, relpath, "")
    assert relpath in mock_paths_under_cache(tree)


@pytest.mark.parametrize(
    "source, expected",
    [
        ("from cache.crossref.client import CrossrefClient\n", "imports cache.crossref.client"),
        ("from ..crossref import client\n", "imports cache.crossref.client"),
        ("from cache.jobs import drilldown\n", "imports cache.jobs"),
        ("import cache.jobs.refresh\n", "imports cache.jobs.refresh"),
        ("from mock_crossref.server import MockCrossref\n", "imports mock_crossref"),
        ("import httpx\n", "imports httpx"),
        ("open('x.csv', 'w').write('a')\n", "writes a file: open(..., 'w')"),
        ("open('x.log', mode='a')\n", "writes a file: open(..., 'a')"),
        ("import gzip\ngzip.open(p, 'wt')\n", "writes a file: gzip.open(..., 'wt')"),
        ("self.path.open(mode='x')\n", "writes a file: ?.open(..., 'x')"),
        ("p.open('wb')\n", "writes a file: p.open(..., 'wb')"),
        ("p.write_text('x')\n", "writes a file: .write_text()"),
        ("p.write_bytes(b'x')\n", "writes a file: .write_bytes()"),
        ("frame.to_parquet(p)\n", "writes a file: .to_parquet()"),
        ("frame.to_csv(p, index=False)\n", "writes a file: .to_csv(<target>)"),
        ("frame.to_csv(path_or_buf=p)\n", "writes a file: .to_csv(<target>)"),
        ("import os\nos.replace(a, b)\n", "writes a file: os.replace()"),
        ("import os\nos.rename(a, b)\n", "writes a file: os.rename()"),
        ("import shutil\n", "writes a file: import shutil"),
        ("import shutil as sh\nsh.rmtree(p)\n", "writes a file: sh.rmtree()"),
        ("p.mkdir(parents=True)\n", "writes a file: .mkdir()"),
        ("p.unlink()\n", "writes a file: .unlink()"),
        ("import json\njson.dump({}, fh)\n", "writes a file: json.dump()"),
        ("from json import dump\n", "writes a file: from json import dump"),
        ("drilldowns.save(d, r)\n", "writes a file: .save()"),
    ],
)
def test_facade_violation_is_reported_with_file_and_line(tree, source, expected):
    lines = source.count("\n")
    plant(tree, "cache/facade/bad.py", "x = 1\n" + source)
    found = facade_violations(tree)
    assert f"cache/facade/bad.py:{lines + 1}: {expected}" in "\n".join(found), found
