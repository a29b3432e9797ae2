"""Cleaning plain-text articles copied from web pages.

trafilatura returns nothing for plain text, yet text copied from a news page
carries the page around the article: navigation lists, logos, "AD" markers,
share buttons, photo credits, "More Stories" link lists, author bios. Left in,
they pull unrelated articles from the same site together and add noise terms
to every story.

The cleaner works line by line with named rules, and returns every removed
line with the rule that removed it, so tests (and users) can see exactly what
was dropped and check that body paragraphs were kept.
"""

import dataclasses
import re
from collections import Counter

from transforms.text.dates import parse_dateline
from transforms.text.scripts import count_words


@dataclasses.dataclass(frozen=True)
class Removal:
    line_no: int
    text: str
    rule: str


@dataclasses.dataclass(frozen=True)
class CleanText:
    """The result of cleaning: body, the title and date found, what was removed."""

    body: str
    title: str | None
    dateline: str | None
    removed: tuple[Removal, ...]

    def removed_by(self, rule: str) -> list[str]:
        return [r.text for r in self.removed if r.rule == rule]


_BULLET = re.compile(r"^[•·▪●◦‣∙*\-–—]\s*")
# Sentence ends of every script: the ideographic full stop and its full-width
# marks, the Devanagari danda, the Arabic question mark and full stop.
_SENTENCE_END = re.compile(r"[.!?:;…”\"’')\]。！？｡।॥؟۔]$")
_FULL_STOPS = (".", "。", "｡", "।", "॥", "۔")

# Interface words that are never article text when they stand alone on a line.
_UI_LINES = {
    "ad", "ads", "advertisement", "advertising", "sponsored", "sponsored content",
    "login", "log in", "log out", "sign in", "sign up", "register", "subscribe",
    "subscribe now", "menu", "search", "share", "share this", "share this article",
    "share on facebook", "share on twitter", "print", "email", "comments",
    "leave a comment", "leave a reply", "post a comment", "add comment",
    "skip to content", "skip to main content", "read more", "continue reading",
    "show more", "load more", "follow us", "newsletter", "sign up for our newsletter",
    "accept cookies", "close", "back to top", "icon", "title icon", "source icon",
    "listen to this article", "copy link", "whatsapp", "facebook", "twitter",
}  # fmt: skip

_SHARE_WORDS = re.compile(
    r"^(?:post|email|e-mail|whatsapp|facebook|twitter|x|linkedin|reddit|telegram|"
    r"share|copy ?link|print|tweet|pinterest|flipboard|messenger|sms)+$",
    re.I,
)
_CREDIT_AGENCY = re.compile(
    r"(?:\bvia\b|/|\bfor\b|\bby\b|©)\s*(?:Reuters|AP|AFP|Getty(?: Images)?|EPA|Sputnik|Pool|"
    r"Bloomberg|Shutterstock|Xinhua|TASS|Anadolu|Alamy|IRNA|WANA|SIPA)\b",
    re.I,
)
_CREDIT_PREFIX = re.compile(r"^(?:\(?photo|image|picture|credit|photograph)s?\b\s*(?:by|:)", re.I)
_SLASH_NAMES = re.compile(r"^[A-Z][\w.'’-]*(?: [A-Z][\w.'’-]*)*(?:\s*/\s*[A-Z][\w.'’-]*)+")
_MORE_HEADING = re.compile(
    r"^(?:more stories|more news|related(?: stories| articles| posts| coverage| news)?|"
    r"read more|read next|recommended(?: for you| stories)?|you may also like|"
    r"you might also like|most (?:popular|read|viewed)|trending(?: now| stories)?|"
    r"latest (?:news|stories)|also read|see also|top stories|more from .{1,40})$",
    re.I,
)
_SOURCES_PREFIX = re.compile(r"^sources?\s*:", re.I)
_AUTHOR_PREFIX = re.compile(r"^(?:about the author|author bio)\b", re.I)


def _words(line: str) -> list[str]:
    return line.split()


def _count(line: str) -> int:
    """Words of a line: by spaces, and in word-sized units in Chinese, Thai… (``scripts``)."""
    return count_words(line)


