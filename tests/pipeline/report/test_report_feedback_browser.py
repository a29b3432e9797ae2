"""Verdicts on alerts in the report page, downloaded as ``config/feedback.jsonl`` lines.

In headless Chromium on the real seeds run (fixtures in conftest.py): the
buttons of each alert, the download link's content decoded from the DOM and
given to ``parse_feedback`` (the function every run reads the file with), and
the file a click on the link really saves, under the page's
Content-Security-Policy.
"""

import datetime as dt
import json
import re
import time
import urllib.parse
from pathlib import Path
from typing import Any

from pipeline.config.feedback import append_feedback, parse_feedback
from tests.browser import Page, assert_clean, open_file
from tests.support import REPO, read_jsonl

PREFIX = "data:application/x-ndjson;charset=utf-8,"
#: Latin, Cyrillic, Arabic, Han and Thai, and markup and JSON's own quoting.
NOTE = 'café; не договор; ليس المعاهدة; 不是条约; ไม่ใช่สนธิสัญญา <b>"x"</b> \\ </script>'


def _alerts(out: Path) -> list[dict[str, Any]]:
    """The seeds' two alerts, oldest first (the order the page lists them in)."""
    alerts = read_jsonl(out / "alerts.jsonl")
    return sorted(alerts, key=lambda a: (a["event_time"], a["alert_id"]))


def _verdict(page: Page, alert_id: str, verdict: str, where: str = "li.alert") -> None:
    page.click(f'{where} [data-fb-alert="{alert_id}"] button[data-verdict="{verdict}"]')


def _type_note(page: Page, alert_id: str, text: str, where: str = "li.alert") -> None:
    page.evaluate(
        f"""(() => {{
          const i = document.querySelector('{where} [data-fb-alert="{alert_id}"] .fb-note');
          i.value = {json.dumps(text)};
          i.dispatchEvent(new Event('input', {{bubbles: true}}));
        }})()"""
    )


def _link(page: Page) -> dict[str, Any]:
    link: dict[str, Any] = page.evaluate(
        "(() => { const a = document.getElementById('fb-download');"
        " return {text: a.textContent, href: a.getAttribute('href'), download: a.download,"
        " shown: !document.getElementById('feedback').hidden}; })()"
    )
    return link


def _downloaded(page: Page) -> str:
    """The text the download link holds, decoded from its data: URL."""
    href = _link(page)["href"]
    assert href.startswith(PREFIX)
    return urllib.parse.unquote(href[len(PREFIX) :], errors="strict")


def test_verdicts_download_as_lines_that_parse_feedback_reads(
    page: Page, seeds_run: Path, tmp_path: Path
) -> None:
    html = seeds_run / "report.html"
    open_file(page, html)
    older, newer = _alerts(seeds_run)
    assert _link(page) == {
        "text": "Download feedback (0)",
        "href": None,
        "download": "feedback.jsonl",
        "shown": True,
    }
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    _type_note(page, older["alert_id"], NOTE)  # a note typed first, then the verdict
    _verdict(page, older["alert_id"], "not-relevant")
    _verdict(page, newer["alert_id"], "relevant")
    _type_note(page, newer["alert_id"], "Latin only")  # a note typed after the verdict
    text = _downloaded(page)
    assert _link(page)["text"] == "Download feedback (2)"

    marks = parse_feedback(text, "feedback.jsonl")
    assert [(m.verdict, m.thread_id, m.story_id, m.alert_id, m.note) for m in marks] == [
        ("not-relevant", older["thread"]["id"], older["story"]["id"], older["alert_id"], NOTE),
        ("relevant", newer["thread"]["id"], newer["story"]["id"], newer["alert_id"], "Latin only"),
    ]
    for mark in marks:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", mark.at), mark.at
        at = dt.datetime.fromisoformat(mark.at)
        assert before <= at <= dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    # Byte for byte what `threadwatch feedback` appends for the same verdicts.
    for mark in marks:
        append_feedback(str(tmp_path / "feedback.jsonl"), mark)
    assert (tmp_path / "feedback.jsonl").read_text(encoding="utf-8") == text
    page.screenshot(REPO / "out" / "report-seeds-feedback.png")
    # The note is text in the page, never markup.
    assert page.evaluate("document.querySelectorAll('.fb b, #feedback b').length") == 0
    assert_clean(page, html)


