"""The verdicts of the feedback file, by thread and story: what linking consults.

Later lines win: marking a story relevant after not relevant undoes the
first verdict. Pure lookups; ``ThreadBook`` applies them.
"""

from collections.abc import Iterable

from transforms.core.feedback import FeedbackMark


class FeedbackBook:
    """Verdicts keyed by (thread, story); mutes by story and by thread."""

    def __init__(self, marks: Iterable[FeedbackMark] = ()) -> None:
        self._verdict: dict[tuple[str, str], str] = {}
        self.muted_stories: set[str] = set()
        self.muted_threads: set[str] = set()
        for mark in marks:
            if mark.verdict == "mute":
                if mark.story_id is None and mark.thread_id is not None:
                    self.muted_threads.add(mark.thread_id)
                elif mark.story_id is not None:
                    self.muted_stories.add(mark.story_id)
            elif mark.thread_id is not None and mark.story_id is not None:
                self._verdict[(mark.thread_id, mark.story_id)] = mark.verdict

    def __bool__(self) -> bool:
        return bool(self._verdict or self.muted_stories or self.muted_threads)

    def refused(self, thread_id: str, story_id: str) -> bool:
        return self._verdict.get((thread_id, story_id)) == "not-relevant"

    def confirmed(self, thread_id: str, story_id: str) -> bool:
        return self._verdict.get((thread_id, story_id)) == "relevant"

    def silenced(self, thread_id: str, story_id: str) -> bool:
        return thread_id in self.muted_threads or story_id in self.muted_stories

    def verdicts(self) -> list[tuple[str, str, str]]:
        """(thread, story, verdict), sorted: the order they are applied in at a start."""
        return sorted((t, s, v) for (t, s), v in self._verdict.items())
