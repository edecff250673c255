"""DuckDB SQL for the metrics of the registry, evaluated on work records (bulk ingest).

One entry per metric key in :data:`METRIC_SQL` (presence: a boolean expression) or
:data:`SHARE_SQL` (depth: numerator and denominator expressions). Each mirrors the Python
predicate of ``metrics.REGISTRY[key]`` and the semantics of docs/architecture.md §4; the unit
tests run both on the same records and require identical answers.

The expressions read one parsed work ``w`` (``from_json(line, WORK_STRUCTURE)``) and a few
helper columns computed once per work (:data:`HELPER_SQL`). Scalars the registry type-checks
(``isinstance(v, str)``, ``is True``, ``as_int``) are read as ``JSON`` so the SQL can apply the
same checks: ``js(j)`` is the string value of a JSON string and NULL for anything else, so a
number or a list where a string belongs does not count, exactly as in Python.

Known, deliberate difference (shape drift not seen in Crossref data): where the registry reads
a lone object in place of a list as a one-element list (``metrics.base.as_list``), DuckDB reads
it as absent; and a non-object entry in ``author[]`` still adds to the author count of
``orcid-author-share``.
"""

from __future__ import annotations

import json

# Python's str.isspace() set, as an RE2 character class body (what `str.strip()` removes).
_WS = (
    r"\t\n\x0b\x0c\r\x1c-\x1f \x{85}\x{a0}\x{1680}\x{2000}-\x{200a}"
    r"\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}"
)

# --- the shape DuckDB parses each work into ---------------------------------------------------
# "JSON" leaves keep the raw JSON text so the macros can check the JSON type; list-of-"BOOLEAN"
# is the cheapest way to keep only a list's length (the elements are not needed).
_DATE = {"date-parts": [["JSON"]]}
_AFFILIATION = {"name": "JSON", "id": "JSON"}
_PERSON = {"ORCID": "JSON", "authenticated-orcid": "JSON", "affiliation": [_AFFILIATION]}
_FUNDER = {
    "DOI": "JSON",
    "doi-asserted-by": "JSON",
    "award": "JSON",
    "award-info": [{"award-number": "JSON"}],
    "id": "JSON",
}
_LICENCE = {"URL": "JSON", "content-version": "JSON", "delay-in-days": "JSON", "start": _DATE}

WORK_STRUCTURE: dict = {
    # identity and grouping (not scored)
    "member": "VARCHAR",
    "type": "VARCHAR",
    "publisher": "VARCHAR",
    "prefix": "VARCHAR",
    "issued": _DATE,
    "published": _DATE,
    "indexed": {"timestamp": "BIGINT"},
    # scored
    "reference-count": "JSON",
    "reference": ["BOOLEAN"],
    "abstract": "JSON",
    "author": [_PERSON],
    "editor": [_PERSON],
    "chair": [_PERSON],
    "translator": [_PERSON],
    "funder": [_FUNDER],
    "update-policy": "JSON",
    "link": [{"intended-application": "JSON"}],
    "license": [_LICENCE],
    "description": "JSON",
    "clinical-trial-number": ["BOOLEAN"],
}
WORK_STRUCTURE_JSON = json.dumps(WORK_STRUCTURE)
ITEMS_STRUCTURE_JSON = json.dumps({"items": [WORK_STRUCTURE]})

_ID_ENTRY = json.dumps({"id": "JSON", "id-type": "JSON", "asserted-by": "JSON"})
_JSON_LIST = json.dumps(["JSON"])

