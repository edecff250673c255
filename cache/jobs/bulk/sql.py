"""The per-metric SQL: DuckDB expressions of the registry's metrics over one parsed work.

One entry per metric key in :data:`METRIC_SQL` (presence: a boolean expression) or
:data:`SHARE_SQL` (depth: numerator and denominator expressions). Each mirrors the Python
predicate of ``metrics.REGISTRY[key]`` and the semantics of docs/architecture.md §4; the unit
tests run both on the same records and require identical answers.

The expressions read one parsed work ``w`` (a row of ``read_ndjson(columns=WORK_COLUMNS_SQL)``
on the fast path, ``from_json(line, WORK_STRUCTURE)`` on the streaming path: the same struct)
and a few helper columns computed once per work (:data:`HELPER_SQL`). Scalars the registry
type-checks (``isinstance(v, str)``, ``is True``, ``as_int``) are read as ``JSON`` so the SQL
can apply the same checks: ``js(j)`` is the string value of a JSON string and NULL for
anything else, so a number or a list where a string belongs does not count, exactly as in
Python.

Known, deliberate difference (shape drift not seen in Crossref data): where the registry reads
a lone object in place of a list as a one-element list (``metrics.base.as_list``), DuckDB reads
it as absent (except ``updated-by``/``update-to``/``relation``, kept as JSON and exact); and a
non-object entry in ``author[]`` or ``reference[]`` still adds to the author count of
``orcid-author-share`` or the reference count of ``reference-dois``.
"""

from __future__ import annotations

import json

from metrics import licences as _licences

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
_PERSON = {
    "ORCID": "JSON",
    "authenticated-orcid": "JSON",
    "affiliation": [_AFFILIATION],
    # names tell organisation authors (a bare `name`) from people (metrics.orcid.is_organisation)
    "given": "JSON",
    "family": "JSON",
    "name": "JSON",
}
_FUNDER = {
    "DOI": "JSON",
    "doi-asserted-by": "JSON",
    "award": "JSON",
    "award-info": [{"award-number": "JSON", "DOI": "JSON"}],
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
    "DOI": "VARCHAR",
    "indexed": {"timestamp": "BIGINT", "date-time": "VARCHAR"},
    "deposited": {"timestamp": "BIGINT", "date-time": "VARCHAR"},
    # scored
    "reference-count": "JSON",
    # each reference's DOI and who asserted it (reference-dois*)
    "reference": [{"DOI": "JSON", "doi-asserted-by": "JSON"}],
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
    # the research nexus (metrics.relations, metrics.updates, ror-institution): `relation` has
    # one key per relation type, so it stays JSON; the update lists stay JSON so a lone object
    # reads as a one-element list, as metrics.base.as_list does
    "relation": "JSON",
    "updated-by": "JSON",
    "update-to": "JSON",
    "institution": [{"id": "JSON"}],
}
WORK_STRUCTURE_JSON = json.dumps(WORK_STRUCTURE)


def duckdb_type(shape: object) -> str:
    """The DuckDB type of a from_json structure (``["X"]`` → ``X[]``, dict → STRUCT)."""
    if isinstance(shape, str):
        return shape
    if isinstance(shape, list):
        return duckdb_type(shape[0]) + "[]"
    assert isinstance(shape, dict)
    fields = ", ".join(f'"{k}" {duckdb_type(v)}' for k, v in shape.items())
    return f"STRUCT({fields})"


#: ``columns=`` of ``read_ndjson``: the same shape, one column per top-level key, so DuckDB's
#: reader parses each line once, straight into the struct (no JSON text in between).
WORK_COLUMNS_SQL = (
    "{" + ", ".join(f"'{k}': '{duckdb_type(v)}'" for k, v in WORK_STRUCTURE.items()) + "}"
)

_ID_ENTRY = json.dumps({"id": "JSON", "id-type": "JSON", "asserted-by": "JSON"})
_JSON_LIST = json.dumps(["JSON"])

# metrics.funding.DOI_PATTERN in RE2: Python's \s is str.isspace(), RE2's is ASCII, so spell it
_DOI_RE = (
    f"(?i)^[{_WS}]*(?:https?://(?:dx\\.)?doi\\.org/|doi:[{_WS}]*)?10\\.[0-9]{{4,9}}/"
    f"[^{_WS}]+[{_WS}]*$"
)
_UPDATE_ENTRY = json.dumps({"type": "JSON", "source": "JSON"})
_REL_ENTRY = json.dumps({"id": "JSON"})

