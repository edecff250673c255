"""The metric registry: keys, contract table, documentation links, weights, purity."""

from __future__ import annotations

import ast
import dataclasses
import json
import math
import re
from pathlib import Path

import pytest

import metrics
from metrics import scoring
from metrics.methodology import methodology_markdown
from tests import FIXTURES

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = ROOT / "docs" / "architecture.md"
FIXTURES = Path(FIXTURES / "crossref")


def _contract_rows() -> list[dict[str, str | None]]:
    """Rows of the metric table in docs/architecture.md §4."""
    text = CONTRACT.read_text(encoding="utf-8")
    section = text.split("## 4.", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        if not line.startswith("| `"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        key, family, coverage_key, works_filter, count_filter = (
            cells[0].strip("`"),
            cells[1],
            cells[2],
            cells[3].strip("`"),
            cells[4].strip("`"),
        )
        rows.append(
            {
                "key": key,
                "family": family,
                "coverage_key": coverage_key or None,
                "works_filter": works_filter or None,
                "count_filter": count_filter or None,
            }
        )
    return rows


#: The licence family of issue 9 §1 (Crossref's licence best practice): key, coverage key,
#: works filter, count filter. A repeated filter name is one request: Crossref ORs it.
LICENCE_CONTRACT = [
    ("licenses", "licenses", "has-license", None),
    ("license-vor", None, None, "license.version:vor,license.version:unspecified"),
    ("license-am", None, None, "license.version:am,license.version:unspecified"),
    ("license-tdm", None, None, "license.version:tdm,license.version:unspecified"),
    ("license-cc", None, None, None),
    ("license-open-vor-immediate", None, None, None),
    ("license-open-am", None, None, None),
]


def test_licence_family_is_the_issue_9_contract():
    got = [
        (m.key, m.coverage_key, m.works_filter, m.count_filter)
        for m in metrics.by_family()["licences"]
    ]
    assert got == LICENCE_CONTRACT
    # what no filter can count is labelled as a sample estimate, with the reason
    for key in ("license-cc", "license-open-vor-immediate", "license-open-am"):
        m = metrics.get(key)
        assert m.estimated_by_sample and not m.measurable_by_filter, key
        assert "license.url" in (m.sample_only_reason or ""), key
        assert "sample estimate" in m.how_measured(), key
    vor = metrics.get("license-vor")
    assert not vor.estimated_by_sample and vor.sample_only_reason is None
    assert "Crossref ORs the repeated filter name" in vor.how_measured()
    with pytest.raises(ValueError):  # a metric with a filter is not sample-only
        dataclasses.replace(vor, sample_only_reason="x")


def test_registry_matches_the_contract_table():
    rows = _contract_rows()
    assert len(rows) >= 27
    documented = [r["key"] for r in rows]
    # every documented metric is in the registry, in the same order (metrics added since the
    # table was last written sit between them)
    assert documented == list(metrics.REGISTRY)
    for row in rows:
        m = metrics.REGISTRY[row["key"]]
        assert m.family == row["family"], m.key
        assert m.coverage_key == row["coverage_key"], m.key
        assert m.works_filter == row["works_filter"], m.key
        assert m.count_filter == row["count_filter"], m.key


def test_every_metric_is_documented_and_measurable():
    for key, m in metrics.REGISTRY.items():
        assert m.key == key
        assert m.label.strip() and m.description.strip() and m.why.strip(), key
        assert re.match(r"^https://www\.crossref\.org/documentation/\S+/$", m.improve_url), key
        assert m.coverage_key or m.works_filter or m.count_filter or m.measurable_on_works, key
        assert m.family in metrics.FAMILIES
        assert m.kind in ("presence", "depth")
        # every metric can be evaluated on work records (samples, bulk, reconciliation)
        assert m.measurable_on_works, key
        if m.kind == "depth":
            assert m.share is not None and m.predicate is None
        else:
            assert m.predicate is not None and m.share is None
    assert len(set(metrics.names())) == len(metrics.names()) == len(metrics.REGISTRY)
    assert metrics.get("orcid-author-share").kind == "depth"


def test_coverage_keys_are_exactly_crossrefs():
    member = json.loads(
        (FIXTURES / "members" / "member-98-hindawi.2026-06.json").read_text(encoding="utf-8")
    )["message"]
    block = member["coverage-type"]["all"]["journal-article"]
    crossref_keys = [k for k in block if k != "last-status-check-time"]
    assert list(metrics.COVERAGE_KEYS) == crossref_keys
    flat = {k.rsplit("-", 1)[0] for k in member["coverage"]}
    assert flat == set(metrics.COVERAGE_KEYS)
    with_key = [m.key for m in metrics.REGISTRY.values() if m.coverage_key]
    assert sorted(with_key) == sorted(metrics.COVERAGE_KEYS)
    assert all(metrics.REGISTRY[k].coverage_key == k for k in metrics.COVERAGE_KEYS)


def test_get_names_and_errors():
    assert metrics.get("abstracts") is metrics.REGISTRY["abstracts"]
    summary = [k for k in metrics.names() if metrics.get(k).coverage_key]
    assert summary[:3] == ["references", "abstracts", "orcids"]
    with pytest.raises(KeyError) as info:
        metrics.get("nope")
    message = str(info.value)
    assert "'nope'" in message
    for key in metrics.REGISTRY:
        assert key in message
    with pytest.raises(ValueError):
        metrics.get("nope")
    with pytest.raises(KeyError):
        metrics.get(None)


def test_families_and_helpers():
    grouped = metrics.by_family()
    assert list(grouped) == list(metrics.FAMILIES)
    assert [m.key for ms in grouped.values() for m in ms] == metrics.names()
    assert all(grouped[f] for f in metrics.FAMILIES)
    assert [m.key for m in grouped["ror"]] == [
        "ror-ids",
        "ror-affiliation",
        "ror-funder",
        "ror-institution",
    ]
    assert "orcid-author-share" not in metrics.PRESENCE_KEYS
    assert set(metrics.WORK_KEYS) == set(metrics.REGISTRY)


def test_metric_is_frozen_and_filters_read_right():
    m = metrics.get("orcids")
    with pytest.raises(dataclasses.FrozenInstanceError):
        m.label = "x"  # type: ignore[misc]
    assert m.gap_filter(True) == "has-orcid:true"
    assert m.gap_filter(False) == "has-orcid:false"
    sim = metrics.get("similarity-checking")
    assert sim.gap_filter(True) == "full-text.application:similarity-checking"
    assert sim.gap_filter(False) is None  # no negated form of a count filter
    assert metrics.get("license-cc").gap_filter(True) is None
    assert metrics.get("references").in_member_summary
    assert not metrics.get("clinical-trial-numbers").in_member_summary
    assert metrics.get("clinical-trial-numbers").measurable_by_filter
    assert not metrics.get("ror-funder").measurable_by_filter
    assert metrics.get("orcid-author-share").evaluate({"author": [{}]}) is None
    with pytest.raises(ValueError):
        metrics.Metric(key="x", label="x", family="nope", description="", why="", improve_url="")
    with pytest.raises(ValueError):  # no way to measure it
        metrics.Metric(
            key="x", label="x", family="abstracts", description="", why="", improve_url=""
        )


def test_default_weights():
    weights = scoring.DEFAULT_WEIGHTS
    assert set(weights) == set(metrics.COVERAGE_KEYS)
    assert math.isclose(sum(weights.values()), 1.0, abs_tol=1e-12)
    assert all(w > 0 for w in weights.values())
    core = ["references", "abstracts", "orcids", "affiliations", "ror-ids", "funders"]
    core += ["award-numbers", "licenses"]
    service = ["similarity-checking", "update-policies", "resource-links", "descriptions"]
    assert min(weights[k] for k in core) > max(weights[k] for k in service)
    assert {k: m.default_weight for k, m in metrics.REGISTRY.items() if m.default_weight} == dict(
        weights
    )


def test_size_tiers_are_ordered():
    bounds = [b for _, b in scoring.SIZE_TIERS]
    assert bounds == sorted(bounds) and bounds[0] == 0
    assert [t for t, _ in scoring.SIZE_TIERS] == ["small", "medium", "large"]
    assert bounds == [0, 1_000, 50_000]


def test_methodology_is_generated_from_the_registry():
    text = methodology_markdown()
    for m in metrics.REGISTRY.values():
        assert f"`{m.key}`" in text
        assert m.label in text
        assert m.improve_url in text
    for key, w in scoring.DEFAULT_WEIGHTS.items():
        assert f"(`{key}`): {w * 100:.0f} %" in text
    assert "fewer than 1,000 works" in text and "50,000 works or more" in text
    for phrase in (
        "DOI-weighted",
        "Member mean",
        "Wilson",
        "not applicable",
        "Presence, not completeness",
        "paratext",
        "`has-ror-id` is not affiliation-specific",
        "recomputed daily",
        "current",
        "backfile",
        "GEM",
        "content-mix",
        # licence rules (issue 9 §1) and the recognised open licences with their sources
        "applies to every version",
        "terms",
        "Open Government Licence (UK)",
        "https://opendefinition.org/licenses/",
        "fills a licence's `start` from the publication date",
        "organisation",
    ):
        assert phrase in text, phrase
    from metrics.licences import OTHER_OPEN_LICENCES

    for lic in OTHER_OPEN_LICENCES:
        assert lic.name in text and lic.source in text
    assert "license-start-date" not in text and "zero-embargo" not in text


ALLOWED_IMPORTS = {
    "__future__",
    "collections",
    "dataclasses",
    "json",
    "math",
    "metrics",
    "numpy",
    "pandas",
    "re",
    "types",
    "typing",
    "urllib",
}


def test_metrics_package_is_pure():
    """No network, disk, httpx or dash: only these imports, and no file access calls."""
    for path in sorted((ROOT / "metrics").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                roots = {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                roots = {(node.module or "").split(".")[0]}
            else:
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                    assert node.func.id not in {"open", "exec", "eval"}, path.name
                continue
            assert roots <= ALLOWED_IMPORTS, (path.name, roots)
