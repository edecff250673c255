"""URL round trips of the pages: query → layout → controls → URL-writing callback → query → layout.

A page keeps its state in the query string: ``layout(**query)`` sets its controls, and the
callback with ``Output("<page>-location", "search")`` writes the controls back into the URL.
:func:`round_trip` runs that loop once through Dash's own callback registry (the callback's
inputs and states, in order, read from the controls of the first layout), so a control the
callback writes but ``layout()`` does not read back (or the reverse) shows up as a difference.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs

from dash import _callback
from dash.development.base_component import Component


def components(tree: Any) -> Iterator[Component]:
    """Every Dash component in a layout tree, depth first (children and component props)."""
    if isinstance(tree, Component):
        yield tree
        for name in tree._prop_names:
            yield from components(getattr(tree, name, None))
    elif isinstance(tree, list | tuple):
        for item in tree:
            yield from components(item)


def url_callback(prefix: str) -> dict:
    """The registry entry of the callback that writes ``<prefix>-location.search``."""
    import app

    # Dash moves callbacks from its global map into the app's map once the app has served a
    # request (another test may have done so first): look in both.
    registered = {**app.app.callback_map, **_callback.GLOBAL_CALLBACK_MAP}
    for key, entry in registered.items():
        outputs = key.strip(".").split("...")
        if f"{prefix}-location.search" in outputs:
            return {**entry, "outputs": outputs}
    raise LookupError(f"no callback writes {prefix}-location.search")


def _matches(component_id: Any, wanted: Any) -> bool:
    if isinstance(wanted, dict):  # a pattern-matching id: {"type": ..., "metric": ALL}
        return isinstance(component_id, dict) and all(
            component_id.get(k) == v for k, v in wanted.items() if not isinstance(v, list)
        )
    return component_id == wanted


def _parse_id(raw: str) -> Any:
    import json

    return json.loads(raw) if raw.startswith("{") else raw


def controls(tree: Any, deps: list[dict]) -> list[Any]:
    """The value of each callback dependency (``{"id", "property"}``) in the layout ``tree``.

    A plain id gives that component's property (a missing control fails); a pattern-matching
    id gives the list of the property over every matching component, in layout order.
    """
    found = list(components(tree))
    out = []
    for dep in deps:
        wanted, prop = _parse_id(dep["id"]), dep["property"]
        hits = [c for c in found if _matches(getattr(c, "id", None), wanted)]
        if isinstance(wanted, dict):
            out.append([getattr(c, prop, None) for c in hits])
        else:
            assert len(hits) == 1, f"{dep['id']}: {len(hits)} components in the layout"
            out.append(getattr(hits[0], prop, None))
    return out


def query_dict(search: str) -> dict[str, str | list[str]]:
    """'?a=1&b=x%2Cy' → {'a': '1', 'b': 'x,y'} (a repeated key keeps its list)."""
    parsed = parse_qs((search or "").removeprefix("?"), keep_blank_values=True)
    return {k: v[0] if len(v) == 1 else v for k, v in parsed.items()}


def round_trip(
    layout: Callable[..., Any], prefix: str, query: dict[str, Any], path_args: dict | None = None
) -> tuple[list[Any], str, list[Any]]:
    """(controls of ``layout(**query)``, the URL search the callback writes for them, controls
    of the layout of that URL). ``path_args`` (e.g. ``member_id``) are passed both times."""
    path_args = path_args or {}
    entry = url_callback(prefix)
    deps = [*entry["inputs"], *entry["state"]]
    first = controls(layout(**path_args, **query), deps)
    func = entry["callback"].__wrapped__
    outputs = func(*first)
    search = outputs[entry["outputs"].index(f"{prefix}-location.search")]
    assert isinstance(search, str), f"{prefix}: the callback wrote {search!r} to the URL"
    second = controls(layout(**path_args, **query_dict(search)), deps)
    return first, search, second