# --- macros: the shape-tolerant helpers of metrics/base.py, in SQL -----------------------------
# JSON leaves come back from DuckDB re-serialised by yyjson: minified, raw UTF-8, and only `"`,
# `\` and control characters escaped. The fast paths below rely on that and send anything with
# a backslash (or otherwise unusual) to the exact, slower form.
_FIRST_CHAR_SLOW = "".join(
    ['"', "\\", " ", "\x85", "\xa0", "\u1680"]
    + [chr(c) for c in range(0x2000, 0x200B)]
    + ["\u2028", "\u2029", "\u202f", "\u205f", "\u3000"]
)
_FIRST_CHAR_SLOW_SQL = ", ".join(f"'{c}'" for c in _FIRST_CHAR_SLOW)
_TOKENS = (
    "vor",
    "am",
    "tdm",
    "unspecified",
    "stm-asf",
    "text-mining",
    "similarity-checking",
    "syndication",
    "publisher",
    "crossref",
    "doi",
    "ror",
    "DOI",
    "ROR",
    "retraction",
    "withdrawal",
    "correction",
    "retraction-watch",
)
_TOKENS_SQL = ", ".join(f"'\"{t}\"'" for t in _TOKENS)
# the JSON text of a licence URL names one of the recognised open licences' hosts, or holds an
# escape (one regular expression: RE2 matches the alternation in one pass)
_OPEN_HINT_RE = "(?i)" + "|".join(h.replace(".", r"\.") for h in _licences.OPEN_HOSTS) + r"|\\"

