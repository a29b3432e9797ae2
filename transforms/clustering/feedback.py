"""The verdicts of the feedback file, by thread and story: what linking consults.

Later marks win: marking a story relevant after not relevant undoes the
first verdict. A mark equal to one already held (the same line read again
at a restart, or both from the file and from the feedback topic) changes
nothing. Pure lookups; ``transforms.clustering.verdicts`` applies them.
"""

from collections.abc import Iterable

from transforms.core.feedback import FeedbackMark


class FeedbackBook:
    """Verdicts keyed by (thread, story); mutes by story and by thread."""

    def __init__(self, marks: Iterable[FeedbackMark] = ()) -> None:
        self._verdict: dict[tuple[str, str], str] = {}
        self.muted_stories: set[str] = set()
        self.muted_threads: set[str] = set()
        #: Every mark held, in the order it came: what a snapshot keeps.
        self.marks: list[FeedbackMark] = []
        self._held: set[FeedbackMark] = set()
        self._judged: set[str] = set()
        self.add(marks)

    def add(self, marks: Iterable[FeedbackMark]) -> list[FeedbackMark]:
        """Takes the marks not held yet, in order; returns them."""
        new: list[FeedbackMark] = []
        for mark in marks:
            if mark in self._held:
                continue
            self._held.add(mark)
            self.marks.append(mark)
            new.append(mark)
            if mark.verdict == "mute":
                if mark.story_id is None and mark.thread_id is not None:
                    self.muted_threads.add(mark.thread_id)
                elif mark.story_id is not None:
                    self.muted_stories.add(mark.story_id)
            elif mark.thread_id is not None and mark.story_id is not None:
                self._verdict[(mark.thread_id, mark.story_id)] = mark.verdict
                self._judged.add(mark.story_id)
        return new

    def __bool__(self) -> bool:
        return bool(self._verdict or self.muted_stories or self.muted_threads)

    def refused(self, thread_id: str, story_id: str) -> bool:
        return self._verdict.get((thread_id, story_id)) == "not-relevant"

    def confirmed(self, thread_id: str, story_id: str) -> bool:
        return self._verdict.get((thread_id, story_id)) == "relevant"

    def judged(self, story_id: str) -> bool:
        """Whether the story holds a verdict on any thread (so it has alerted once)."""
        return story_id in self._judged

    def silenced(self, thread_id: str, story_id: str) -> bool:
        return thread_id in self.muted_threads or story_id in self.muted_stories

    def verdicts(self, marks: Iterable[FeedbackMark] | None = None) -> list[tuple[str, str, str]]:
        """(thread, story, verdict) now, sorted: for every pair, or for the pairs of ``marks``."""
        if marks is None:
            pairs = set(self._verdict)
        else:
            pairs = {
                (m.thread_id, m.story_id)
                for m in marks
                if m.thread_id is not None and m.story_id is not None and m.verdict != "mute"
            }
        return sorted((t, s, self._verdict[(t, s)]) for t, s in pairs if (t, s) in self._verdict)
