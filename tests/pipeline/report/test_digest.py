"""``threadwatch digest``: a period of a run's outputs, per thread, in Markdown and HTML."""

import datetime as dt
import html
import json
import re
from pathlib import Path
from typing import Any

import pytest

from pipeline.cli.main import main
from pipeline.report.digest import (
    PeriodError,
    build_digest,
    latest_event_time,
    parse_duration,
    resolve_period,
)
from pipeline.report.digest_render import to_html, to_markdown
from pipeline.report.load import load_output
from tests.support import CachedModelHandler, make_job, run_job

GOLDEN = json.loads((Path(__file__).parents[2] / "golden" / "seeds.json").read_text())
TREATY = "Russia–Iran strategic treaty"
SCRIPTS = {
    "latin": "Putin trifft Irans Präsidenten in Aşgabat",
    "cyrillic": "Путин встретится с президентом Ирана",
    "arabic": "بوتين يلتقي الرئيس الإيراني في عشق آباد",
    "han": "普京将在阿什哈巴德会见伊朗总统",
    "thai": "ปูตินพบประธานาธิบดีอิหร่านที่อาชกาบัต",
}


@pytest.fixture(scope="module")
def seeds_output(
    tmp_path_factory: pytest.TempPathFactory, model_handler: CachedModelHandler
) -> Path:
    folder = tmp_path_factory.mktemp("seeds-run")
    run_job(make_job(folder, Path(__file__).parents[3] / "seeds"), model_handler)
    return folder


def section(text: str, heading: str) -> str:
    """The Markdown under ``heading`` up to the next heading of its level or above."""
    start = text.index(heading) + len(heading)
    level = len(heading) - len(heading.lstrip("#"))
    after = re.search(rf"^#{{1,{level}}} ", text[start:], re.MULTILINE)
    return text[start : start + after.start()] if after else text[start:]


def digest_files(folder: Path, *flags: str) -> tuple[str, str]:
    assert main(["digest", "--output", str(folder), *flags]) == 0
    return (
        (folder / "digest.md").read_text(encoding="utf-8"),
        (folder / "digest.html").read_text(encoding="utf-8"),
    )


def test_the_seeds_digest_has_both_golden_alerts_under_the_treaty_thread(
    seeds_output: Path,
) -> None:
    markdown, page = digest_files(seeds_output, "--since", "1000d")
    treaty = section(markdown, f"### {TREATY}")
    for alert in GOLDEN["alerts"]:
        assert f"`{alert['alert_id']}`" in treaty
        assert f"score {alert['score']:.2f}, matched by {alert['matched_by']}" in treaty
    assert "2 new stories, 2 alerts" in treaty
    assert markdown.startswith(
        "# threadwatch digest: 2022-01-15 00:00 UTC – 2024-10-11 00:00 UTC\n"
    )  # 1000 days back from the latest article, not from the wall clock
    # The biggest story first: the 2024 meeting (3 articles), then 2022 (2).
    biggest = section(markdown, "## Biggest stories")
    assert biggest.index("3 articles in the period") < biggest.index("2 articles in the period")
    assert page.count('<span class="alert">ALERT</span>') == 2
    watched = page[page.index("<h2>Watched threads</h2>") :]
    assert f'<h3 dir="auto">{TREATY}</h3>' in watched
    assert all(f"<code>{a['alert_id']}</code>" in watched for a in GOLDEN["alerts"])


def test_the_default_24h_ends_at_the_latest_event(seeds_output: Path) -> None:
    markdown, _ = digest_files(seeds_output)
    assert "2024-10-10 00:00 UTC – 2024-10-11 00:00 UTC" in markdown
    first, second = (a["alert_id"] for a in GOLDEN["alerts"])
    assert second in markdown and first not in markdown
    assert "1 new story, 1 alert, 3 articles on 1 thread (0 emergent)" in markdown


def test_an_empty_period_says_so(seeds_output: Path, tmp_path: Path) -> None:
    target = tmp_path / "quiet"
    assert (
        main(["digest", "--output", str(seeds_output), "--now", "2030-01-01T00:00:00Z",
              "--to", str(target)])
        == 0
    )  # fmt: skip
    markdown = target.with_suffix(".md").read_text(encoding="utf-8")
    page = target.with_suffix(".html").read_text(encoding="utf-8")
    for text in (markdown, page):
        assert "No new stories in this period." in text
        assert "2029-12-31 00:00 UTC" in text and "2030-01-01 00:00 UTC" in text
        assert "ALERT" not in text
    assert f"No new stories on: {TREATY}." in markdown


