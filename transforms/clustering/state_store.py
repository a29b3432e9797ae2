"""The tracker's durable state: a snapshot, a journal of steps since it, and an outbox.

Why three parts:

* **Snapshot** (the ``--state`` file itself): the whole tracker, written
  rarely. Rewriting it on every clustering step would make each step cost as
  much as the whole history (28 MB of JSON at 100,000 articles).
* **Journal** (``<state>.journal/``): one small file per streaming step with
  the feedback marks and the articles that step processed, in order. A step costs what it adds;
  replaying the journal over the snapshot rebuilds the tracker exactly,
  because the tracker is deterministic in its input order.
* **Outbox** (in the snapshot's header): a batch run writes its outputs into
  a staging folder and commits them *with* the state: the snapshot that
  records the run names the staging folder, and the files are then renamed
  into the output folder. A crash before the commit leaves the old state and
  the staged files are discarded (the rerun decides the same again); a crash
  after it is finished by the next start (``recover``). So every alert is
  written by exactly one committed run, never lost and never twice.

Every write is one atomic replace (``transforms.core.atomic``); the snapshot's
sequence number says which journal steps it already holds, so a crash
between writing a snapshot and pruning the journal is harmless.
"""

import dataclasses
import json
import os
import struct
from collections.abc import Iterable, Mapping, Sequence

from apache_beam.io.filesystems import FileSystems

from transforms.core.atomic import read_bytes, replace_bytes
from transforms.core.coders import EmbeddedArticleCoder
from transforms.core.feedback import FeedbackMark
from transforms.core.records import EmbeddedArticle

FORMAT = "threadwatch-state"
VERSION = 3  # 3: journal steps may hold verdicts (TWJ2)
READABLE_VERSIONS = (2, 3)
_LENGTH = struct.Struct(">I")
_JOURNAL_MAGIC = b"TWJ1"  # articles only (written before feedback could come in a step)
#: Then the step's feedback marks (a length and a JSON list), then the articles.
_JOURNAL_MAGIC_MARKS = b"TWJ2"


class StateError(ValueError):
    """The state is corrupt, truncated, or from an incompatible version."""

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"{path}: {problem}")


@dataclasses.dataclass(frozen=True)
class Outbox:
    """Outputs committed with a snapshot, to be moved from ``staging`` into ``target``."""

    staging: str
    target: str


@dataclasses.dataclass(frozen=True)
class Loaded:
    """What a start finds: the snapshot (None: none yet), its sequence, later steps."""

    tracker: bytes | None
    seq: int
    steps: tuple[tuple[int, tuple[EmbeddedArticle, ...]], ...]
    outbox: Outbox | None
    #: The feedback marks of those steps that had any, by step: applied first.
    marks: Mapping[int, tuple[FeedbackMark, ...]] = dataclasses.field(default_factory=dict)

    @property
    def last_seq(self) -> int:
        return self.steps[-1][0] if self.steps else self.seq


def _join(folder: str, name: str) -> str:
    return f"{folder.rstrip('/')}/{name}"


