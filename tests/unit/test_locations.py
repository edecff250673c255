"""Location free text → ISO3 country; GEM flag."""

from __future__ import annotations

import pytest

from cache.jobs.locations import gem_countries, is_gem, parse_country


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