# --- macros: the shape-tolerant helpers of metrics/base.py, in SQL -----------------------------
MACROS: tuple[str, ...] = (
    # isinstance(v, str) -> v, else NULL
    "CREATE OR REPLACE TEMP MACRO js(j) AS CASE WHEN left(j, 1) = '\"' THEN j ->> '$' END",
    # metrics.base.nonblank
    f"CREATE OR REPLACE TEMP MACRO nb(j) AS coalesce(regexp_matches(js(j), '[^{_WS}]'), false)",
    # metrics.base.lower: v.strip().lower() for strings
    f"CREATE OR REPLACE TEMP MACRO low(j) AS "
    f"lower(regexp_replace(js(j), '^[{_WS}]+|[{_WS}]+$', '', 'g'))",
    # metrics.base.any_nonblank: a non-blank string, or a list holding one
    f"CREATE OR REPLACE TEMP MACRO any_nb(j) AS CASE left(j, 1) "
    f"WHEN '\"' THEN nb(j) "
    f"WHEN '[' THEN coalesce(list_bool_or(list_transform(from_json(j, '{_JSON_LIST}'), "
    f"lambda e: nb(e))), false) "
    f"ELSE false END",
    # metrics.base.as_int: int, integral float or (signed) digit string; bools are not ints
    "CREATE OR REPLACE TEMP MACRO as_int(j) AS CASE json_type(j) "
    "WHEN 'UBIGINT' THEN TRY_CAST(j AS BIGINT) "
    "WHEN 'BIGINT' THEN TRY_CAST(j AS BIGINT) "
    "WHEN 'DOUBLE' THEN CASE WHEN CAST(j AS DOUBLE) = floor(CAST(j AS DOUBLE)) "
    "THEN TRY_CAST(CAST(j AS DOUBLE) AS BIGINT) END "
    f"WHEN 'VARCHAR' THEN TRY_CAST(regexp_extract(js(j), '^[{_WS}]*(-?[0-9]+)[{_WS}]*$', 1) "
    "AS BIGINT) END",
    # metrics.base.positive_int
    "CREATE OR REPLACE TEMP MACRO positive_int(j) AS CASE json_type(j) "
    "WHEN 'UBIGINT' THEN TRY_CAST(j AS UBIGINT) > 0 "
    "WHEN 'BIGINT' THEN TRY_CAST(j AS BIGINT) > 0 "
    "WHEN 'DOUBLE' THEN CAST(j AS DOUBLE) > 0 "
    f"WHEN 'VARCHAR' THEN coalesce(TRY_CAST(regexp_extract(js(j), "
    f"'^[{_WS}]*([0-9]+)[{_WS}]*$', 1) AS HUGEINT) > 0, false) "
    "ELSE false END",
    # metrics.base.year_of on a parsed {"date-parts": [[...]]}
    "CREATE OR REPLACE TEMP MACRO year_of(d) AS as_int(d['date-parts'][1][1])",
    # metrics.base.id_entries: the dict entries of `id` (a list, or a lone object)
    f"CREATE OR REPLACE TEMP MACRO id_list(j) AS CASE left(j, 1) "
    f"WHEN '[' THEN from_json(j, '[{_ID_ENTRY}]') "
    f"WHEN '{{' THEN [from_json(j, '{_ID_ENTRY}')] END",
    # any id entry of `kind` (lower-cased id-type) with a non-blank id
    "CREATE OR REPLACE TEMP MACRO has_id_kind(j, kind) AS "
    "coalesce(list_bool_or(list_transform(id_list(j), lambda e: nb(e.id) AND low(e['id-type']) = kind)),"
    " false)",
    # any identifier at all: a bare non-blank string or an entry with a non-blank id
    "CREATE OR REPLACE TEMP MACRO has_any_id(j) AS nb(j) OR "
    "coalesce(list_bool_or(list_transform(id_list(j), lambda e: nb(e.id))), false)",
    # list_bool_or that reads an empty or NULL list as false
    "CREATE OR REPLACE TEMP MACRO any_of(l) AS coalesce(list_bool_or(l), false)",
)

# --- helper columns, computed once per work, level by level (a level may use earlier ones) -----
HELPER_SQL: tuple[dict[str, str], ...] = (
    {
        # every contributor (author, editor, chair, translator)
        "contribs": "flatten([coalesce(w.author, []), coalesce(w.editor, []), "
        "coalesce(w.chair, []), coalesce(w.translator, [])])",
        "funders": "coalesce(w.funder, [])",
        "lics": "coalesce(w.license, [])",
        "apps": "list_transform(coalesce(w.link, []), lambda l: low(l['intended-application']))",
    },
    {"affs": "flatten(list_transform(contribs, lambda p: coalesce(p.affiliation, [])))"},
    {
        "aff_ror": "any_of(list_transform(affs, lambda a: has_id_kind(a.id, 'ror')))",
        "funder_ror": "any_of(list_transform(funders, lambda f: has_id_kind(f.id, 'ror')))",
        "funder_doi": "any_of(list_transform(funders, "
        "lambda f: nb(f.DOI) OR has_id_kind(f.id, 'doi')))",
    },
)