def _is_paragraph(line: str) -> bool:
    """A body paragraph: a real sentence or several, not a link or a label."""
    words = _count(line)
    return (words >= 8 and bool(_SENTENCE_END.search(line))) or words >= 30


def _is_short_fragment(line: str) -> bool:
    return _count(line) <= 3 and not _SENTENCE_END.search(line)


def _is_name_list(line: str) -> bool:
    """ "The Guardian, AFP, Foreign Affairs, Bloomberg": a list of names, no sentence."""
    if _SENTENCE_END.search(line) or "," not in line:
        return False
    items = [item.strip() for item in line.split(",")]
    return all(
        item
        and len(item.split()) <= 3
        and all(w[0].isupper() or w in {"of", "the", "and"} for w in item.split())
        for item in items
    )


def _is_author_bio(line: str) -> bool:
    """Self-descriptions like “Beer buff. Coffee ninja. Organizer.”: many tiny sentences."""
    if _AUTHOR_PREFIX.match(line):
        return True
    inner = line.strip().strip("\"“”'‘’")
    fragments = [f for f in re.split(r"[.!]\s*", inner) if f.strip()]
    if len(fragments) < 3:
        return False
    sizes = [len(f.split()) for f in fragments]
    return max(sizes) <= 5 and sum(sizes) / len(sizes) <= 3.5


def _is_photo_credit(line: str) -> bool:
    if _SENTENCE_END.search(line) or _count(line) > 12:
        return False
    return bool(
        _CREDIT_AGENCY.search(line) or _CREDIT_PREFIX.match(line) or _SLASH_NAMES.match(line)
    )


def _line_rule(line: str) -> str | None:
    """The rule that removes this line on its own merits, if any."""
    lowered = line.lower().strip(" .:!|")
    if lowered in _UI_LINES:
        return "interface_text"
    compact = re.sub(r"[\s|/,·•]+", "", line)
    if compact and _SHARE_WORDS.match(compact) and not _SENTENCE_END.search(line):
        return "share_buttons"
    words = _words(line)
    if len(words) <= 4 and words[-1].lower() in {"logo", "icon", "icons"}:
        return "logo_or_icon"
    if parse_dateline(line) is not None:
        return "dateline"
    if _is_photo_credit(line):
        return "photo_credit"
    if _is_author_bio(line):
        return "author_bio"
    return None


def clean_plain_text(text: str) -> CleanText:
    """Separates an article's title, dateline and body from page boilerplate."""
    raw_lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    lines = [line.strip() for line in raw_lines]
    rules: list[str | None] = [None] * len(lines)

    # Lines repeated verbatim are menus and footers rendered twice, not prose.
    short_counts = Counter(line for line in lines if line and _count(line) <= 6)

    for i, line in enumerate(lines):
        if not line:
            continue
        rules[i] = _line_rule(line)
        if rules[i] is None and short_counts[line] > 1 and not _is_paragraph(line):
            rules[i] = "repeated_line"

    _mark_navigation_runs(lines, rules)
    _mark_captions(lines, rules)
    _mark_sources(lines, rules)
    _mark_link_lists(lines, rules)

    dateline = next((lines[i] for i, r in enumerate(rules) if r == "dateline"), None)
    title_index = _find_title(lines, rules)
    title = None
    if title_index is not None:
        title = lines[title_index]
        rules[title_index] = "title"

    for i, line in enumerate(lines):
        if line and rules[i] is None and _is_short_fragment(line):
            rules[i] = "short_fragment"

    kept = [line for line, rule in zip(lines, rules, strict=True) if line and rule is None]
    removed = tuple(
        Removal(i + 1, line, rule)
        for i, (line, rule) in enumerate(zip(lines, rules, strict=True))
        if line and rule is not None and rule != "title"
    )
    return CleanText(body="\n".join(kept), title=title, dateline=dateline, removed=removed)


def _mark_navigation_runs(lines: list[str], rules: list[str | None]) -> None:
    """Runs of three or more short bulleted items ("• D.C.", "• BXL") are menus."""
    run: list[int] = []

    def flush() -> None:
        if len(run) >= 3:
            for j in run:
                if rules[j] in (None, "repeated_line"):
                    rules[j] = "navigation"
        run.clear()

    for i, line in enumerate(lines):
        if not line:
            continue
        is_item = bool(_BULLET.match(line)) and _count(_BULLET.sub("", line)) <= 3
        if is_item or (run and rules[i] in {"repeated_line", "logo_or_icon"}):
            run.append(i)
        else:
            flush()
    flush()


