"""Synthetic but realistic news: real paragraphs recombined into a long, dated stream.

The benchmarks need more articles than any labelled set here holds (100,000
for the memory run), so they are made from real text: the paragraphs of the
982 ECB+ articles, the 181 pages of the extraction benchmark (their
ground-truth bodies) and the five seeds (``../shared/data`` and ``seeds/``;
no network).

The stream is made of *events*, as news is. An event takes its material from
three real articles (the headline of the first; its lead is the first
paragraphs of the three), so two events rarely share much. It has a
heavy-tailed number of articles (most events one to three, a few over a
hundred), spread over hours to days after it starts. Each article opens with
three of the event's lead paragraphs in its own order, goes on with a random
three fifths of the rest of the event's paragraphs (so its articles share
names and wording without being copies) and, when that is short, background
paragraphs from anywhere: 400 to 900 words in all. About one in twenty
follow-ups is a syndicated copy of an earlier article of its event (a
paragraph dropped, a credit line added). Events start at a
steady rate (``per_day``), so 100,000 articles span months: 100 days at the
default 1,000 a day.

Articles are generated lazily in event-time order: the stream itself holds
only the pending articles of running events, never the texts of the past.
"""

import bisect
import dataclasses
import datetime as dt
import hashlib
import heapq
import itertools
import json
import random
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
SEEDS = REPO / "seeds"
START = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
#: Changes whenever the generator does (caches of its output depend on it).
GENERATOR_VERSION = 2


class MissingData(SystemExit):
    """``../shared/data`` (or ``--data``) is not there: said plainly, exit status 2."""

    def __init__(self, data: Path) -> None:
        print(
            f"benchmark data not found: {data} must hold ecbplus/docs.jsonl and "
            "extraction/ground-truth.json (the project's ../shared/data; see "
            "benchmarks/README.md). Nothing was measured.",
            file=sys.stderr,
        )
        super().__init__(2)


@dataclasses.dataclass(frozen=True)
class Source:
    """A real article cut into paragraphs: where synthetic text comes from."""

    title: str
    paragraphs: tuple[int, ...]  # indices into Corpus.paragraphs


@dataclasses.dataclass(frozen=True)
class SyntheticArticle:
    id: str
    title: str
    text: str
    published: dt.datetime
    event: str
    #: Paragraph indices in reading order (for vectors made from paragraph vectors).
    paragraphs: tuple[int, ...]
    copy_of: str | None = None

    def to_json(self) -> str:
        """One line of a JSON Lines file the folder source reads."""
        return json.dumps(
            {
                "id": self.id,
                "title": self.title,
                "text": self.text,
                "published": self.published.isoformat(),
                "source": "synthetic",
            },
            ensure_ascii=False,
        )


def _words(text: str) -> int:
    return len(text.split())


class Corpus:
    """The paragraph pool and the articles they came from."""

    def __init__(self, data: Path = DATA, seeds: Path = SEEDS) -> None:
        ecb = data / "ecbplus" / "docs.jsonl"
        truth = data / "extraction" / "ground-truth.json"
        if not ecb.is_file() or not truth.is_file():
            raise MissingData(data)
        self.paragraphs: list[str] = []
        self.sources: list[Source] = []
        for line in ecb.read_text(encoding="utf-8").splitlines():
            self._add_ecbplus(json.loads(line)["text"])
        for page in json.loads(truth.read_text(encoding="utf-8")).values():
            self._add_body(page["articleBody"])
        for path in sorted(seeds.glob("*.txt")):
            lines = path.read_text(encoding="utf-8").splitlines()
            self._add(lines[0], lines[1:])
        self.paragraph_words = [_words(p) for p in self.paragraphs]

    def digest(self) -> str:
        """Identifies the pool (for caches of paragraph vectors)."""
        return hashlib.sha256("\x1e".join(self.paragraphs).encode()).hexdigest()[:16]

    def _add(self, title: str, paragraphs: Sequence[str]) -> None:
        kept = [p.strip() for p in paragraphs if _words(p) >= 8]
        if len(kept) < 2 or not title.strip():
            return
        first = len(self.paragraphs)
        self.paragraphs.extend(kept)
        self.sources.append(Source(title.strip(), tuple(range(first, len(self.paragraphs)))))

    def _add_ecbplus(self, text: str) -> None:
        # Sentences one a line; a URL and a date line often precede the headline.
        lines = [
            line
            for line in text.splitlines()
            if line.strip() and "http" not in line and not line.startswith("www")
        ]
        if not lines:
            return
        title = lines[0] if _words(lines[0]) <= 20 else " ".join(lines[0].split()[:12])
        body = lines[1:] if _words(lines[0]) <= 20 else lines
        body = [s for s in body if _words(s) > 4]  # drop date lines and captions
        self._add(title, [" ".join(body[i : i + 3]) for i in range(0, len(body), 3)])

    def _add_body(self, body: str) -> None:
        paragraphs = [p for p in body.split("\n") if p.strip()]
        if paragraphs:
            first = paragraphs[0].split(". ")[0]
            self._add(" ".join(first.split()[:12]), paragraphs)


