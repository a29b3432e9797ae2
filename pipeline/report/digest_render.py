"""A ``Digest`` as Markdown and as one self-contained HTML page, ready for email.

Both come from the same data in the same order. The HTML has its style
inline (no external sheet, no script, no image), a Content-Security-Policy
that loads nothing, and every text from the outputs escaped: titles are
written by strangers. Only http(s) links become links; a ``file:`` URL (a
folder run) is shown as text. Markdown escapes the characters that would
make a title markup (``*``, ``_``, ``[``, ``<``…).
"""

import datetime as dt
import html
import re
from collections.abc import Iterable

from pipeline.report.digest import Digest, DigestAlert, DigestStory, DigestThread

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>|~#])")
CSS = """
body { font-family: -apple-system, "Segoe UI", Roboto, "Noto Sans", Arial, sans-serif;
       color: #1f2328; max-width: 760px; margin: 0 auto; padding: 16px; line-height: 1.45; }
h1 { font-size: 20px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 24px 0 8px;
     border-bottom: 1px solid #d0d7de; padding-bottom: 4px; }
h3 { font-size: 15px; margin: 16px 0 6px; } .meta { color: #59636e; font-size: 13px; }
ul { padding-left: 20px; } li { margin: 6px 0; }
.alert { color: #b42318; font-weight: 600; } .empty { color: #59636e; font-style: italic; }
a { color: #0969da; }
""".strip()


def when(text: str) -> str:
    """``2024-10-10T19:36:00Z`` → ``2024-10-10 19:36 UTC``."""
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text
    if value.tzinfo:
        value = value.astimezone(dt.UTC)
    return value.strftime("%Y-%m-%d %H:%M UTC")


def title_line(digest: Digest) -> str:
    return (
        f"threadwatch digest: {when(_iso(digest.period.start))} – {when(_iso(digest.period.end))}"
    )


def summary_line(digest: Digest) -> str:
    if digest.empty:
        return "No new stories in this period."
    threads = len(digest.watched) + len(digest.emergent)
    return (
        f"{digest.new_stories} new {_plural(digest.new_stories, 'story', 'stories')}, "
        f"{digest.alerts} {_plural(digest.alerts, 'alert', 'alerts')}, "
        f"{digest.articles} {_plural(digest.articles, 'article', 'articles')} on "
        f"{threads} {_plural(threads, 'thread', 'threads')} "
        f"({len(digest.emergent)} emergent)"
    )


def _iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _plural(n: int, one: str, many: str) -> str:
    return one if n == 1 else many


def _web(url: str) -> bool:
    return url.startswith(("http://", "https://"))


def _alert_facts(alert: DigestAlert) -> str:
    score = f"score {alert.score:.2f}" if isinstance(alert.score, int | float) else "score ?"
    facts = [score, f"matched by {alert.matched_by or '?'}"]
    if alert.nearest_story:
        facts.append(f"nearest story: {alert.nearest_story}")
    return ", ".join(facts)


def _story_facts(story: DigestStory) -> str:
    facts = [
        f"opened {when(story.opened)}",
        f"{story.size} {_plural(story.size, 'article', 'articles')}",
    ]
    if story.sources:
        facts.append(", ".join(story.sources[:4]))
    return " · ".join(facts)


# ------------------------------------------------------------------ Markdown


def md_escape(text: str) -> str:
    return _MD_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def _md_link(text: str, url: str, bold: bool = True) -> str:
    mark = "**" if bold else ""
    if not _web(url):
        return f"{mark}{md_escape(text)}{mark}" + (f" ({md_escape(url)})" if url else "")
    safe = url.replace("(", "%28").replace(")", "%29").replace(" ", "%20").replace("<", "%3C")
    return f"{mark}[{md_escape(text)}]({safe.replace('>', '%3E')}){mark}"


def _md_story(story: DigestStory, with_thread: bool = False) -> list[str]:
    extra = f" · {md_escape(story.thread_title)}" if with_thread and story.thread_title else ""
    lines = [f"- {_md_link(story.title, story.url)} — {md_escape(_story_facts(story))}{extra}"]
    for alert in story.alerts:
        link = ""
        if _web(alert.url):
            link = f" · {_md_link('article', alert.url, bold=False)}"
        elif alert.url and alert.url != story.url:
            link = f" · {md_escape(alert.url)}"
        lines.append(
            f"  - **ALERT** {md_escape(when(alert.time))}: {md_escape(_alert_facts(alert))}"
            f"{link} · `{alert.alert_id}`"
        )
    return lines


