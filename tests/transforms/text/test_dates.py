"""Dates found in article text and metadata."""

import datetime as dt

import pytest

from transforms.text.dates import find_date, parse_dateline, parse_datetime

EDT = dt.timezone(dt.timedelta(hours=-4))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Oct 10, 2024, 3:36pm EDT", dt.datetime(2024, 10, 10, 15, 36, tzinfo=EDT)),
        ("October 10, 2024", dt.datetime(2024, 10, 10, tzinfo=dt.UTC)),
        ("10 October 2024", dt.datetime(2024, 10, 10, tzinfo=dt.UTC)),
        ("Sept. 3rd, 2023 at 9 a.m. GMT", dt.datetime(2023, 9, 3, 9, tzinfo=dt.UTC)),
        ("May 03 , 2013", dt.datetime(2013, 5, 3, tzinfo=dt.UTC)),
        ("2024-10-10T15:36:00-04:00", dt.datetime(2024, 10, 10, 15, 36, tzinfo=EDT)),
    ],
)
def test_written_dates_are_read_with_their_time_zone(text: str, expected: dt.datetime) -> None:
    found = find_date(f"Some page furniture\n{text}\nThe article starts here.")
    assert found is not None
    assert found[0] == expected
    assert found[0].utcoffset() == expected.utcoffset()


@pytest.mark.parametrize(
    ("zone", "hours"),
    [
        # As threadwatch's own table read them before dateparser's.
        ("EDT", -4),
        ("CST", -6),  # US Central, not China (+8) or Cuba (-5)
        ("BST", 1),  # British Summer Time, not Bangladesh (+6)
        ("CEST", 2),
        ("MSK", 3),
        ("JST", 9),
        ("AEDT", 11),
        # dateparser's table reads IST as Israel's (+2); ours always read it as
        # India's, and still does (transforms/text/dates.py: _READ_AS_BEFORE).
        ("IST", 5.5),
        # Known since dateparser's table is used (UTC before).
        ("WIB", 7),
        ("HKT", 8),
        ("SAST", 2),
    ],
)
def test_time_zone_abbreviations(zone: str, hours: float) -> None:
    found = find_date(f"Oct 10, 2024, 3:36pm {zone}")
    assert found is not None
    assert found[0].utcoffset() == dt.timedelta(hours=hours)


@pytest.mark.parametrize("word", ["I", "AP", "THE", "EDTX"])
def test_a_capitalised_word_after_the_time_that_is_no_zone_leaves_it_utc(word: str) -> None:
    found = find_date(f"On Oct 10, 2024 at 3:36 {word} saw it")
    assert found is not None and found[0] == dt.datetime(2024, 10, 10, 3, 36, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    "furniture",
    [
        "World news",  # Latin
        "Новости мира",  # Cyrillic
        "أخبار العالم",  # Arabic
        "国际新闻",  # Han
        "ข่าวต่างประเทศ",  # Thai
    ],
)
def test_the_dateline_is_found_among_text_in_any_script(furniture: str) -> None:
    found = find_date(f"{furniture}\nOct 10, 2024, 3:36pm EDT\n{furniture}")
    assert found is not None and found[0] == dt.datetime(2024, 10, 10, 15, 36, tzinfo=EDT)


def test_the_first_date_on_the_page_wins() -> None:
    text = "Published July 19, 2022\nThe treaty of May 5, 1998 was mentioned."
    found = find_date(text)
    assert found is not None and found[0].date() == dt.date(2022, 7, 19)


def test_ambiguous_numeric_dates_are_not_guessed() -> None:
    assert find_date("Networks sabotaged – DW – 07/29/2024") is None


def test_a_number_after_a_date_is_not_a_time() -> None:
    found = find_date("May 3, 2013 12 people were hurt")
    assert found is not None and found[0] == dt.datetime(2013, 5, 3, tzinfo=dt.UTC)


def test_dateline_must_be_the_whole_line() -> None:
    assert parse_dateline("Oct 10, 2024, 3:36pm EDT") is not None
    assert parse_dateline("Updated: Oct 10, 2024") is not None
    assert parse_dateline("Putin met Pezeshkian on Oct 10, 2024 in Ashgabat.") is None


def test_metadata_dates_without_zone_are_utc() -> None:
    assert parse_datetime("2024-10-11") == dt.datetime(2024, 10, 11, tzinfo=dt.UTC)
    assert parse_datetime("2024-10-10T15:36:00Z").tzinfo is not None
    with pytest.raises(ValueError, match="not a date"):
        parse_datetime("last Tuesday")