def _event_sizes(rng: random.Random, largest: int = 300) -> Iterator[int]:
    """Articles per event: P(k) proportional to k^-2.2 (mean about 2.6)."""
    weights = list(itertools.accumulate(k**-2.2 for k in range(1, largest + 1)))
    while True:
        yield bisect.bisect_left(weights, rng.random() * weights[-1]) + 1


def synthetic_stream(
    corpus: Corpus, count: int, seed: int = 0, per_day: float = 1000.0, start: dt.datetime = START
) -> Iterator[SyntheticArticle]:
    """``count`` articles in event-time order (ties impossible: times are random floats)."""
    rng = random.Random(seed)
    sizes = _event_sizes(rng)
    mean_size = 2.6
    events_per_day = per_day / mean_size
    pending: list[tuple[float, int, tuple[str, str, tuple[int, ...], str | None]]] = []
    sequence = itertools.count()
    next_start = 0.0
    event_number = 0
    emitted = 0
    sources = corpus.sources
    words = corpus.paragraph_words

    def new_event(at: float, number: int) -> None:
        first, second, third = (sources[i] for i in rng.sample(range(len(sources)), 3))
        # The event's own material: what its articles say, in different words
        # (different paragraphs and order), and the names they share.
        core = [
            first.paragraphs[0],
            *first.paragraphs[1:2],
            second.paragraphs[0],
            third.paragraphs[0],
        ]
        pool = [p for s in (first, second, third) for p in s.paragraphs if p not in core]
        size = next(sizes)
        # Most events are covered within a day or two; one in ten runs for a week.
        mean_lag = 5.0 if rng.random() < 0.1 else 0.8
        earlier: list[tuple[str, tuple[int, ...]]] = []
        for index in range(size):
            lag = 0.0 if index == 0 else rng.expovariate(1 / mean_lag)
            article_id = f"e{number:07d}-{index:03d}"
            if earlier and rng.random() < 0.05:
                original_id, original = rng.choice(earlier)
                body = original[:-1] if len(original) > 4 else original
                item: tuple[str, str, tuple[int, ...], str | None] = (
                    article_id,
                    first.title,
                    body,
                    original_id,
                )
                heapq.heappush(pending, (at + lag, next(sequence), item))
                continue
            target = rng.randint(400, 900)
            lead = rng.sample(core[1:], 2)
            body_list = [core[0], *lead] if rng.random() < 0.7 else [lead[0], core[0], lead[1]]
            rest = rng.sample(pool, len(pool))[: max(1, len(pool) * 3 // 5)]
            total = sum(words[p] for p in body_list)
            for paragraph in rest:
                if total >= target:
                    break
                body_list.append(paragraph)
                total += words[paragraph]
            while total < target:  # short sources: background from anywhere
                other = sources[rng.randrange(len(sources))]
                paragraph = other.paragraphs[rng.randrange(len(other.paragraphs))]
                body_list.append(paragraph)
                total += words[paragraph]
            body = tuple(body_list)
            earlier.append((article_id, body))
            item = (article_id, first.title, body, None)
            heapq.heappush(pending, (at + lag, next(sequence), item))

    while emitted < count:
        while not pending or next_start <= pending[0][0]:
            new_event(next_start, event_number)
            event_number += 1
            next_start += rng.expovariate(events_per_day)
        day, _, (article_id, title, body, copy_of) = heapq.heappop(pending)
        text = "\n\n".join(corpus.paragraphs[p] for p in body)
        if copy_of is not None:
            text += "\n\n(Syndicated from a wire service.)"
        yield SyntheticArticle(
            id=article_id,
            title=title,
            text=text,
            published=start + dt.timedelta(days=day),
            event=article_id.split("-")[0],
            paragraphs=body,
            copy_of=copy_of,
        )
        emitted += 1


def write_folder(articles: Sequence[SyntheticArticle], folder: Path, per_file: int = 50) -> None:
    """JSON Lines files of ``per_file`` articles each: what ``threadwatch run --source`` reads."""
    folder.mkdir(parents=True, exist_ok=True)
    for number, offset in enumerate(range(0, len(articles), per_file)):
        lines = [a.to_json() for a in articles[offset : offset + per_file]]
        (folder / f"articles-{number:05d}.jsonl").write_text("\n".join(lines) + "\n")