MACROS: tuple[str, ...] = (
    # isinstance(v, str) -> v, else NULL
    "CREATE OR REPLACE TEMP MACRO js(j) AS CASE WHEN left(j, 1) = '\"' THEN j ->> '$' END",
    # metrics.base.nonblank: fast when the first character is plainly not whitespace
    f"CREATE OR REPLACE TEMP MACRO nb(j) AS CASE WHEN j IS NULL THEN false "
    f"WHEN left(j, 1) <> '\"' THEN false "
    f"WHEN substr(j, 2, 1) NOT IN ({_FIRST_CHAR_SLOW_SQL}) THEN true "
    f"ELSE coalesce(regexp_matches(js(j), '[^{_WS}]'), false) END",
    # metrics.base.lower: v.strip().lower() for strings
    f"CREATE OR REPLACE TEMP MACRO low(j) AS "
    f"lower(regexp_replace(js(j), '^[{_WS}]+|[{_WS}]+$', '', 'g'))",
    # low(j) for the short controlled values (content-version, intended-application, id-type,
    # asserted-by): their usual spellings map directly, anything else goes through low(j)
    "CREATE OR REPLACE TEMP MACRO low_tok(j) AS CASE WHEN j IS NULL THEN NULL "
    f"WHEN j IN ({_TOKENS_SQL}) THEN lower(substr(j, 2, length(j) - 2)) "
    "WHEN left(j, 1) <> '\"' THEN NULL ELSE low(j) END",
    # metrics.base.any_nonblank: a non-blank string, or a list holding one
    f"CREATE OR REPLACE TEMP MACRO any_nb(j) AS CASE left(j, 1) "
    f"WHEN '\"' THEN nb(j) "
    # a list whose first element is a plainly non-blank string needs no parsing
    f"WHEN '[' THEN CASE WHEN substr(j, 2, 1) = '\"' "
    f"AND substr(j, 3, 1) NOT IN ({_FIRST_CHAR_SLOW_SQL}) THEN true "
    f"ELSE coalesce(list_bool_or(list_transform(from_json(j, '{_JSON_LIST}'), "
    f"lambda e: nb(e))), false) END "
    f"ELSE false END",
    # metrics.base.as_int: int, integral float or (signed) digit string; bools are not ints
    "CREATE OR REPLACE TEMP MACRO as_int_slow(j) AS CASE json_type(j) "
    "WHEN 'UBIGINT' THEN TRY_CAST(j AS BIGINT) "
    "WHEN 'BIGINT' THEN TRY_CAST(j AS BIGINT) "
    "WHEN 'DOUBLE' THEN CASE WHEN TRY_CAST(j AS DOUBLE) = floor(TRY_CAST(j AS DOUBLE)) "
    "THEN TRY_CAST(TRY_CAST(j AS DOUBLE) AS BIGINT) END "
    f"WHEN 'VARCHAR' THEN TRY_CAST(regexp_extract(js(j), '^[{_WS}]*(-?[0-9]+)[{_WS}]*$', 1) "
    "AS BIGINT) END",
    # a JSON integer literal is read directly; anything else (floats, strings …) the slow way
    "CREATE OR REPLACE TEMP MACRO plain_int(j) AS j IS NOT NULL AND left(j, 1) <> '\"' "
    "AND NOT (contains(j, '.') OR contains(j, 'e') OR contains(j, 'E'))",
    "CREATE OR REPLACE TEMP MACRO as_int(j) AS CASE WHEN j IS NULL THEN NULL "
    "WHEN plain_int(j) THEN TRY_CAST(CAST(j AS VARCHAR) AS BIGINT) ELSE as_int_slow(j) END",
    # metrics.base.positive_int
    "CREATE OR REPLACE TEMP MACRO positive_int_slow(j) AS CASE json_type(j) "
    "WHEN 'UBIGINT' THEN TRY_CAST(j AS UBIGINT) > 0 "
    "WHEN 'BIGINT' THEN TRY_CAST(j AS BIGINT) > 0 "
    "WHEN 'DOUBLE' THEN TRY_CAST(j AS DOUBLE) > 0 "
    f"WHEN 'VARCHAR' THEN coalesce(TRY_CAST(regexp_extract(js(j), "
    f"'^[{_WS}]*([0-9]+)[{_WS}]*$', 1) AS HUGEINT) > 0, false) "
    "ELSE false END",
    "CREATE OR REPLACE TEMP MACRO positive_int(j) AS CASE WHEN j IS NULL THEN false "
    "WHEN plain_int(j) AND TRY_CAST(CAST(j AS VARCHAR) AS BIGINT) IS NOT NULL "
    "THEN TRY_CAST(CAST(j AS VARCHAR) AS BIGINT) > 0 ELSE positive_int_slow(j) END",
    # metrics.base.year_of on a parsed {"date-parts": [[...]]}
    "CREATE OR REPLACE TEMP MACRO year_of(d) AS as_int(d['date-parts'][1][1])",
    # metrics.base.id_entries: the dict entries of `id` (a list, or a lone object)
    f"CREATE OR REPLACE TEMP MACRO id_list(j) AS CASE left(j, 1) "
    f"WHEN '[' THEN from_json(j, '[{_ID_ENTRY}]') "
    f"WHEN '{{' THEN [from_json(j, '{_ID_ENTRY}')] END",
    # any id entry of `kind` (lower-cased id-type) with a non-blank id
    "CREATE OR REPLACE TEMP MACRO has_id_kind(j, kind) AS CASE WHEN j IS NULL THEN false ELSE "
    "coalesce(list_bool_or(list_transform(id_list(j), "
    "lambda e: low_tok(e['id-type']) = kind AND nb(e.id))), false) END",
    # any identifier at all: a bare non-blank string or an entry with a non-blank id
    "CREATE OR REPLACE TEMP MACRO has_any_id(j) AS CASE WHEN j IS NULL THEN false ELSE nb(j) OR "
    "coalesce(list_bool_or(list_transform(id_list(j), lambda e: nb(e.id))), false) END",
    # list_bool_or that reads an empty or NULL list as false
    "CREATE OR REPLACE TEMP MACRO any_of(l) AS coalesce(list_bool_or(l), false)",
    # metrics.funding.is_doi on a JSON leaf: a string that is a DOI
    "CREATE OR REPLACE TEMP MACRO is_doi(j) AS "
    f"coalesce(regexp_matches(js(j), '{_DOI_RE}'), false)",
    # a DOI string, or a list holding one (award, award-number)
    "CREATE OR REPLACE TEMP MACRO any_doi(j) AS CASE left(j, 1) WHEN '\"' THEN is_doi(j) "
    f"WHEN '[' THEN any_of(list_transform(from_json(j, '{_JSON_LIST}'), lambda e: is_doi(e))) "
    "ELSE false END",
    # metrics.base.as_list(...) is non-empty: a non-empty list, or a lone object
    "CREATE OR REPLACE TEMP MACRO nonempty(j) AS CASE left(j, 1) "
    "WHEN '[' THEN json_array_length(j) > 0 WHEN '{' THEN true ELSE false END",
    # the dict entries of an update list (list or lone object) as {type, source}
    f"CREATE OR REPLACE TEMP MACRO update_list(j) AS CASE left(j, 1) "
    f"WHEN '[' THEN from_json(j, '[{_UPDATE_ENTRY}]') "
    f"WHEN '{{' THEN [from_json(j, '{_UPDATE_ENTRY}')] END",
    # metrics.updates.update_type
    "CREATE OR REPLACE TEMP MACRO upd_type(j) AS replace(replace(low_tok(j), '-', '_'), ' ', '_')",
    # metrics.relations.relation_types: a type whose entries hold a non-blank id
    f"CREATE OR REPLACE TEMP MACRO rel_has_id(v) AS CASE left(v, 1) "
    f"WHEN '[' THEN any_of(list_transform(from_json(v, '[{_REL_ENTRY}]'), lambda e: nb(e.id))) "
    f"WHEN '{{' THEN coalesce(nb(from_json(v, '{_REL_ENTRY}').id), false) ELSE false END",
    "CREATE OR REPLACE TEMP MACRO rel_types(j) AS CASE WHEN j IS NULL OR left(j, 1) <> '{' "
    "OR j = '{}' THEN [] ELSE list_transform(list_filter(json_keys(j), "
    "lambda k: low(to_json(k)) <> '' AND rel_has_id(json_extract(j, "
    # a JSON pointer (RFC 6901: ~ -> ~0, / -> ~1) reaches any key, the empty one included
    "'/' || replace(replace(k, '~', '~0'), '/', '~1')))), "
    "lambda k: low(to_json(k))) END",
    # metrics.licences.normalise_licence_url: stripped, tabs and newlines removed, lower-cased
    f"CREATE OR REPLACE TEMP MACRO lic_url(j) AS "
    f"lower(regexp_replace(js(j), '^[{_WS}]+|[{_WS}]+$|[\\t\\r\\n]', '', 'g'))",
    # metrics.licences.open_licence_kind: 2 Creative Commons, 1 other recognised open licence,
    # 0 not open. Cheap test first: the JSON text must name a recognised host (or hold an
    # escape, which only the exact form decodes)
    "CREATE OR REPLACE TEMP MACRO open_kind(j) AS CASE "
    "WHEN j IS NULL OR left(j, 1) <> '\"' THEN 0 "
    f"WHEN NOT regexp_matches(j, '{_OPEN_HINT_RE}') THEN 0 "
    f"WHEN regexp_matches(lic_url(j), '{_licences.CC_PATTERN}') THEN 2 "
    f"WHEN regexp_matches(lic_url(j), '{_licences.OTHER_OPEN_PATTERN}') THEN 1 ELSE 0 END",
    # metrics.licences.applies_to: the licence's version is `version` or unspecified
    "CREATE OR REPLACE TEMP MACRO lic_applies(l, version) AS "
    "coalesce(low_tok(l['content-version']) IN (version, 'unspecified'), false)",
)