# ------------------------------------------------------ outputs written here


def _article(article_id: str, title: str, published: str, url: str = "") -> dict[str, Any]:
    return {
        "id": article_id,
        "title": title,
        "url": url or f"https://news.example/{article_id}",
        "source": "Example News",
        "published": published,
    }


def write_outputs(folder: Path, stories: list[tuple[str, str, str, list[str]]]) -> Path:
    """(story id, thread id, title, publication times) → the six output files.

    Thread ``watched`` is a watched thread with an alert on each story;
    any other thread id is an emergent thread.
    """
    files: dict[str, list[dict[str, Any]]] = {
        n: [] for n in ("alerts", "stories", "assignments", "duplicates", "threads", "dead_letters")
    }
    for story_id, thread_id, title, times in stories:
        articles = [_article(f"{story_id}-{i}", title, t) for i, t in enumerate(times)]
        for i, article in enumerate(articles):
            files["assignments"].append(
                {"article": article, "story_id": story_id, "event_time": article["published"],
                 "action": "joined" if i else "opened", "thread_id": None}
            )  # fmt: skip
        files["stories"].append(
            {"story_id": story_id, "title": title, "thread_id": thread_id, "opened_at": times[0],
             "last_seen": times[-1], "size": len(times), "status": "open", "event_time": times[-1],
             "article_ids": [a["id"] for a in articles], "top_terms": []}
        )  # fmt: skip
        if thread_id == "watched":
            files["alerts"].append(
                {"alert_id": f"alert-{story_id}", "type": "new_story_on_thread",
                 "thread": {"id": "watched", "title": "Watched — 监视", "kind": "watched"},
                 "story": {"id": story_id, "opened_at": times[0]}, "article": articles[0],
                 "score": 0.75, "matched_by": "story", "evidence": {}, "event_time": times[0]}
            )  # fmt: skip
        elif not any(t["thread_id"] == thread_id for t in files["threads"]):
            files["threads"].append(
                {"thread_id": thread_id, "title": f"Emergent: {title}", "kind": "emergent",
                 "first_story_id": story_id, "event_time": times[0]}
            )  # fmt: skip
    folder.mkdir(parents=True, exist_ok=True)
    for name, records in files.items():
        (folder / f"{name}.jsonl").write_text(
            "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8"
        )
    return folder


def test_titles_in_every_script_render_intact_in_both_formats(tmp_path: Path) -> None:
    rows = [
        (f"s-{name}", "watched" if i % 2 == 0 else f"t-{name}", title, [f"2024-10-1{i}T08:00:00Z"])
        for i, (name, title) in enumerate(SCRIPTS.items())
    ]
    markdown, page = digest_files(write_outputs(tmp_path / "out", rows), "--since", "7d")
    for title in SCRIPTS.values():
        assert title in markdown
        assert f'<span dir="auto">{title}</span>' in page
    assert "Watched — 监视" in markdown and "Watched — 监视" in page
    emergent = section(markdown, "## Emergent threads")
    # Odd rows (Cyrillic, Han) each start an emergent thread; even ones are on the watched one.
    assert f"Emergent: {SCRIPTS['cyrillic']} (new thread)" in emergent
    assert f"Emergent: {SCRIPTS['han']} (new thread)" in emergent
    watched = section(markdown, "## Watched threads")
    assert all(
        SCRIPTS[n] in watched and SCRIPTS[n] not in emergent for n in ("latin", "arabic", "thai")
    )
    assert '<meta charset="utf-8">' in page


def test_a_title_with_markup_is_escaped(tmp_path: Path) -> None:
    evil = '<script>alert("x")</script> *bold* [link](javascript:alert(1)) & co'
    folder = write_outputs(tmp_path / "out", [("s-1", "watched", evil, ["2024-10-10T08:00:00Z"])])
    output = load_output(folder)
    digest = build_digest(output, resolve_period("24h", None, None, latest_event_time(output)))
    page = to_html(digest)
    assert "<script" not in page.lower()
    assert html.escape(evil, quote=True) in page
    assert all(h.startswith("https://") for h in re.findall(r'href="([^"]*)"', page))
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    markdown = to_markdown(digest)
    assert r"\<script\>" in markdown and r"\*bold\*" in markdown and r"\[link\]" in markdown


