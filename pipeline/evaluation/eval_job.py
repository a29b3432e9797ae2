"""``threadwatch eval``: the real pipeline over a labelled stream, then scores.

The graph is ``pipeline.graph.build_graph`` with the labelled articles as its
input and the same settings as ``threadwatch run``: what is scored is what the
product does, not a re-implementation of it.
"""

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions

from pipeline.config.feedback import load_feedback
from pipeline.config.settings import load_settings, load_threads
from pipeline.evaluation.evaluate import (
    alert_report,
    clustering_report,
    merged_events,
    micro_alerts,
    tracking_report,
)
from pipeline.evaluation.labelled import LabelledRecord, document, exemplar_threads, read_stream
from pipeline.evaluation.languages import (
    cross_language_duplicates,
    cross_lingual_recall,
    languages_of,
    per_language,
)
from pipeline.graph import Job, build_graph
from pipeline.summary import counters_from_result, read_jsonl
from transforms.core.errors import ConfigError
from transforms.sinks.files import OUTPUT_FILES, WriteOutputs, write_atomically
from transforms.text.dates import parse_datetime
from transforms.text.language import normalise_language


@dataclasses.dataclass(frozen=True)
class EvalRun:
    stream: str
    threads: str | None
    settings: str | None
    output: str
    #: Loopback address of the launcher's progress line (``TapProgress``), if any.
    progress_address: str | None = None
    #: A feedback file (``threadwatch feedback``) the run reads, if any.
    feedback: str | None = None


def _stream_order(records: Sequence[LabelledRecord]) -> list[str]:
    """Stream articles in the order the tracker sees them: (event time, id)."""

    def key(r: LabelledRecord) -> tuple[float, str]:
        ts = parse_datetime(r.published).timestamp() if r.published else 0.0
        return (ts, r.id)

    return [r.id for r in sorted((r for r in records if r.role == "stream"), key=key)]


def predicted_stories(outputs: dict[str, list[dict[str, Any]]]) -> dict[str, str]:
    """Article → predicted story; duplicates follow their original, dead letters stand alone."""
    story = {a["article"]["id"]: a["story_id"] for a in outputs["assignments"]}
    pending = {d["article"]["id"]: d["duplicate_of"] for d in outputs["duplicates"]}
    for item, original in pending.items():
        seen = {item}
        while original in pending and original not in seen:  # a copy of a copy
            seen.add(original)
            original = pending[original]
        story[item] = story.get(original, f"duplicate-of:{original}")
    for letter in outputs["dead_letters"]:
        story.setdefault(letter["item"], f"dead-letter:{letter['item']}")
    return story


def score(
    records: Sequence[LabelledRecord],
    outputs: dict[str, list[dict[str, Any]]],
    counters: dict[str, int],
    watched: Sequence[str],
) -> dict[str, Any]:
    stream = [r for r in records if r.role == "stream"]
    gold_story = {r.id: r.story for r in stream if r.story}
    gold_thread = {r.id: r.thread for r in stream if r.thread}
    predicted = predicted_stories(outputs)
    missing = sorted(set(gold_story) - set(predicted))
    if missing:
        raise RuntimeError(f"{len(missing)} stream articles have no outcome, e.g. {missing[:3]}")
    story_thread = {s["story_id"]: s["thread_id"] for s in outputs["stories"]}
    predicted_thread = {i: story_thread.get(s) or s for i, s in predicted.items()}
    language = languages_of({r.id: normalise_language(r.language) for r in stream}, outputs)
    return {
        "stream_articles": len(stream),
        "exemplars": sum(r.role == "exemplar" for r in records),
        "story_level": clustering_report(predicted, gold_story),
        "topic_level": clustering_report(predicted, gold_thread) if gold_thread else None,
        "thread_level": clustering_report(predicted_thread, gold_thread) if gold_thread else None,
        "merged_events": merged_events(predicted, gold_story, gold_thread) if gold_thread else None,
        "languages": per_language(language, outputs),
        "cross_lingual": cross_lingual_recall(predicted, gold_story, language),
        "cross_language_duplicates": cross_language_duplicates(language, outputs),
        "tracking": tracking_report(predicted_thread, gold_thread, watched),
        "alerts": {
            "per_thread": alert_report(
                outputs["alerts"], _stream_order(records), gold_story, gold_thread, watched
            ),
            "emergent_thread_alerts": sum(
                a["thread"]["kind"] == "emergent" for a in outputs["alerts"]
            ),
        },
        "counts": {
            "read": counters.get("items_read", 0),
            "clustered": counters.get("articles_clustered", 0),
            "duplicates": counters.get("duplicates", 0),
            "dead_letters": counters.get("dead_letters", 0),
            "stories": len(outputs["stories"]),
            "emergent_threads": len(outputs["threads"]),
        },
    }