def _asserted(value: str) -> str:
    """metrics.base.funder_doi_assertions contains `value`."""
    return (
        "any_of(list_transform(funders, lambda f: "
        f"low(f['doi-asserted-by']) = '{value}' OR "
        "any_of(list_transform(id_list(f.id), "
        f"lambda e: nb(e.id) AND low(e['id-type']) = 'doi' AND low(e['asserted-by']) = '{value}'))))"
    )


def _version(value: str) -> str:
    return f"any_of(list_transform(lics, lambda l: low(l['content-version']) = '{value}'))"


# scheme http/https, optional userinfo, host creativecommons.org or www.…, optional port
_CC_RE = r"^(http|https)://([^/?#]*@)?(www\.)?creativecommons\.org(:[^/?#@]*)?([/?#].*)?$"

#: metric key -> SQL boolean over `w` and the helper columns (one work per row)
METRIC_SQL: dict[str, str] = {
    "references": "positive_int(w['reference-count']) OR len(w.reference) > 0",
    "abstracts": "nb(w.abstract)",
    "orcids": "any_of(list_transform(contribs, lambda p: nb(p.ORCID)))",
    "orcid-authenticated": "any_of(list_transform(contribs, "
    "lambda p: nb(p.ORCID) AND p['authenticated-orcid'] = 'true'))",
    "affiliations": "any_of(list_transform(affs, lambda a: nb(a.name) OR has_any_id(a.id)))",
    "ror-ids": "aff_ror OR funder_ror",
    "ror-affiliation": "aff_ror",
    "ror-funder": "funder_ror",
    "funders": "len(w.funder) > 0",
    "funder-doi": "funder_doi",
    "funder-identified": "funder_doi OR funder_ror",
    "funder-publisher-asserted": _asserted("publisher"),
    "funder-crossref-asserted": _asserted("crossref"),
    "award-numbers": "any_of(list_transform(funders, lambda f: any_nb(f.award) OR "
    "any_of(list_transform(coalesce(f['award-info'], []), lambda i: any_nb(i['award-number'])))))",
    "update-policies": "nb(w['update-policy'])",
    "similarity-checking": "list_contains(apps, 'similarity-checking')",
    "resource-links": "list_has_any(apps, ['text-mining', 'unspecified'])",
    "licenses": "any_of(list_transform(lics, lambda l: nb(l.URL)))",
    "license-vor": _version("vor"),
    "license-am": _version("am"),
    "license-tdm": _version("tdm"),
    "license-cc": "any_of(list_transform(lics, lambda l: coalesce(regexp_matches("
    f"lower(regexp_replace(js(l.URL), '^[{_WS}]+|[{_WS}]+$|[\\t\\r\\n]', '', 'g')), "
    f"'{_CC_RE}'), false)))",
    "license-start-date": "any_of(list_transform(lics, lambda l: year_of(l.start) IS NOT NULL))",
    "license-vor-zero-embargo": "any_of(list_transform(lics, "
    "lambda l: low(l['content-version']) = 'vor' AND as_int(l['delay-in-days']) = 0))",
    "descriptions": "any_nb(w.description)",
    "clinical-trial-numbers": "len(w['clinical-trial-number']) > 0",
}

#: depth metric key -> (numerator, denominator) SQL per work
SHARE_SQL: dict[str, tuple[str, str]] = {
    "orcid-author-share": (
        "len(list_filter(coalesce(w.author, []), lambda p: nb(p.ORCID)))",
        "len(list_filter(coalesce(w.author, []), lambda p: p IS NOT NULL))",
    ),
}

#: publication year as metrics.base.issued_year: `issued`, else `published`
YEAR_SQL = "coalesce(year_of(w.issued), year_of(w.published))"


def column_name(key: str) -> str:
    """A safe SQL identifier for a metric key (``license-vor`` -> ``m_license_vor``)."""
    return "m_" + key.replace("-", "_")
