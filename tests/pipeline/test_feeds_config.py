"""The feed list (YAML or OPML) is validated at start-up; errors name the file and the entry."""

from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.config.feeds import load_feeds
from tests.support import REPO
from transforms.core.errors import ConfigError


def write(tmp_path: Path, text: str, name: str = "feeds.yaml") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_shipped_feed_list_loads_with_private_hosts_refused() -> None:
    feeds = load_feeds(str(REPO / "config" / "feeds.yaml"))
    assert len(feeds.feeds) == 4 and all(f.url.startswith("https://") for f in feeds.feeds)
    assert feeds.feeds[2].poll_seconds == 600 and feeds.feeds[0].poll_seconds == 900
    assert feeds.http.retries == 2 and not feeds.http.allow_private_hosts
    assert load_feeds(str(REPO / "config" / "feeds.yaml"), True).http.allow_private_hosts


def test_defaults_and_per_feed_overrides(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "http: {retries: 0, host_delay_seconds: 0.5}\n"
        "defaults: {poll_seconds: 300, fetch_articles: false}\n"
        "feeds:\n"
        "  - https://a.example/rss\n"
        "  - {url: https://b.example/atom, name: B, fetch_articles: true, language: fr}\n",
    )
    feeds = load_feeds(path)
    a, b = feeds.feeds
    assert (a.url, a.poll_seconds, a.fetch_articles, a.name) == (
        "https://a.example/rss",
        300,
        False,
        None,
    )
    assert (b.name, b.fetch_articles, b.language) == ("B", True, "fr")
    assert feeds.http.retries == 0 and feeds.http.host_delay_seconds == 0.5


ONE = "feeds:\n  - "
OK = "\nfeeds: [https://a.example/x]\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            ONE + "{url: https://a.example/rss, pol_seconds: 5}",
            r"feeds\[0\]\.pol_seconds: unknown key",
        ),
        (ONE + "{name: A}", r"feeds\[0\]\.url: missing"),
        (ONE + "{url: 'file:///etc/passwd'}", r"feeds\[0\]\.url: must be an http\(s\) URL"),
        (ONE + "https://a.example/x\n  - {url: ftp://b.example/}", r"feeds\[1\]\.url"),
        (
            ONE + "{url: https://a.example/x, poll_seconds: fast}",
            r"feeds\[0\]\.poll_seconds: must be a number",
        ),
        (
            ONE + "{url: https://a.example/x, poll_seconds: 0}",
            r"feeds\[0\]\.poll_seconds: must be at least 1",
        ),
        (
            ONE + "https://A.example/x?utm_source=a\n  - https://a.example/x",
            r"feeds\[1\]: the same feed as feeds\[0\]",
        ),
        ("http: {retries: -1}" + OK, r"http: retries must be between 0 and 20"),
        (
            "http: {allow_private_hosts: true}" + OK,
            r"http\.allow_private_hosts: not allowed in the file",
        ),
        ("defaults: {name: x}" + OK, r"defaults\.name: unknown key"),
        ("feeds: []\n", r"lists no feeds"),
        ("feed: [https://a.example/x]\n", r"feed: unknown key"),
    ],
)
def test_yaml_errors_name_the_file_and_the_entry(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=r"feeds\.yaml: " + message):
        load_feeds(write(tmp_path, text))


OPML = """<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0">
  <head><title>My subscriptions</title></head>
  <body>
    <outline text="World">
      <outline type="rss" text="BBC World" title="BBC News – World"
               xmlUrl="https://feeds.bbci.co.uk/news/world/rss.xml" htmlUrl="https://www.bbc.co.uk/news/world"/>
      <outline type="rss" text="Al Jazeera" xmlUrl="https://www.aljazeera.com/xml/rss/all.xml"/>
    </outline>
    <outline type="rss" text="NPR World" xmlUrl="https://feeds.npr.org/1004/rss.xml" language="en"/>
  </body>
</opml>
"""


def test_opml_from_a_feed_reader_is_a_feed_list(tmp_path: Path) -> None:
    feeds = load_feeds(write(tmp_path, OPML, "subscriptions.opml"))
    assert [(f.name, f.url) for f in feeds.feeds] == [
        ("BBC News – World", "https://feeds.bbci.co.uk/news/world/rss.xml"),
        ("Al Jazeera", "https://www.aljazeera.com/xml/rss/all.xml"),
        ("NPR World", "https://feeds.npr.org/1004/rss.xml"),
    ]
    assert feeds.feeds[2].language == "en" and feeds.feeds[0].poll_seconds == 900


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            OPML.replace("https://www.aljazeera.com/xml/rss/all.xml", "javascript:alert(1)"),
            r"body/outline\[0\]/outline\[1\]\.url: must be an http\(s\) URL",
        ),
        ("<opml><body><outline", r"invalid OPML \(XML\)"),
        ("<rss version='2.0'/>", r"not OPML"),
        ("<opml version='2.0'><head/></opml>", r"OPML without a <body>"),
        (
            "<!DOCTYPE opml [<!ENTITY a 'b'>]><opml><body/></opml>",
            r"DOCTYPE/ENTITY declarations are not accepted",
        ),
        ("<opml><body><outline text='folder'/></body></opml>", r"lists no feeds"),
    ],
)
def test_opml_errors_name_the_file_and_the_outline(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=r"feeds\.opml: " + message):
        load_feeds(write(tmp_path, text, "feeds.opml"))


def test_the_cli_refuses_a_bad_feed_list_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "feeds:\n  - {url: https://a.example/rss, every: 5}\n")
    assert main(["run", "--source", "", "--feeds", path, "--output", str(tmp_path)]) == 2
    assert "feeds.yaml: feeds[0].every: unknown key" in capsys.readouterr().err
