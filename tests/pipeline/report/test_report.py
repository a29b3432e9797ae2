"""The report's loading, aggregation and page (no browser: see test_report_browser.py)."""

import base64
import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest

from benchmarks.report_size import synthetic_output
from pipeline.cli import main
from pipeline.report import write_report
from pipeline.report.load import ReportError, load_output
from pipeline.report.model import build_model
from pipeline.report.render import embed_json, render_html
from tests.support import REPO
from transforms.sinks.files import OUTPUT_FILES


def _article(n: str, published: str = "2024-01-01T00:00:00Z", title: str = "") -> dict[str, Any]:
    return {
        "id": n,
        "published": published,
        "published_source": "manifest",
        "source": "S",
        "text_from": None,
        "title": title or f"title {n}",
        "url": f"https://news.example/{n}",
    }


def _write(folder: Path, **outputs: list[dict[str, Any]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, filename in OUTPUT_FILES.items():
        lines = "".join(json.dumps(r) + "\n" for r in outputs.get(name, []))
        (folder / filename).write_text(lines, encoding="utf-8")
    return folder


def _assignment(n: str, story: str, thread: str | None = None, **kw: Any) -> dict[str, Any]:
    return {"article": _article(n, **kw), "story_id": story, "thread_id": thread}


def test_counts_are_the_files_own_and_add_up(tmp_path: Path) -> None:
    records = synthetic_output(tmp_path, 2_000, seed=3)
    model = build_model(load_output(tmp_path))
    counts = model["counts"]
    assert counts["clustered"] == len(records["assignments"]) == 2_000
    assert counts["duplicates"] == len(records["duplicates"]) > 0
    assert counts["dead_letters"] == len(records["dead_letters"]) > 0
    assert counts["read"] == counts["clustered"] + counts["duplicates"] + counts["dead_letters"]
    assert counts["alerts"] == len(model["alerts"]) == len(records["alerts"]) > 0
    assert counts["stories"] == len(records["stories"])
    assert counts["repeated"] == 0
    # Every article is in exactly one story, every duplicate folded into one.
    assert sum(s["size"] for s in model["stories"]) == counts["clustered"]
    assert sum(len(s["dups"]) for s in model["stories"]) == counts["duplicates"]
    by_reason = {(g["stage"], g["reason"]): g["count"] for g in model["dead_letters"]}
    assert sum(by_reason.values()) == counts["dead_letters"]
    assert len(by_reason) == 4


def test_streaming_pane_folders_give_the_same_report_as_batch_files(tmp_path: Path) -> None:
    synthetic_output(tmp_path / "batch", 1_500, seed=1)
    synthetic_output(tmp_path / "stream", 1_500, seed=1, streaming=True, pane=70)
    batch, stream = load_output(tmp_path / "batch"), load_output(tmp_path / "stream")
    assert (batch.layout, stream.layout) == ("batch", "streaming")
    assert len(list((tmp_path / "stream" / "assignments").iterdir())) > 1
    one, two = build_model(batch), build_model(stream)
    for model in (one, two):
        del model["folder"], model["layout"]
    assert one == two


def test_threads_watched_first_titled_from_the_watchlist_and_unthreaded_last(
    tmp_path: Path,
) -> None:
    _write(
        tmp_path,
        assignments=[
            _assignment("a", "s-1", "w"),
            _assignment("b", "s-2", "t-e"),
            _assignment("c", "s-2", "t-e"),
            _assignment("d", "s-3"),
        ],
        threads=[{"thread_id": "t-e", "title": "Emergent", "kind": "emergent"}],
    )
    model = build_model(load_output(tmp_path), {"w": "Watched one", "quiet": "No stories yet"})
    listed = [(t["id"], t["title"], t["kind"], len(t["stories"])) for t in model["threads"]]
    # Within a kind, the threads with the most articles first.
    assert listed == [
        ("w", "Watched one", "watched", 1),
        ("quiet", "No stories yet", "watched", 0),
        ("t-e", "Emergent", "emergent", 1),
        ("", "Stories on no thread", "unthreaded", 1),
    ]
    assert model["counts"]["threads"] == 3  # the unthreaded group is not a thread


def test_duplicates_fold_into_the_story_of_the_article_they_copy(tmp_path: Path) -> None:
    def dup(n: str, of: str) -> dict[str, Any]:
        return {"article": _article(n), "duplicate_of": of, "kind": "near", "similarity": 0.9}

    _write(
        tmp_path,
        assignments=[_assignment("a", "s-1"), _assignment("b", "s-2")],
        # c copies b; d copies c (a copy of a copy): both belong to b's story.
        duplicates=[dup("c", "b"), dup("d", "c"), dup("e", "gone")],
    )
    model = build_model(load_output(tmp_path))
    dups = {s["id"]: [row[0] for row in s["dups"]] for s in model["stories"]}
    assert dups == {"s-1": [], "s-2": ["c", "d"]}
    assert [row[0] for row in model["unplaced_duplicates"]] == ["e"]
    assert model["counts"]["read"] == 5


def test_an_item_in_two_outputs_is_counted_as_repeated(tmp_path: Path) -> None:
    _write(
        tmp_path,
        assignments=[_assignment("a", "s-1")],
        dead_letters=[{"item": "a", "stage": "extract", "reason": "empty_text"}],
    )
    assert build_model(load_output(tmp_path))["counts"]["repeated"] == 1


def test_a_story_written_twice_is_shown_in_its_latest_state(tmp_path: Path) -> None:
    def story(size: int, when: str, status: str) -> dict[str, Any]:
        return {"story_id": "s-1", "title": "T", "size": size, "event_time": when,
                "status": status, "top_terms": [status]}  # fmt: skip

    _write(
        tmp_path,
        assignments=[_assignment("a", "s-1"), _assignment("b", "s-1")],
        stories=[
            story(2, "2024-01-03T00:00:00Z", "closed"),
            story(1, "2024-01-02T00:00:00Z", "open"),
        ],
    )
    (only,) = build_model(load_output(tmp_path))["stories"]
    assert (only["status"], only["terms"], only["size"]) == ("closed", ["closed"], 2)


def test_a_malformed_line_is_an_error_naming_file_and_line(tmp_path: Path) -> None:
    _write(tmp_path, assignments=[_assignment("a", "s-1")])
    with (tmp_path / "alerts.jsonl").open("a") as handle:
        handle.write("\n[1, 2]\n")
    with pytest.raises(ReportError, match=r"alerts\.jsonl:2: expected a JSON object"):
        load_output(tmp_path)
    (tmp_path / "alerts.jsonl").write_text('{"alert_id": \n')
    with pytest.raises(ReportError, match=r"alerts\.jsonl:1: not JSON"):
        load_output(tmp_path)


def test_a_folder_without_outputs_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="no threadwatch outputs"):
        load_output(tmp_path)
    with pytest.raises(ReportError, match="not a folder"):
        load_output(tmp_path / "missing")


def test_embedded_json_cannot_close_its_script_block() -> None:
    text = embed_json({"t": "</script><script>alert(1)</script> <!-- \u2028"})
    assert "<" not in text and "\u2028" not in text
    assert json.loads(text) == {"t": "</script><script>alert(1)</script> <!-- \u2028"}


def test_page_is_self_contained_and_its_policy_allows_only_its_own_blocks(tmp_path: Path) -> None:
    hostile = "</script><img src=x onerror=alert(1)>"
    _write(tmp_path, assignments=[_assignment("a", "s-1", title=hostile)])
    page = render_html(build_model(load_output(tmp_path)))
    assert hostile not in page
    assert not re.search(r"(src|href)=\"?(https?:)?//", page)  # nothing to fetch
    policy = re.search(r'Content-Security-Policy" content="([^"]+)"', page)
    assert policy is not None
    blocks = {
        kind: re.findall(rf"<{kind}>(.*?)</{kind}>", page, re.S) for kind in ("script", "style")
    }
    assert len(blocks["script"]) == 1 and len(blocks["style"]) == 1
    for kind, (body,) in blocks.items():
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        assert f"{kind}-src &#x27;sha256-{digest}&#x27;" in policy.group(1)
    assert "default-src &#x27;none&#x27;" in policy.group(1)
    # The policy allows no inline handlers; the page (feedback.js included) has none.
    assert not re.search(r"<[a-z][^<>]*\son[a-z]+\s*=", page, re.I)
    assert '<a id="fb-download" download="feedback.jsonl">' in page


def test_the_same_outputs_give_the_same_page(tmp_path: Path) -> None:
    synthetic_output(tmp_path, 500, seed=2)
    first = write_report(str(tmp_path), str(tmp_path / "one.html")).read_bytes()
    second = write_report(str(tmp_path), str(tmp_path / "two.html")).read_bytes()
    assert first == second
    assert write_report(str(tmp_path)) == tmp_path / "report.html"


def test_report_command_writes_the_page_and_refuses_a_missing_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    synthetic_output(tmp_path / "out", 300)
    assert main(["report", str(tmp_path / "out"), "--output", str(tmp_path / "r.html")]) == 0
    assert (tmp_path / "r.html").read_text().startswith("<!doctype html>")
    assert f"report: {tmp_path / 'r.html'}" in capsys.readouterr().out
    assert main(["report", str(tmp_path / "nothing")]) == 2
    assert "not a folder" in capsys.readouterr().err


def test_report_command_titles_watched_threads_from_the_watchlist(tmp_path: Path) -> None:
    """A watched thread no alert names still shows its title, not its id."""
    _write(tmp_path / "out", assignments=[_assignment("a", "s-1", "russia-iran-strategic-treaty")])
    page = tmp_path / "r.html"
    threads = str(REPO / "config" / "threads.yaml")
    assert main(["report", str(tmp_path / "out"), "--output", str(page), "--threads", threads]) == 0
    assert "Russia–Iran strategic treaty" in page.read_text()
    assert main(["report", str(tmp_path / "out"), "--output", str(page)]) == 0
    assert "Russia–Iran strategic treaty" not in page.read_text()