def test_clicking_again_replaces_the_verdict_and_every_copy_of_the_buttons_agrees(
    page: Page, seeds_run: Path
) -> None:
    html = seeds_run / "report.html"
    open_file(page, html)
    older, newer = _alerts(seeds_run)
    _verdict(page, older["alert_id"], "not-relevant")
    _verdict(page, newer["alert_id"], "relevant")
    _verdict(page, older["alert_id"], "relevant")  # changed: one line, now the last
    _verdict(page, newer["alert_id"], "relevant")  # the same again: still one line
    lines = [json.loads(line) for line in _downloaded(page).splitlines()]
    assert [(line["alert_id"], line["verdict"]) for line in lines] == [
        (older["alert_id"], "relevant"),
        (newer["alert_id"], "relevant"),
    ]
    assert _link(page)["text"] == "Download feedback (2)"

    # The older alert's story open: its evidence shows the same verdict and
    # note, and a verdict given there is the one the list shows.
    page.click(f'li.alert[data-alert-id="{older["alert_id"]}"] button[data-story]')
    _type_note(page, older["alert_id"], NOTE, where=".evidence")
    _verdict(page, older["alert_id"], "not-relevant", where=".evidence")
    pressed = page.evaluate(
        f"""[...document.querySelectorAll('[data-fb-alert="{older["alert_id"]}"]')].map(g =>
          [g.closest('li.alert, .evidence').className,
           g.querySelector('[aria-pressed="true"]').dataset.verdict,
           g.querySelector('.fb-note').value])"""
    )
    assert pressed == [["alert", "not-relevant", NOTE], ["evidence", "not-relevant", NOTE]]
    (last,) = [m for m in parse_feedback(_downloaded(page), "f") if m.alert_id == older["alert_id"]]
    assert (last.verdict, last.note) == ("not-relevant", NOTE)

    # No verdict at all: the clear button drops the line.
    page.click(f'li.alert [data-fb-alert="{newer["alert_id"]}"] button.fb-clear')
    assert [m.alert_id for m in parse_feedback(_downloaded(page), "f")] == [older["alert_id"]]
    page.click(f'li.alert [data-fb-alert="{older["alert_id"]}"] button.fb-clear')
    assert _link(page)["href"] is None and _link(page)["text"] == "Download feedback (0)"
    assert_clean(page, html)


def test_the_link_saves_feedback_jsonl_under_the_pages_policy(
    page: Page, seeds_run: Path, tmp_path: Path
) -> None:
    html = seeds_run / "report.html"
    open_file(page, html)
    newer = _alerts(seeds_run)[-1]
    _type_note(page, newer["alert_id"], NOTE)
    _verdict(page, newer["alert_id"], "not-relevant")
    page.send("Browser.setDownloadBehavior", behavior="allow", downloadPath=str(tmp_path))
    try:
        page.click("#fb-download")
        saved = tmp_path / "feedback.jsonl"
        deadline = time.monotonic() + 30
        while not saved.is_file() and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        page.send("Browser.setDownloadBehavior", behavior="default")
    assert saved.read_text(encoding="utf-8") == _downloaded(page)
    (mark,) = parse_feedback(saved.read_text(encoding="utf-8"), str(saved))
    assert (mark.alert_id, mark.story_id, mark.note) == (
        newer["alert_id"],
        newer["story"]["id"],
        NOTE,
    )
    assert page.errors() == [], "the policy blocked nothing"


def test_the_buttons_fit_a_phone_width(page: Page, seeds_run: Path) -> None:
    html = seeds_run / "report.html"
    width = 390
    open_file(page, html, width=width, height=844, mobile=True)
    sizes = page.evaluate(
        "[document.documentElement.scrollWidth,"
        " Math.max(...[...document.querySelectorAll('.fb')]"
        ".map(g => g.getBoundingClientRect().right))]"
    )
    assert sizes[0] <= width and sizes[1] <= width
    assert_clean(page, html)