def test_only_web_links_become_links(tmp_path: Path) -> None:
    folder = write_outputs(tmp_path / "out", [("s-1", "watched", "A", ["2024-10-10T08:00:00Z"])])
    lines = (
        (folder / "assignments.jsonl")
        .read_text()
        .replace("https://news.example/s-1-0", "javascript:alert(1)")
    )
    (folder / "assignments.jsonl").write_text(lines)
    alerts = (
        (folder / "alerts.jsonl")
        .read_text()
        .replace("https://news.example/s-1-0", "javascript:alert(1)")
    )
    (folder / "alerts.jsonl").write_text(alerts)
    markdown, page = digest_files(folder)
    assert re.findall(r'href="([^"]*)"', page) == []
    assert "](javascript:" not in markdown


def test_the_biggest_stories_count_articles_in_the_period(tmp_path: Path) -> None:
    rows = [
        ("s-old", "watched", "Old", ["2024-09-01T00:00:00Z"] * 9 + ["2024-10-10T00:00:00Z"]),
        ("s-new", "t-a", "New", ["2024-10-10T01:00:00Z", "2024-10-10T02:00:00Z"]),
    ]  # fmt: skip
    folder = write_outputs(tmp_path / "out", rows)
    output = load_output(folder)
    digest = build_digest(output, resolve_period("24h", None, None, latest_event_time(output)))
    assert [(s.id, s.in_period, s.size) for s in digest.biggest] == [
        ("s-new", 2, 2),
        ("s-old", 1, 10),
    ]
    assert [t.id for t in digest.emergent] == ["t-a"] and digest.emergent[0].new
    assert digest.watched == ()  # s-old opened before the period: no new story
    assert digest.quiet == ("Watched — 监视",)


def test_the_same_outputs_give_the_same_digest(tmp_path: Path) -> None:
    rows = [(f"s-{n}", "watched", t, ["2024-10-10T08:00:00Z"]) for n, t in SCRIPTS.items()]
    folder = write_outputs(tmp_path / "out", rows)
    first = digest_files(folder, "--since", "2d")
    lines = (folder / "stories.jsonl").read_text().splitlines()
    (folder / "stories.jsonl").write_text("\n".join(reversed(lines)) + "\n")
    assert digest_files(folder, "--since", "2d") == first


# ------------------------------------------------------------------- periods

END = dt.datetime(2024, 10, 11, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("24h", 86400), ("7d", 604800), ("90m", 5400), ("2w", 1209600), ("1d12h", 129600)],
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == dt.timedelta(seconds=seconds)


def test_since_until_and_now() -> None:
    assert resolve_period("24h", None, None, END).start == END - dt.timedelta(hours=24)
    now = resolve_period("1h", None, "2024-10-12T00:00:00+02:00", END)
    assert (now.start.isoformat(), now.end.isoformat()) == (
        "2024-10-11T23:00:00+02:00",
        "2024-10-12T00:00:00+02:00",
    )
    until = resolve_period("2024-10-01", "2024-10-05", None, END)
    assert until.end == dt.datetime(2024, 10, 5, tzinfo=dt.UTC)
    assert resolve_period("1d", "12h", None, END).end == END - dt.timedelta(hours=12)


@pytest.mark.parametrize(
    ("since", "until", "message"),
    [
        ("yesterday", None, "--since 'yesterday': not a time"),
        ("0h", None, "the duration must be positive"),
        ("2025-01-01", None, "the period must start before it ends (2024-10-11T00:00:00Z)"),
        ("24h", "soon", "--until 'soon': not a time"),
    ],
)
def test_bad_periods_are_refused(since: str, until: str | None, message: str) -> None:
    with pytest.raises(PeriodError, match=re.escape(message)):
        resolve_period(since, until, None, END)


def test_a_bad_since_exits_2(seeds_output: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["digest", "--output", str(seeds_output), "--since", "last week"]) == 2
    assert "threadwatch: error: --since 'last week': not a time" in capsys.readouterr().err


def test_a_folder_without_outputs_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["digest", "--output", str(tmp_path)]) == 2
    assert "no threadwatch outputs in" in capsys.readouterr().err


def test_markdown_to_stdout(seeds_output: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["digest", "--output", str(seeds_output), "--format", "md", "--to", "-"]) == 0
    assert capsys.readouterr().out.startswith("# threadwatch digest: 2024-10-10 00:00 UTC")
