"""Boilerplate removal on the seed articles: what goes, and that the body stays."""

from pathlib import Path

import pytest

from tests.support import REPO
from transforms.text.cleaning import clean_plain_text, markdown_to_text, split_front_matter

SEEDS = REPO / "seeds"


def clean(name: str):  # type: ignore[no-untyped-def]
    return clean_plain_text((SEEDS / name).read_text())


def paragraphs(name: str) -> list[str]:
    """Lines of the original file that are body paragraphs (long sentences)."""
    lines = (SEEDS / name).read_text().splitlines()
    return [line.strip() for line in lines if len(line.split()) >= 15 and line.strip()[-1] in '.”"']


def test_semafor_page_furniture_is_removed() -> None:
    result = clean("000_46b6a571614f8e47.txt")
    assert result.removed_by("navigation") == [
        "• D.C.",
        "• BXL",
        "• Lagos",
        "• Riyadh",
        "• Beijing",
        "• SG",
        "• D.C.",
        "• BXL",
        "• Lagos",
        "• Riyadh",
        "• Beijing",
        "• SG",
    ]
    assert result.removed_by("logo_or_icon") == ["Semafor Logo"]
    assert result.removed_by("interface_text").count("AD") == 2
    assert result.removed_by("share_buttons") == ["PostEmailWhatsapp"]
    assert result.removed_by("photo_credit") == ["Kristina Kormilitsyna/Sputnik/Pool via Reuters"]
    assert result.removed_by("photo_caption") == ["Russian President Vladimir Putin"]
    assert "The Guardian, AFP, Foreign Affairs, Bloomberg" in result.removed_by("source_list")
    assert result.title == (
        "Putin to meet Iran’s president as Russia flexes diplomacy despite Western sanctions"
    )
    assert result.dateline == "Oct 10, 2024, 3:36pm EDT"
    for furniture in ("BXL", "Logo", "icon", "PostEmail", "Sputnik/Pool", "\nAD"):
        assert furniture not in result.body


def test_login_link_is_removed_and_headings_do_not_become_a_title() -> None:
    result = clean("001_69c47836355e4913.txt")
    assert result.removed_by("interface_text") == ["Login"]
    assert result.title is None  # the file starts with a paragraph, not a headline
    assert result.body.endswith("global power dynamics for years to come.")


def test_author_bio_and_more_stories_list_are_removed() -> None:
    result = clean("002_dc85ee8fd00bc9d9.txt")
    assert result.removed_by("author_bio") == [
        "“Beer buff. Devoted pop culture scholar. Coffee ninja. Evil zombie fan. Organizer.”"
    ]
    assert result.removed_by("link_list") == [
        "More Stories",
        "Two children killed, 11 injured in stabbing attack at Taylor Swift dance party in UK, "
        "17-year-old arrested",
        "Fiber optic communications networks are being sabotaged – DW – 07/29/2024",
        "Putin warns US against deploying long-range missiles in Germany | NATO",
    ]
    assert "Taylor Swift" not in result.body
    assert result.body.endswith("weakening the global influence of the United States.")


def test_summary_bullets_are_article_text() -> None:
    result = clean("003_a65937787e1f3de3.txt")
    assert "- Putin invites Pezeshkian to Russia for official visit" in result.body
    assert result.removed_by("short_fragment") == ["Summary", "New World Order"]


def test_leave_a_comment_is_removed_and_headline_is_the_title() -> None:
    result = clean("004_bed5f04292cb6d2e.txt")
    assert result.removed_by("interface_text") == ["Leave a Comment"]
    assert (
        result.title
        == "Putin has arrived in Tehran, as Russia and Iran grow closer in their isolation"
    )
    assert not result.body.startswith("Putin has arrived")


@pytest.mark.parametrize("name", sorted(p.name for p in SEEDS.glob("*.txt")))
def test_every_body_paragraph_is_kept(name: str) -> None:
    result = clean(name)
    kept = paragraphs(name)
    assert kept, "each seed has body paragraphs"
    for paragraph in kept:
        if paragraph.startswith("“") and paragraph.count(".") >= 3 and len(paragraph) < 100:
            continue  # the author bio
        assert paragraph in result.body


@pytest.mark.parametrize("name", sorted(p.name for p in SEEDS.glob("*.txt")))
def test_only_short_lines_are_ever_removed(name: str) -> None:
    """No removal rule may take a paragraph: removed lines are labels, not prose."""
    for removal in clean(name).removed:
        assert len(removal.text.split()) <= 20, removal


def test_markdown_front_matter_and_syntax() -> None:
    text = (
        "---\ntitle: A title\ndate: 2024-01-02\n---\n# Heading\n\nSome **bold** [link](http://x)."
    )
    body, front = split_front_matter(text)
    assert front == "title: A title\ndate: 2024-01-02"
    plain, heading = markdown_to_text(body)
    assert heading == "Heading"
    assert "Some bold link." in plain


def test_cleaning_is_a_pure_function_of_the_text(tmp_path: Path) -> None:
    text = (SEEDS / "000_46b6a571614f8e47.txt").read_text()
    assert clean_plain_text(text) == clean_plain_text(text.replace("\n", "\r\n"))
