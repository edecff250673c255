"""Location free text → ISO3 country; GEM flag."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cache.jobs.locations import gem_countries, is_gem, parse_country

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.mark.parametrize(
    ("location", "iso3"),
    [
        ("Leawood, KS, United States", "USA"),
        ("Chicago, IL, United States", "USA"),
        ("Washington, DC, United States", "USA"),
        ("USA", "USA"),
        ("New York, NY, USA", "USA"),
        ("Chicago, IL", "USA"),  # a state code after a city: IL is Illinois, not Israel
        ("Lawrence, KS", "USA"),
        ("Austin, Texas", "USA"),
        ("Atlanta, Georgia, USA", "USA"),
        ("United States", "USA"),
        ("United States of America", "USA"),
        ("London, United Kingdom", "GBR"),
        ("UK", "GBR"),
        ("Oxford, UK", "GBR"),
        ("Edinburgh, Scotland", "GBR"),
        ("South Korea", "KOR"),
        ("Asan-si, Chungcheongnam-do, South Korea", "KOR"),
        ("Seoul, Korea, Republic of", "KOR"),
        ("Korea, Republic of", "KOR"),
        ("Russia", "RUS"),
        ("Makhachkala, Dagestan, Russia", "RUS"),
        ("Moscow, Russian Federation", "RUS"),
        ("Türkiye", "TUR"),
        ("Ankara, Turkey", "TUR"),
        ("Istanbul, TURKIYE", "TUR"),
        ("Viet Nam", "VNM"),
        ("Hanoi, Vietnam", "VNM"),
        ("Iran", "IRN"),
        ("Tehran, Iran, Islamic Republic of", "IRN"),
        ("Tbilisi, Georgia", "GEO"),  # the country, not the state
        ("Toronto, ON, Canada", "CAN"),
        ("Tokyo, Japan", "JPN"),
        ("Japan", "JPN"),
        ("Beijing, China", "CHN"),
        ("New Delhi, India", "IND"),
        ("Podgorica, Montenegro", "MNE"),
        ("São Paulo, Brasil", "BRA"),
        ("Abidjan, Côte d’Ivoire", "CIV"),
        ("Abidjan, Cote d'Ivoire", "CIV"),
        ("Kinshasa, Congo, Democratic Republic of the", "COD"),
        ("Dhaka, Bangladesh", "BGD"),
        ("Amsterdam, The Netherlands", "NLD"),
        ("Taipei, Taiwan", "TWN"),
        ("Prague, Czech Republic", "CZE"),
        ("Kyiv, Ukraine, 01001", "UKR"),
        # postal addresses with no comma before the country (older Crossref members)
        (
            "Building C, Level 3, Faculty of Dentistry Universitas indonesia Jalan Salemba Raya "
            "No. 4 Jalan Salemba Raya No.4 Jakarta 10430 Indonesia",
            "IDN",
        ),
        ("9650 Rockville Pike Attn: [contact name removed] Bethesda MD 20814 United States", "USA"),
        ("Kuala Lumpur 50603 Malaysia", "MYS"),
        ("Sydney NSW 2006 Australia", "AUS"),
        ("Dhaka-1000, Bangladesh", "BGD"),
        ("Hanoi Viet Nam", "VNM"),
        ("Kazan Russian Federation", "RUS"),
        ("Cairo, Egypt.", "EGY"),
        ("New York NY 10001 USA", "USA"),
        ("Oxford UK", "GBR"),
        # US state + ZIP with no country: the United States; Georgia + ZIP is the state
        ("Bethesda MD 20814", "USA"),
        ("Cambridge MA 02139-4307", "USA"),
        ("Atlanta, Georgia 30303", "USA"),
        ("Washington DC 20036", "USA"),
        ("Newark New Jersey", "USA"),
        ("Albuquerque, New Mexico", "USA"),
        # native names and other languages (CLDR)
        ("München, Deutschland", "DEU"),
        ("Madrid, España", "ESP"),
        ("Madrid, Espana", "ESP"),
        ("São Paulo SP 01310-100 Brasil", "BRA"),  # a CEP, not a ZIP; SP is not a state here
        ("Ankara Türkiye", "TUR"),
        ("Zürich, Schweiz", "CHE"),
        ("Genève, Suisse", "CHE"),
        ("Wien, Österreich", "AUT"),
        ("Amsterdam, Nederland", "NLD"),
        ("Warszawa, Polska", "POL"),
        ("Lima, Perú", "PER"),
        ("Ciudad de México, México", "MEX"),
        ("Estados Unidos", "USA"),
        ("Paris, France", "FRA"),
        ("Roma, Italia", "ITA"),
        ("Budapest, Magyarország", "HUN"),
        ("Stockholm, Sverige", "SWE"),
        # aliases, codes, multi-part names
        ("P.R. China", "CHN"),
        ("Beijing 100871, P. R. China", "CHN"),
        ("Hong Kong SAR, China", "HKG"),
        ("Taipei, Taiwan (R.O.C.)", "TWN"),
        ("Korea (South)", "KOR"),
        ("U.S.A.", "USA"),
        ("Bosnia & Herzegovina", "BIH"),
        ("Trinidad & Tobago", "TTO"),
        ("Guinea-Bissau", "GNB"),
        ("Republic of Moldova", "MDA"),
        ("Russia, Moscow", "RUS"),  # the country first
        ("Cambridge, England", "GBR"),
        ("Lagos State, Nigeria", "NGA"),
        ("Bogotá D.C., Colombia", "COL"),
        ("Kinshasa, Congo, The Democratic Republic of the", "COD"),
        ("Brazzaville, Congo", "COG"),
        ("DE", "DEU"),
        ("DEU", "DEU"),
        ("Lisbon, PT", "PRT"),
        ("Toronto, ON", "CAN"),
        ("Sydney, NSW", "AUS"),
        ("Adelaide, SA", ""),  # South Australia or Saudi Arabia: ambiguous
        ("Saskatoon, SK", ""),  # Saskatchewan or Slovakia: ambiguous
        ("Mexico City", ""),
        ("  Berlin ,  Germany  ", "DEU"),
        ("Chisinau", ""),
        ("Somewhere", ""),
        ("", ""),
        (",,", ""),
        (None, ""),
    ],
)
def test_parse_country(location: str | None, iso3: str) -> None:
    code, name = parse_country(location)
    assert code == iso3
    assert (name == "") == (iso3 == "")


def test_country_names_are_pycountry_names() -> None:
    assert parse_country("Leawood, KS, United States") == ("USA", "United States")
    assert parse_country("South Korea") == ("KOR", "Korea, Republic of")
    assert parse_country("Russia") == ("RUS", "Russian Federation")
    assert parse_country("Turkey") == ("TUR", "Türkiye")
    assert parse_country("Iran") == ("IRN", "Iran, Islamic Republic of")
    assert parse_country("Viet Nam") == ("VNM", "Viet Nam")


def test_real_member_records() -> None:
    """Real /members records: case 17 (2018/2019 postal addresses) and tests/fixtures members."""
    case = json.loads(
        (
            FIXTURES / "cases/17-member-postal-address-location-and-2018-coverage-keys.json"
        ).read_text(encoding="utf-8")
    )
    found = {int(m["id"]): parse_country(m["location"])[0] for m in case}
    assert found == {5740: "IDN", 183: "USA"}

    locations: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("location"), str):
                locations.append(node["location"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for path in sorted((FIXTURES / "crossref/members").glob("*.json")):
        walk(json.loads(path.read_text(encoding="utf-8")))
    assert len(locations) >= 20
    missing = sorted({loc for loc in locations if not parse_country(loc)[0]})
    assert missing == ["Chisinau"]  # a city alone names no country


def test_memoized() -> None:
    parse_country.cache_clear()
    for _ in range(1000):
        parse_country("Leawood, KS, United States")
    info = parse_country.cache_info()
    assert info.misses == 1 and info.hits == 999


def test_gem() -> None:
    gems = gem_countries()
    assert len(gems) >= 50
    assert all(len(code) == 3 and code.isupper() for code in gems)
    assert is_gem("BGD") and is_gem("bgd") and is_gem("NPL")
    assert not is_gem("USA") and not is_gem("") and not is_gem(None)
    assert is_gem(parse_country("Dhaka, Bangladesh")[0])