# --- helper columns, computed once per work, level by level (a level may use earlier ones) -----
# "Any X with Y" over a work distributes over lists: any id entry of any affiliation of any
# contributor is an entry of the flattened list of all of them, so each nested list is parsed
# and normalised once and every metric reads the flat result.
HELPER_SQL: tuple[dict[str, str], ...] = (
    {
        "authors": "coalesce(w.author, [])",
        # the other contributors (editor, chair, translator): usually none
        "others": "flatten([coalesce(w.editor, []), coalesce(w.chair, []), "
        "coalesce(w.translator, [])])",
        "funders": "coalesce(w.funder, [])",
        "lics": "coalesce(w.license, [])",
        "refs": "coalesce(w.reference, [])",
        "rels": "rel_types(w.relation)",
        "retractions": "list_filter(coalesce(update_list(w['updated-by']), []), "
        "lambda e: e IS NOT NULL AND upd_type(e.type) IN ('retraction', 'withdrawal'))",
        "links": "coalesce(w.link, [])",
    },
    {
        "author_orcid": "list_transform(authors, lambda p: nb(p.ORCID))",
        # every affiliation of every contributor
        "affs": "list_concat(flatten(list_transform(authors, lambda p: p.affiliation)), "
        "flatten(list_transform(others, lambda p: p.affiliation)))",
        # every id[] entry of every funder
        "fund_ids": "flatten(list_transform(list_filter(funders, lambda f: f.id IS NOT NULL), "
        "lambda f: id_list(f.id)))",
        "versions": "list_transform(lics, lambda l: low_tok(l['content-version']))",
        # per licence: 2 Creative Commons, 1 other open licence, 0 not open (metrics.licences)
        "lic_open": "list_transform(lics, lambda l: open_kind(l.URL))",
        "apps": "list_transform(links, lambda l: low_tok(l['intended-application']))",
    },
    {
        # every id[] entry of every affiliation
        "aff_ids": "flatten(list_transform(list_filter(affs, lambda a: a.id IS NOT NULL), "
        "lambda a: id_list(a.id)))",
        # per funder id entry with a non-blank id: its lower-cased id-type ('' if not a string)
        "fund_kinds": "list_transform(fund_ids, "
        "lambda e: CASE WHEN nb(e.id) THEN coalesce(low_tok(e['id-type']), '') END)",
    },
    {
        "aff_kinds": "list_transform(aff_ids, "
        "lambda e: CASE WHEN nb(e.id) THEN coalesce(low_tok(e['id-type']), '') END)",
        # who asserted each funder DOI given as an id[] entry
        "fund_doi_by": "list_transform(list_zip(fund_ids, fund_kinds), "
        "lambda z: CASE WHEN z[2] = 'doi' THEN low_tok(z[1]['asserted-by']) END)",
    },
    {
        "aff_ror": "list_contains(aff_kinds, 'ror')",
        "funder_ror": "list_contains(fund_kinds, 'ror')",
        "funder_doi": "any_of(list_transform(funders, lambda f: nb(f.DOI))) "
        "OR list_contains(fund_kinds, 'doi')",
    },
)


