"""No 500 on malformed requests (issue 13 item 6): a seeded fuzz over every callback of the app.

The callbacks are listed the way the browser learns them, from ``/_dash-dependencies``, and each
gets malformed ``/_dash-update-component`` POSTs through Flask's test client: wrong types (a
string for a number, a dict for a list), 100,000-item lists, nested junk, ``None``, missing
props, missing inputs, unknown ids, a missing ``output``, broken JSON. A 500 is a failure; 200,
204 (``PreventUpdate``), 400 and 413 are answers. Background callbacks (the member drill-down) are
not fuzzed here: a request would start a job in a child process; clientside callbacks never reach
the server. Bounded: a fixed seed, a few hundred requests.
"""

from __future__ import annotations

import copy
import json
import random
from collections import Counter
from typing import Any

import pytest

pytest_plugins = ("tests.browser.fixtures",)  # synthetic_dir: a small real snapshot

SEED = 1313
BIG = 100_000
UPDATE = "/_dash-update-component"
REQUEST_BUDGET = 450  # about this many requests in all, however many callbacks the app has


def _junk(rng: random.Random) -> Any:
    """One malformed value: wrong type, huge, nested, hostile or empty."""
    choices: list[Any] = [
        None,
        "",
        "not-a-number",
        "<script>alert(1)</script>",
        "\x00\r\n=cmd|' /C calc'!A0",
        "x" * 20_000,
        -1,
        0,
        2**63,
        -(2**70),
        1e308,
        -0.5,
        True,
        [],
        {},
        [None],
        ["journal-article", 7, None, {"a": 1}],
        {"a": {"b": [1, {"c": None}]}, "type": "journal-article"},
        [[[[[[[[["deep"]]]]]]]]],
        {"startRow": "zero", "endRow": None, "sortModel": "x", "filterModel": []},
        {"startRow": -5, "endRow": 10**12, "sortModel": [{"colId": 3}], "filterModel": {"x": 1}},
        "NaN",
        "Infinity",
        "1e999",
        "12",
    ]
    roll = rng.random()
    if roll < 0.04:
        return list(range(BIG))
    if roll < 0.06:
        return [str(i) for i in range(BIG)]
    if roll < 0.07:
        return {str(i): i for i in range(BIG // 10)}
    return copy.deepcopy(rng.choice(choices))


def _plausible(rng: random.Random, member_id: int) -> Any:
    """A value a real page could send for some prop, so that junk elsewhere reaches deep code."""
    return copy.deepcopy(
        rng.choice(
            [
                None,
                "journal-article",
                "book-chapter",
                "current",
                "backfile",
                "all",
                "references",
                "size",
                "country",
                1,
                3,
                ["IDN", "USA"],
                [str(member_id)],
                {"member_id": member_id},
                {"startRow": 0, "endRow": 100, "sortModel": [], "filterModel": {}},
            ]
        )
    )


def _slot(dep: dict, value: Any) -> Any:
    """The payload entry for one input/state: a dict, or a list of dicts for ALL wildcards."""
    dep_id = dep["id"]
    if dep_id.startswith("{"):
        parsed = json.loads(dep_id)
        concrete = {k: ("references" if isinstance(v, list) else v) for k, v in parsed.items()}
        return [{"id": concrete, "property": dep["property"], "value": value}]
    return {"id": dep_id, "property": dep["property"], "value": value}


def _outputs(spec: dict) -> Any:
    """The ``outputs`` entry Dash's renderer sends for ``spec['output']``."""
    out = spec["output"]
    if out.startswith(".."):
        parts = [p for p in out[2:-2].split("...") if p]
        return [_output_dep(p) for p in parts]
    return _output_dep(out)


def _output_dep(text: str) -> dict:
    text = text.split("@")[0]
    if text.startswith("{"):
        brace = text.rindex("}")
        parsed = json.loads(text[: brace + 1])
        concrete = {k: ("references" if isinstance(v, list) else v) for k, v in parsed.items()}
        return {"id": concrete, "property": text[brace + 2 :]}
    ident, prop = text.rsplit(".", 1)
    return {"id": ident, "property": prop}


def _payload(spec: dict, values: list[Any], states: list[Any]) -> dict:
    inputs = [_slot(dep, v) for dep, v in zip(spec["inputs"], values, strict=True)]
    state = [_slot(dep, v) for dep, v in zip(spec["state"], states, strict=True)]
    changed = [f"{spec['inputs'][0]['id']}.{spec['inputs'][0]['property']}"]
    return {
        "output": spec["output"],
        "outputs": _outputs(spec),
        "inputs": inputs,
        "state": state,
        "changedPropIds": changed,
    }


def _cases(spec: dict, rng: random.Random, member_id: int) -> list[tuple[str, Any]]:
    """(label, body) pairs for one callback: per-slot junk, all-junk, plausible values with junk
    in one slot, structural damage."""
    n_in, n_st = len(spec["inputs"]), len(spec["state"])
    base = _payload(spec, [None] * n_in, [None] * n_st)
    cases: list[tuple[str, Any]] = [("all None", base)]
    for i in range(n_in):
        for _ in range(2):
            values = [None] * n_in
            values[i] = _junk(rng)
            cases.append((f"input {i} junk", _payload(spec, values, [None] * n_st)))
    for j in range(n_st):
        for _ in range(1):
            states = [None] * n_st
            states[j] = _junk(rng)
            cases.append((f"state {j} junk", _payload(spec, [None] * n_in, states)))
    for k in range(2):
        body = _payload(spec, [_junk(rng) for _ in range(n_in)], [_junk(rng) for _ in range(n_st)])
        cases.append((f"all junk {k}", body))
    for k in range(3):
        values = [_plausible(rng, member_id) for _ in range(n_in + n_st)]
        values[rng.randrange(n_in + n_st)] = _junk(rng)
        body = _payload(spec, values[:n_in], values[n_in:])
        cases.append((f"plausible + junk {k}", body))
    missing_value = copy.deepcopy(base)
    for entry in missing_value["inputs"] + missing_value["state"]:
        for item in entry if isinstance(entry, list) else [entry]:
            item.pop("value", None)
    cases.append(("props missing", missing_value))
    cases.append(("inputs missing", {**base, "inputs": []}))
    cases.append(("state missing", {k: v for k, v in base.items() if k != "state"}))
    cases.append(("output missing", {k: v for k, v in base.items() if k != "output"}))
    cases.append(("outputs missing", {k: v for k, v in base.items() if k != "outputs"}))
    cases.append(("inputs is a dict", {**base, "inputs": {"a": 1}}))
    cases.append(
        ("unknown input id", {**base, "inputs": [_slot({"id": "nope", "property": "value"}, 1)]})
    )
    cases.append(("changedPropIds junk", {**base, "changedPropIds": [{"x": 1}, 5]}))
    return cases


def _global_cases() -> list[tuple[str, Any]]:
    return [
        (
            "unknown output",
            {
                "output": "no-such.children",
                "outputs": {"id": "no-such", "property": "children"},
                "inputs": [],
                "changedPropIds": [],
            },
        ),
        ("output is a number", {"output": 5, "outputs": [], "inputs": []}),
        ("body is a list", [1, 2, 3]),
        ("body is null", None),
        ("body is a string", "output"),
        ("broken JSON", b'{"output": "x", "inputs": [}'),
        ("empty body", b""),
    ]


@pytest.fixture(scope="module")
def specs(synthetic_dir) -> tuple[Any, list[dict]]:
    import app

    client = app.server.test_client()
    response = client.get("/_dash-dependencies")
    assert response.status_code == 200
    return client, response.get_json()


def _post(client, body: Any):
    if isinstance(body, bytes):
        return client.post(UPDATE, data=body, content_type="application/json")
    return client.post(UPDATE, data=json.dumps(body), content_type="application/json")


def test_every_callback_survives_malformed_requests(specs, use_synthetic):
    from cache import facade

    client, deps = specs
    rng = random.Random(SEED)
    member_id = int(facade.members().index[0])
    server_side = [d for d in deps if not d.get("clientside_function")]
    fuzzed = [d for d in server_side if not d.get("background")]
    skipped = [d["output"] for d in server_side if d.get("background")]
    assert len(fuzzed) >= 20, "the app's callbacks were not all listed"
    assert len(skipped) <= 3  # the jobs (member drill-down, funder report): they would fork

    per_callback = max(6, REQUEST_BUDGET // len(fuzzed) - 9)  # 9 shape cases each
    failures: list[str] = []
    statuses: Counter[int] = Counter()
    answered: set[str] = set()  # callbacks that gave 200/204 to at least one request
    requests = 0
    for spec in fuzzed:
        cases = _cases(spec, rng, member_id)
        junk = [c for c in cases if "junk" in c[0]]
        if len(junk) > per_callback:  # bounded: a sample of the value cases, every shape case
            keep = rng.sample(junk, per_callback)
            cases = [c for c in cases if "junk" not in c[0] or c in keep]
        for label, body in cases:
            response = _post(client, body)
            requests += 1
            statuses[response.status_code] += 1
            if response.status_code in (200, 204):
                answered.add(spec["output"])
            if response.status_code >= 500:
                failures.append(f"{response.status_code} {spec['output'][:70]} — {label}")
    for label, body in _global_cases():
        response = _post(client, body)
        requests += 1
        statuses[response.status_code] += 1
        if response.status_code >= 500:
            failures.append(f"{response.status_code} (envelope) — {label}")

    assert not failures, f"{len(failures)} of {requests} requests failed:\n" + "\n".join(failures)
    assert 250 <= requests <= 1.3 * REQUEST_BUDGET, requests
    # the harness reaches the callbacks: most of them answered some malformed request normally
    assert len(answered) >= 0.8 * len(fuzzed), sorted({d["output"] for d in fuzzed} - answered)
    assert set(statuses) <= {200, 204, 400, 413}, statuses


def _spec(deps: list[dict], output_part: str) -> dict:
    return next(d for d in deps if output_part in d["output"])


def test_well_formed_requests_still_answer(specs, use_synthetic):
    """The guard lets the renderer's real requests through: the overview headline for a real
    type and period, and the shortlist with a pattern-matching weight list."""
    client, deps = specs
    spec = _spec(deps, "overview-headline.children")
    body = _payload(spec, ["journal-article", "current"], [])
    response = _post(client, body)
    assert response.status_code == 200
    assert "overview-coverage-chart" in response.get_json()["response"]

    spec = _spec(deps, "shortlist-groups.children")
    values = []
    for dep in spec["inputs"]:
        values.append(0.5 if dep["id"].startswith("{") else None)
    states = [
        {"type": "shortlist-weight", "metric": "references"} if d["id"].startswith("{") else None
        for d in spec["state"]
    ]
    response = _post(client, _payload(spec, values, states))
    assert response.status_code == 200, response.get_data(as_text=True)[:300]


def test_malformed_envelope_gets_a_one_line_400(specs, use_synthetic):
    client, deps = specs
    spec = _spec(deps, "overview-headline.children")
    body = _payload(spec, ["journal-article", "current"], [])
    for broken, reason in [
        ({**body, "inputs": body["inputs"][:1]}, "'inputs' must list 2 entries"),
        ({k: v for k, v in body.items() if k != "output"}, "'output' must name"),
        ({**body, "output": "nope.children"}, "'output' must name"),
        ([body], "must be a JSON object"),
    ]:
        response = _post(client, broken)
        assert response.status_code == 400
        message = response.get_json()["error"]
        assert reason in message and "\n" not in message and "Traceback" not in message