def run_eval(run: EvalRun, flags: Sequence[str], handler: Any = None) -> dict[str, Any]:
    records = read_stream(run.stream)
    config_threads = load_threads(run.threads) if run.threads else []
    stream_threads = exemplar_threads(records)
    clash = {t.id for t in config_threads} & {t.id for t in stream_threads}
    if clash:
        raise ConfigError(
            run.stream,
            f"exemplars name thread(s) also in the watchlist: {', '.join(sorted(clash))}",
        )
    job = Job(
        source=None,
        threads=tuple(config_threads) + tuple(stream_threads),
        settings=load_settings(run.settings),
        output=run.output,
        progress_address=run.progress_address,
        feedback=tuple(load_feedback(run.feedback)),
    )
    documents = [document(r, run.stream) for r in records]
    pipeline = beam.Pipeline(options=PipelineOptions(list(flags)))
    docs = pipeline | "LabelledStream" >> beam.Create(documents)
    outputs = build_graph(pipeline, job, documents=docs, handler=handler)
    _ = outputs | "WriteOutputs" >> WriteOutputs(job.output)
    result = pipeline.run()
    result.wait_until_finish()
    folder = run.output.rstrip("/")
    files = {name: read_jsonl(f"{folder}/{filename}") for name, filename in OUTPUT_FILES.items()}
    report = score(records, files, counters_from_result(result), [t.id for t in job.threads])
    report["run"] = {
        "stream": run.stream,
        "threads": run.threads,
        "settings": run.settings,
        "clustering_settings": dataclasses.asdict(job.settings.clustering),
    }
    write_atomically(f"{folder}/eval.json", [json.dumps(report, indent=1, sort_keys=True)])
    return report


def format_report(report: dict[str, Any]) -> list[str]:
    lines = [f"stream articles: {report['stream_articles']}  exemplars: {report['exemplars']}"]
    for level in ("story_level", "topic_level", "thread_level"):
        block = report.get(level)
        if not block:
            continue
        pw, b3 = block["pairwise"], block["bcubed"]
        lines.append(
            f"{level:13} pairwise P {pw['precision']:.3f} R {pw['recall']:.3f} F1 {pw['f1']:.3f} | "
            f"BCubed P {b3['precision']:.3f} R {b3['recall']:.3f} F1 {b3['f1']:.3f} | "
            f"clusters {block['predicted_clusters']} (gold {block['gold_clusters']})"
        )
    merged = report.get("merged_events")
    if merged:
        lines.append(
            f"threads whose two events were merged: {merged['threads_with_merged_events']}"
            f" of {merged['threads']}"
        )
    per_thread = report["alerts"]["per_thread"]
    if per_thread:
        micro = micro_alerts(per_thread)
        lines.append(
            f"alerts on watched threads: {micro['alerts']}, correct {micro['correct']}, "
            f"precision {micro['precision']}, recall {micro['recall']} "
            f"(gold stories {micro['gold_stories']})"
        )
        for thread_id, r in sorted(per_thread.items())[:50]:
            lines.append(
                f"  {thread_id}: P {r['precision']} R {r['recall']} alerts {r['alerts']} "
                f"delay {r['delay_articles']['mean']}"
            )
    tracking = report.get("tracking")
    if tracking and tracking["gold"]:
        lines.append(
            f"watched-thread tracking (articles): {tracking['tracked']} tracked, correct "
            f"{tracking['correct']}, precision {tracking['precision']}, recall "
            f"{tracking['recall']} (gold articles {tracking['gold']})"
        )
    lines.extend(format_languages(report))
    counts = report["counts"]
    lines.append(
        f"read {counts['read']}, duplicates {counts['duplicates']}, "
        f"dead letters {counts['dead_letters']}, stories {counts['stories']}"
    )
    return lines


def format_languages(report: dict[str, Any]) -> list[str]:
    """Per-language lines and the cross-lingual figures (when the stream has two languages)."""
    languages = report.get("languages") or {}
    if len(languages) < 2:
        return []
    cross = report["cross_lingual"]
    lines = [
        f"cross-lingual pairs (one gold story, two languages): {cross['pairs']}, "
        f"in one story {cross['together']}, recall {cross['recall']}",
        "cross-language duplicates: "
        + (", ".join(f"{k} {v}" for k, v in report["cross_language_duplicates"].items()) or "0"),
        "per language: articles, clustered, duplicates, dead letters (by reason)",
    ]
    for lang, r in languages.items():
        dups = ", ".join(f"{k} {v}" for k, v in sorted(r["duplicates"].items()))
        dead = ", ".join(f"{k} {v}" for k, v in sorted(r["dead_letters"].items()))
        lines.append(
            f"  {lang:8} {r['articles']:5} {r['clustered']:5}  dup [{dups}]  dead [{dead}]"
        )
    return lines


def write_stream(path: str, records: Sequence[dict[str, Any]]) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, (json.dumps(r, ensure_ascii=False, sort_keys=True) for r in records))
