"""Reject malformed callback requests with 400 before Dash dispatches them (issue 13 item 6).

Dash's ``/_dash-update-component`` trusts the envelope the renderer sends: a body without
``output``, an ``inputs`` that is not a list, fewer inputs than the callback declares or an
unknown id end in a ``KeyError``/``TypeError`` inside Dash and a 500 with a traceback in the log.
:func:`install` adds a ``before_request`` hook that checks the envelope against the registered
callback — ``output`` names a registered callback; ``outputs``, ``inputs`` and ``state`` have the
declared number of entries, each an object with the declared ``id`` and ``property`` (a list of
such objects for pattern-matching ids); ``changedPropIds`` is a list of strings; URL props
(``pathname``, ``href``, ``search``, ``hash``) are text — and answers 400 with a one-line JSON
reason otherwise. Other *values* are the callbacks' business: each callback validates its own
inputs and answers bad ones with ``PreventUpdate`` or defaults.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import flask

logger = logging.getLogger(__name__)

UPDATE_PATH = "_dash-update-component"
# URL props (dcc.Location, dcc.Link) are always text in a browser; Dash's own page router
# fails on anything else, so such values are refused here. None: allowed for search/hash.
TEXT_PROPS = {"pathname": False, "href": False, "search": True, "hash": True}


class BadEnvelope(ValueError):
    """The request body does not match the callback it names."""


def _split_outputs(output: str) -> list[str]:
    """``"..a.b...c.d.."`` → ``["a.b", "c.d"]``; ``"a.b"`` → ``["a.b"]`` (``@hash`` dropped)."""
    if output.startswith("..") and output.endswith(".."):
        parts = [p for p in output[2:-2].split("...") if p]
    else:
        parts = [output]
    return [p.split("@", 1)[0] for p in parts]


def _split_dep(text: str) -> tuple[Any, str]:
    """``"a.b"`` → ("a", "b"); ``'{"k":["ALL"]}.value'`` → ({"k": ["ALL"]}, "value")."""
    if text.startswith("{"):
        brace = text.rindex("}")
        return json.loads(text[: brace + 1]), text[brace + 2 :]
    ident, _, prop = text.rpartition(".")
    return ident, prop


def _check_item(item: Any, spec_id: Any, prop: str, where: str, prefix: str = "/") -> None:
    if not isinstance(item, dict):
        raise BadEnvelope(f"{where} must be an object")
    got = item.get("property")
    # an allow_duplicate output's property carries its hash: "pathname@<hash>"
    if not isinstance(got, str) or got.split("@", 1)[0] != prop:
        raise BadEnvelope(f"{where} must be property {prop!r}")
    ident = item.get("id")
    if isinstance(spec_id, dict):
        if not isinstance(ident, dict) or set(ident) != set(spec_id):
            raise BadEnvelope(f"{where} must have a pattern id with keys {sorted(spec_id)}")
        for key, wanted in spec_id.items():
            if not isinstance(wanted, list) and ident[key] != wanted:
                raise BadEnvelope(f"{where}: id {key}={ident[key]!r} does not match")
    elif ident != spec_id:
        raise BadEnvelope(f"{where} must be id {spec_id!r}")
    if prop in TEXT_PROPS and not where.startswith("outputs"):
        value = item.get("value")
        if not isinstance(value, str) and not (value is None and TEXT_PROPS[prop]):
            raise BadEnvelope(f"{where}: {prop} must be text")
        if prop == "pathname" and not value.startswith(prefix.rstrip("/") or "/"):
            raise BadEnvelope(f"{where}: pathname must start with {prefix!r}")


def _check_entry(entry: Any, spec_id: Any, prop: str, where: str, prefix: str = "/") -> None:
    """One input/state/output entry: an object, or a list of objects for a pattern id."""
    wildcard = isinstance(spec_id, dict) and any(isinstance(v, list) for v in spec_id.values())
    if wildcard:
        if not isinstance(entry, list):
            raise BadEnvelope(f"{where} must be a list (pattern-matching id)")
        for k, item in enumerate(entry):
            _check_item(item, spec_id, prop, f"{where}[{k}]", prefix)
    else:
        _check_item(entry, spec_id, prop, where, prefix)


def check_envelope(body: Any, callback_map: dict[str, dict], prefix: str = "/") -> None:
    """Raise :class:`BadEnvelope` (one-line reason) unless ``body`` is a well-formed request for
    a callback in ``callback_map`` (Dash's ``app.callback_map``). Of the values only URL props
    are checked (text; a ``pathname`` starts with ``prefix``, the app's
    ``requests_pathname_prefix``)."""
    if not isinstance(body, dict):
        raise BadEnvelope("the body must be a JSON object")
    output = body.get("output")
    if not isinstance(output, str) or output not in callback_map:
        raise BadEnvelope("'output' must name a registered callback")
    spec = callback_map[output]
    if spec.get("clientside_function") or "callback" not in spec:
        raise BadEnvelope("that callback does not run on the server")

    expected_out = [_split_dep(o) for o in _split_outputs(output)]
    outputs = body.get("outputs")
    if output.startswith(".."):
        if not isinstance(outputs, list) or len(outputs) != len(expected_out):
            raise BadEnvelope(f"'outputs' must list {len(expected_out)} outputs")
    else:
        outputs = [outputs]
    for k, (entry, (spec_id, prop)) in enumerate(zip(outputs, expected_out, strict=True)):
        _check_entry(entry, spec_id, prop, f"outputs[{k}]")

    for field in ("inputs", "state"):
        declared = spec.get(field) or []
        given = body.get(field, [] if field == "state" else None)
        if not isinstance(given, list) or len(given) != len(declared):
            raise BadEnvelope(f"'{field}' must list {len(declared)} entries")
        for k, (entry, dep) in enumerate(zip(given, declared, strict=True)):
            spec_id, prop = _split_dep(f"{dep['id']}.{dep['property']}")
            _check_entry(entry, spec_id, prop, f"{field}[{k}]", prefix)

    changed = body.get("changedPropIds", [])
    if not isinstance(changed, list) or not all(isinstance(c, str) for c in changed):
        raise BadEnvelope("'changedPropIds' must be a list of strings")


def install(app: Any) -> None:
    """Register the envelope check on ``app.server`` (a Dash app) for POSTs to
    ``/_dash-update-component``: a malformed body gets ``400 {"error": reason}``."""
    server = app.server

    @server.before_request
    def _check_callback_request():
        request = flask.request
        if request.method != "POST" or not request.path.endswith(UPDATE_PATH):
            return None
        body = request.get_json(silent=True)
        try:
            check_envelope(body, app.callback_map, app.config.requests_pathname_prefix or "/")
        except BadEnvelope as exc:
            logger.info("refused a malformed callback request: %s", exc)
            return flask.jsonify({"error": f"malformed callback request: {exc}"}), 400
        return None