def _md_thread(thread: DigestThread) -> list[str]:
    new = " (new thread)" if thread.new else ""
    count = len(thread.stories)
    lines = [
        f"### {md_escape(thread.title)}{new}",
        "",
        f"{count} new {_plural(count, 'story', 'stories')}, "
        f"{thread.alerts} {_plural(thread.alerts, 'alert', 'alerts')}",
        "",
    ]
    for story in thread.stories:
        lines += _md_story(story)
    return [*lines, ""]


def to_markdown(digest: Digest) -> str:
    lines = [f"# {title_line(digest)}", "", summary_line(digest), ""]
    if digest.empty:
        lines += [
            f"Nothing was published on any thread between {when(_iso(digest.period.start))} "
            f"and {when(_iso(digest.period.end))}.",
            "",
        ]
    if digest.biggest:
        lines += ["## Biggest stories", ""]
        for story in digest.biggest:
            lines += [
                f"- {_md_link(story.title, story.url)} — {story.in_period} "
                f"{_plural(story.in_period, 'article', 'articles')} in the period"
                + (f" · {md_escape(story.thread_title)}" if story.thread_title else "")
            ]
        lines.append("")
    for heading, threads in (
        ("Watched threads", digest.watched),
        ("Emergent threads", digest.emergent),
    ):
        if threads:
            lines += [f"## {heading}", ""]
            for thread in threads:
                lines += _md_thread(thread)
    if digest.quiet:
        lines += [f"No new stories on: {', '.join(md_escape(t) for t in digest.quiet)}.", ""]
    lines.append(f"From the outputs in {md_escape(digest.folder)}.")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------- HTML


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _html_link(text: str, url: str) -> str:
    label = f'<span dir="auto">{_e(text)}</span>'
    if not _web(url):
        return f"<b>{label}</b>" + (f' <span class="meta">{_e(url)}</span>' if url else "")
    return f'<b><a href="{_e(url)}">{label}</a></b>'


def _html_alert_link(alert: DigestAlert, story: DigestStory) -> str:
    if _web(alert.url):
        return f' · <a href="{_e(alert.url)}">article</a>'
    if alert.url and alert.url != story.url:
        return f' · <span class="meta">{_e(alert.url)}</span>'
    return ""


def _html_story(story: DigestStory) -> str:
    facts = f'<span class="meta">— {_e(_story_facts(story))}</span>'
    parts = [f"{_html_link(story.title, story.url)} {facts}"]
    if story.alerts:
        items = "".join(
            f'<li><span class="alert">ALERT</span> {_e(when(a.time))}: {_e(_alert_facts(a))}'
            f"{_html_alert_link(a, story)} · <code>{_e(a.alert_id)}</code></li>"
            for a in story.alerts
        )
        parts.append(f"<ul>{items}</ul>")
    return f"<li>{''.join(parts)}</li>"


def _html_threads(heading: str, threads: Iterable[DigestThread]) -> str:
    blocks = []
    for thread in threads:
        new = " (new thread)" if thread.new else ""
        count = len(thread.stories)
        stories = "".join(_html_story(s) for s in thread.stories)
        blocks.append(
            f'<h3 dir="auto">{_e(thread.title)}{new}</h3>'
            f'<p class="meta">{count} new {_plural(count, "story", "stories")}, {thread.alerts} '
            f"{_plural(thread.alerts, 'alert', 'alerts')}</p><ul>{stories}</ul>"
        )
    return f"<h2>{_e(heading)}</h2>{''.join(blocks)}" if blocks else ""


def to_html(digest: Digest) -> str:
    body = [f"<h1>{_e(title_line(digest))}</h1>", f'<p class="meta">{_e(summary_line(digest))}</p>']
    if digest.empty:
        body.append(
            f'<p class="empty">Nothing was published on any thread between '
            f"{_e(when(_iso(digest.period.start)))} and {_e(when(_iso(digest.period.end)))}.</p>"
        )
    if digest.biggest:
        items = "".join(
            f'<li>{_html_link(s.title, s.url)} <span class="meta">— {s.in_period} '
            f"{_plural(s.in_period, 'article', 'articles')} in the period"
            + (f" · {_e(s.thread_title)}" if s.thread_title else "")
            + "</span></li>"
            for s in digest.biggest
        )
        body.append(f"<h2>Biggest stories</h2><ol>{items}</ol>")
    body.append(_html_threads("Watched threads", digest.watched))
    body.append(_html_threads("Emergent threads", digest.emergent))
    if digest.quiet:
        body.append(f'<p class="meta">No new stories on: {_e(", ".join(digest.quiet))}.</p>')
    body.append(f'<p class="meta">From the outputs in {_e(digest.folder)}.</p>')
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'\">"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title_line(digest))}</title><style>{CSS}</style></head>\n<body>\n"
        + "\n".join(part for part in body if part)
        + "\n</body></html>\n"
    )
