"""The records the tracker emits, built from its stories and threads.

Pure functions: the tracker decides, these only write the decision down
(rounded scores, UTC ISO times, evidence for an alert).
"""

from transforms.clustering.model import Story, Thread, ThreadStory, alert_id_for, utc
from transforms.core.records import (
    Alert,
    Assignment,
    DeadLetter,
    Duplicate,
    EmbeddedArticle,
    StoryRecord,
)


def assignment(
    article: EmbeddedArticle,
    story: Story,
    action: str,
    similarity: float | None,
    late: bool = False,
) -> Assignment:
    return Assignment(
        article=article.ref(),
        story_id=story.id,
        action="opened" if action == "opened" else "joined",
        similarity=None if similarity is None else round(similarity, 4),
        thread_id=story.thread_id,
        late=late,
        event_time=article.published,
    )


def duplicate(article: EmbeddedArticle, original: str, kind: str, similarity: float) -> Duplicate:
    return Duplicate(
        article=article.ref(),
        duplicate_of=original,
        kind="exact" if kind == "exact" else "near" if kind == "near" else "same_id",
        similarity=round(similarity, 4),
        event_time=article.published,
    )


def dead_letter(article: EmbeddedArticle, reason: str, detail: str) -> DeadLetter:
    return DeadLetter(
        item=article.id,
        uri=article.url,
        stage="cluster",
        reason=reason,
        detail=detail,
        language=article.language,
    )


def _iso(ts: float) -> str:
    return utc(ts).isoformat().replace("+00:00", "Z")


def alert(
    story: Story,
    article: EmbeddedArticle,
    thread: Thread,
    score: float,
    matched_by: str,
    nearest: ThreadStory | None,
    nearest_score: float | None,
) -> Alert:
    article_terms = dict(article.features.terms)
    shared = sorted(
        (t for t in article_terms if t in thread.terms),
        key=lambda t: (-article_terms[t], t),
    )[:10]
    return Alert(
        alert_id=alert_id_for(thread.id, story.id),
        thread={"id": thread.id, "title": thread.title, "kind": thread.kind},
        story={"id": story.id, "opened_at": _iso(story.opened_at)},
        article=article.ref(),
        score=round(score, 4),
        matched_by="description" if matched_by == "description" else "story",
        evidence={
            "shared_terms": shared,
            "required_terms_found": sorted(
                article.features.watch_terms & frozenset().union(*thread.required)
            )
            if thread.required
            else [],
            "nearest_story": None
            if nearest is None
            else {
                "id": nearest.story_id,
                "title": nearest.title,
                "opened_at": _iso(nearest.opened_at),
                "similarity": None if nearest_score is None else round(nearest_score, 4),
            },
        },
        event_time=article.published,
    )


def story_record(story: Story, status: str, at: float) -> StoryRecord:
    return StoryRecord(
        story_id=story.id,
        title=story.title,
        status="closed" if status == "closed" else "open",
        thread_id=story.thread_id,
        opened_at=utc(story.opened_at),
        last_seen=utc(story.last_seen),
        size=story.size,
        article_ids=tuple(story.article_ids),
        top_terms=tuple(
            t for t, _ in sorted(story.terms.items(), key=lambda x: (-x[1], x[0]))[:10]
        ),
        event_time=utc(at),
    )