def _previous_kept(lines: list[str], rules: list[str | None], i: int) -> int | None:
    j = i - 1
    while j >= 0 and (not lines[j] or rules[j] is not None):
        j -= 1
    return j if j >= 0 else None


def _mark_captions(lines: list[str], rules: list[str | None]) -> None:
    """The short label right above a photo credit is the photo's caption."""
    for i, rule in enumerate(rules):
        if rule != "photo_credit":
            continue
        j = _previous_kept(lines, rules, i)
        if j is not None and _count(lines[j]) <= 10 and not _SENTENCE_END.search(lines[j]):
            rules[j] = "photo_caption"


def _mark_sources(lines: list[str], rules: list[str | None]) -> None:
    """ "Sources:" labels and the list of outlet names that follows them."""
    for i, line in enumerate(lines):
        if (
            rules[i] in (None, "repeated_line")
            and _SOURCES_PREFIX.match(line)
            and _count(line) <= 12
        ):
            rules[i] = "source_list"
            j = i + 1
            while j < len(lines) and not lines[j]:
                j += 1
            if j < len(lines) and rules[j] is None and _is_name_list(lines[j]):
                rules[j] = "source_list"
        elif rules[i] is None and _is_name_list(line) and _count(line) <= 12:
            previous = _previous_kept(lines, rules, i)
            if previous is not None and rules[previous] == "source_list":
                rules[i] = "source_list"


def _mark_link_lists(lines: list[str], rules: list[str | None]) -> None:
    """A "More Stories" heading and the headlines under it, up to the next paragraph."""
    i = 0
    while i < len(lines):
        if lines[i] and _MORE_HEADING.match(lines[i].strip(" :")):
            rules[i] = "link_list"
            j = i + 1
            while j < len(lines) and not (
                lines[j]
                and _is_paragraph(lines[j])
                and lines[j].endswith((*_FULL_STOPS, "!", "?", "”", '"', "！", "？", "؟"))
            ):
                if lines[j]:
                    rules[j] = rules[j] or "link_list"
                j += 1
            i = j
        else:
            i += 1


def _find_title(lines: list[str], rules: list[str | None]) -> int | None:
    """A headline: a kept line of 4–25 words, without a full stop, before the body."""
    for i, line in enumerate(lines[:40]):
        if not line or rules[i] is not None:
            continue
        if _is_paragraph(line) and line.endswith((*_FULL_STOPS, "”", '"')):
            return None
        if _BULLET.match(line) or not 4 <= _count(line) <= 25 or line.endswith(_FULL_STOPS):
            continue
        return i
    return None


_MD_FRONT_MATTER = re.compile(r"\A---\n(.*?)\n---\n", re.S)
_MD_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_MD_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_MD_HEADING = re.compile(r"^#{1,6}\s+", re.M)
_MD_EMPHASIS = re.compile(r"(\*\*|__|\*|_|`)(?=\S)(.+?)(?<=\S)\1")
_MD_FENCE = re.compile(r"^```.*?^```\s*$", re.S | re.M)


def split_front_matter(text: str) -> tuple[str, str | None]:
    """Returns (body, front matter block) for a Markdown file."""
    match = _MD_FRONT_MATTER.match(text.replace("\r\n", "\n"))
    if not match:
        return text, None
    return text.replace("\r\n", "\n")[match.end() :], match.group(1)


def markdown_to_text(text: str) -> tuple[str, str | None]:
    """Strips Markdown syntax; returns (plain text, first level-1 heading)."""
    heading = re.search(r"^#\s+(.+)$", text, re.M)
    plain = _MD_FENCE.sub("", text)
    plain = _MD_IMAGE.sub("", plain)
    plain = _MD_LINK.sub(r"\1", plain)
    plain = _MD_HEADING.sub("", plain)
    plain = _MD_EMPHASIS.sub(r"\2", plain)
    return plain, heading.group(1).strip() if heading else None