def _asserted(value: str) -> str:
    """metrics.base.funder_doi_assertions contains `value` (either form)."""
    return (
        "any_of(list_transform(funders, "
        f"lambda f: low_tok(f['doi-asserted-by']) = '{value}')) "
        f"OR list_contains(fund_doi_by, '{value}')"
    )


def _applies(version: str) -> str:
    """metrics.licences: any licence applying to `version` (itself or `unspecified`)."""
    return f"list_has_any(versions, ['{version}', 'unspecified'])"


#: metric key -> SQL boolean over `w` and the helper columns (one work per row)
METRIC_SQL: dict[str, str] = {
    "references": "positive_int(w['reference-count']) OR len(w.reference) > 0",
    "abstracts": "nb(w.abstract)",
    "orcids": "any_of(author_orcid) OR any_of(list_transform(others, lambda p: nb(p.ORCID)))",
    "orcid-authenticated": "any_of(list_transform(authors, "
    "lambda p: p['authenticated-orcid'] = 'true' AND nb(p.ORCID))) OR any_of(list_transform("
    "others, lambda p: p['authenticated-orcid'] = 'true' AND nb(p.ORCID)))",
    # a non-blank name, a bare non-blank id string, or an id[] entry with a non-blank id
    "affiliations": "any_of(list_transform(affs, lambda a: nb(a.name) OR nb(a.id))) "
    "OR list_count(aff_kinds) > 0",
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
    "license-vor": _applies("vor"),
    "license-am": _applies("am"),
    "license-tdm": _applies("tdm"),
    "license-cc": "list_contains(lic_open, 2)",
    # one licence that is open, applies to the VoR and starts at publication (delay <= 0)
    "license-open-vor-immediate": "coalesce(list_max(lic_open) > 0, false) AND any_of("
    "list_transform(list_zip(lics, lic_open), lambda z: z[2] > 0 AND lic_applies(z[1], 'vor') "
    "AND coalesce(as_int(z[1]['delay-in-days']) <= 0, false)))",
    # one licence that is open, applies to the AM and has a start date
    "license-open-am": "coalesce(list_max(lic_open) > 0, false) AND any_of("
    "list_transform(list_zip(lics, lic_open), lambda z: z[2] > 0 AND lic_applies(z[1], 'am') "
    "AND year_of(z[1].start) IS NOT NULL))",
    "descriptions": "any_nb(w.description)",
    # metrics.orcid.has_role_orcid
    "orcid-author": "any_of(author_orcid)",
    **{
        f"orcid-{role}": f"any_of(list_transform(coalesce(w.{role}, []), lambda p: nb(p.ORCID)))"
        for role in ("editor", "chair", "translator")
    },
    "ror-institution": "any_of(list_transform(coalesce(w.institution, []), "
    "lambda inst: has_id_kind(inst.id, 'ror')))",
    # metrics.funding.funder_grant_dois: an award (number) that is a DOI, or an award-info DOI
    "grant-ids": "any_of(list_transform(funders, lambda f: any_doi(f.award) OR "
    "any_of(list_transform(coalesce(f['award-info'], []), "
    "lambda ai: any_doi(ai['award-number']) OR nb(ai.DOI)))))",
    # metrics.relations
    "relations": "len(rels) > 0",
    "relation-supplement": "list_contains(rels, 'is-supplemented-by')",
    "relation-preprint": "list_has_any(rels, ['has-preprint', 'is-preprint-of'])",
    "relation-review": "list_has_any(rels, ['has-review', 'is-review-of'])",
    # metrics.updates
    "updates": "nonempty(w['updated-by'])",
    "update-notices": "nonempty(w['update-to'])",
    "clinical-trial-numbers": "len(w['clinical-trial-number']) > 0",
}