class StateStore:
    """Reads and writes one state (a path on any Beam filesystem)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.journal = f"{path}.journal"

    # -------------------------------------------------------------- reading

    def load(self) -> Loaded:
        """The snapshot and every journal step after it; raises ``StateError``."""
        data = read_bytes(self.path)
        tracker: bytes | None = None
        seq = 0
        outbox: Outbox | None = None
        if data is not None:
            tracker, seq, outbox = self._parse_snapshot(data)
        read = [(step, self._read_step(path)) for step, path in self._journal_files() if step > seq]
        expected = seq + 1
        for step, _ in read:
            if step != expected:
                raise StateError(self.journal, f"is incomplete: step {expected} is missing")
            expected += 1
        steps = tuple((step, articles) for step, (articles, _) in read)
        marks = {step: step_marks for step, (_, step_marks) in read if step_marks}
        return Loaded(tracker, seq, steps, outbox, marks)

    def peek(self) -> tuple[int, Outbox | None]:
        """The last step's sequence number and the pending outbox, without decoding the state.

        Reads only the snapshot's header line and the journal's file names: what
        a launcher needs before the job starts (the job itself then ``load``s).
        """
        if not FileSystems.exists(self.path):
            return self._last_journal_step(0), None
        with FileSystems.open(self.path) as handle:
            header = handle.readline()
        try:
            fields = json.loads(header)
        except (UnicodeDecodeError, json.JSONDecodeError):
            fields = None
        if not isinstance(fields, dict) or fields.get("format") != FORMAT:
            raise StateError(
                self.path, "is corrupt: not a threadwatch state file (or one from before version 2)"
            )
        raw_outbox = fields.get("outbox")
        outbox = Outbox(raw_outbox["staging"], raw_outbox["target"]) if raw_outbox else None
        seq = int(fields["seq"])
        return self._last_journal_step(seq), outbox

    def _last_journal_step(self, seq: int) -> int:
        steps = [step for step, _ in self._journal_files() if step > seq]
        return max(steps, default=seq)

    def _parse_snapshot(self, data: bytes) -> tuple[bytes, int, Outbox | None]:
        newline = data.find(b"\n")
        try:
            header = json.loads(data[:newline]) if newline > 0 else None
        except (UnicodeDecodeError, json.JSONDecodeError):
            header = None
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise StateError(
                self.path, "is corrupt: not a threadwatch state file (or one from before version 2)"
            )
        if header.get("version") not in READABLE_VERSIONS:
            raise StateError(
                self.path,
                f"is incompatible: state version {header.get('version')!r}, "
                f"this threadwatch reads versions {', '.join(map(str, READABLE_VERSIONS))}",
            )
        body = data[newline + 1 :]
        if len(body) != header.get("tracker_bytes"):
            raise StateError(
                self.path, f"is truncated: {len(body)} of {header.get('tracker_bytes')} bytes"
            )
        raw_outbox = header.get("outbox")
        outbox = Outbox(raw_outbox["staging"], raw_outbox["target"]) if raw_outbox else None
        return body, int(header["seq"]), outbox

    def _journal_files(self) -> list[tuple[int, str]]:
        if not FileSystems.exists(self.journal):
            return []
        found = []
        for metadata in FileSystems.match([_join(self.journal, "*.step")])[0].metadata_list:
            name = metadata.path.rsplit("/", 1)[-1]
            try:
                found.append((int(name.removesuffix(".step")), metadata.path))
            except ValueError:
                continue
        return sorted(found)

    def _read_step(self, path: str) -> tuple[tuple[EmbeddedArticle, ...], tuple[FeedbackMark, ...]]:
        data = read_bytes(path) or b""
        magic = data[: len(_JOURNAL_MAGIC)]
        if magic not in (_JOURNAL_MAGIC, _JOURNAL_MAGIC_MARKS):
            raise StateError(path, "is corrupt: not a journal step")
        coder = EmbeddedArticleCoder()
        articles: list[EmbeddedArticle] = []
        marks: list[FeedbackMark] = []
        at = len(_JOURNAL_MAGIC)
        try:
            if magic == _JOURNAL_MAGIC_MARKS:
                (size,) = _LENGTH.unpack_from(data, at)
                at += _LENGTH.size
                if at + size > len(data):
                    raise StateError(path, "is truncated: a journal step cut short")
                marks = [FeedbackMark.from_json(m) for m in json.loads(data[at : at + size])]
                at += size
            while at < len(data):
                (size,) = _LENGTH.unpack_from(data, at)
                at += _LENGTH.size
                if at + size > len(data):
                    raise StateError(path, "is truncated: a journal step cut short")
                articles.append(coder.decode(data[at : at + size]))
                at += size
        except (struct.error, ValueError, KeyError, TypeError) as exc:
            if isinstance(exc, StateError):
                raise
            raise StateError(path, f"is corrupt: unreadable journal step ({exc})") from None
        return tuple(articles), tuple(marks)

    # -------------------------------------------------------------- writing

    def append(
        self,
        seq: int,
        articles: Sequence[EmbeddedArticle],
        marks: Sequence[FeedbackMark] = (),
    ) -> None:
        """Writes one step's marks and articles; costs what the step adds, not the history."""
        coder = EmbeddedArticleCoder()
        parts = [_JOURNAL_MAGIC]
        if marks:
            listed = json.dumps([m.to_json() for m in marks], sort_keys=True).encode()
            parts = [_JOURNAL_MAGIC_MARKS, _LENGTH.pack(len(listed)), listed]
        for article in articles:
            encoded = coder.encode(article)
            parts += [_LENGTH.pack(len(encoded)), encoded]
        replace_bytes(_join(self.journal, f"{seq:012d}.step"), b"".join(parts))

    def commit(self, tracker: bytes, seq: int, outbox: Outbox | None = None) -> None:
        """Writes a snapshot holding every step up to ``seq``, then prunes the journal."""
        header: dict[str, object] = {
            "format": FORMAT,
            "version": VERSION,
            "seq": seq,
            "tracker_bytes": len(tracker),
            "outbox": dataclasses.asdict(outbox) if outbox else None,
        }
        replace_bytes(self.path, json.dumps(header, sort_keys=True).encode() + b"\n" + tracker)
        stale = [path for step, path in self._journal_files() if step <= seq]
        if stale:
            FileSystems.delete(stale)

    def recover(self, output: str | None = None) -> list[str]:
        """Finishes a committed run's publish; discards uncommitted staging in ``output``.

        Returns the files moved into place (empty when nothing was pending).
        """
        _, outbox = self.peek()
        moved = publish(outbox) if outbox else []
        if output is not None:
            for folder in staging_folders(output):
                FileSystems.delete([folder])
        return moved


def staging_folder(output: str, seq: int) -> str:
    """Where a batch run committing step ``seq`` stages its outputs."""
    return _join(output, f".staging-{seq:012d}")


def staging_folders(output: str) -> list[str]:
    """Staging folders under ``output`` (local folders, or objects under such a prefix)."""
    if "://" not in output or output.startswith("file://"):
        local = output.removeprefix("file://")
        if not os.path.isdir(local):
            return []
        return sorted(_join(output, n) for n in os.listdir(local) if n.startswith(".staging-"))
    matched = FileSystems.match([_join(output, ".staging-*/*")])[0].metadata_list
    return sorted({m.path.rsplit("/", 1)[0] for m in matched})


def publish(outbox: Outbox) -> list[str]:
    """Moves every staged file into the target (idempotent: already moved is done)."""
    if not FileSystems.exists(outbox.staging):
        return []
    staged = sorted(
        m.path for m in FileSystems.match([_join(outbox.staging, "*")])[0].metadata_list
    )
    targets = [_join(outbox.target, path.rsplit("/", 1)[-1]) for path in staged]
    if staged:
        FileSystems.rename(staged, targets)
    FileSystems.delete([outbox.staging])
    return targets


def steps_in_order(
    steps: Iterable[tuple[int, tuple[EmbeddedArticle, ...]]],
) -> list[tuple[EmbeddedArticle, ...]]:
    return [articles for _, articles in sorted(steps, key=lambda s: s[0])]