#: depth metric key -> (numerator, denominator) SQL per work
SHARE_SQL: dict[str, tuple[str, str]] = {
    "orcid-author-share": (
        "len(list_filter(author_orcid, lambda x: x))",
        # person authors: metrics.orcid.is_organisation leaves out a bare `name`
        "len(list_filter(authors, lambda p: p IS NOT NULL AND NOT (nb(p.name) "
        "AND NOT nb(p.given) AND NOT nb(p.family) AND NOT nb(p.ORCID))))",
    ),
    # metrics.references: Σ references with a DOI / Σ references; publisher DOIs / DOIs
    "reference-dois": (
        "len(list_filter(refs, lambda r: nb(r.DOI)))",
        "len(list_filter(refs, lambda r: r IS NOT NULL))",
    ),
    "reference-dois-publisher-asserted": (
        "len(list_filter(refs, "
        "lambda r: nb(r.DOI) AND low_tok(r['doi-asserted-by']) = 'publisher'))",
        "len(list_filter(refs, lambda r: nb(r.DOI)))",
    ),
    # metrics.updates.retraction_publisher_share: (publisher registered it, 1) per retracted work
    "retraction-publisher-asserted": (
        "CASE WHEN len(retractions) > 0 AND any_of(list_transform(retractions, "
        "lambda e: coalesce(nullif(low_tok(e.source), ''), 'publisher') = 'publisher')) "
        "THEN 1 ELSE 0 END",
        "CASE WHEN len(retractions) > 0 THEN 1 ELSE 0 END",
    ),
}

#: publication year as metrics.base.issued_year: `issued`, else `published`
YEAR_SQL = "coalesce(year_of(w.issued), year_of(w.published))"

#: the member id of `w` (NULL when absent or not an integer)
MEMBER_SQL = "TRY_CAST(trim(w.member) AS BIGINT)"

#: the DOI of `w` as compared for duplicates: trimmed, lower-cased (DOIs are case-insensitive);
#: NULL when absent or blank
DOI_SQL = "nullif(lower(trim(w.DOI)), '')"


def _stamp_sql(field: str) -> str:
    """Milliseconds since the epoch of a Crossref date stamp (`indexed`, `deposited`): its
    `timestamp`, else its `date-time` parsed; NULL when neither is usable."""
    return (
        f"coalesce(w.{field}.timestamp, epoch_ms(TRY_CAST(w.{field}['date-time'] AS TIMESTAMPTZ)))"
    )


#: when Crossref last indexed / the member last deposited the record (ms since the epoch)
INDEXED_SQL = _stamp_sql("indexed")
DEPOSITED_SQL = _stamp_sql("deposited")


def with_helpers(query: str) -> str:
    """``query`` (which yields ``w``) with the :data:`HELPER_SQL` columns added, level by level."""
    for level in HELPER_SQL:
        cols = ", ".join(f"{e} AS {n}" for n, e in level.items())
        query = f"SELECT *, {cols} FROM ({query})"
    return query


def column_name(key: str) -> str:
    """A safe SQL identifier for a metric key (``license-vor`` -> ``m_license_vor``)."""
    return "m_" + key.replace("-", "_")
