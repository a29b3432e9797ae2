"""Exactly-once alerts across crashes: the real CLI, killed with SIGKILL, restarted.

Each run is a real ``threadwatch run`` process over a few hundred ECB+
articles (with emergent threads, so a clean run alerts dozens of times) and
one ``--state``; each gets its own output folder, so an alert written by a
killed run and written again by its restart would show up twice. The kill
times come from a fixed seed, spread over the run with most of them in its
last third, where the outputs are written and the state committed. The
embedding model is the packaged one, exported to ONNX int8 once for the
module (a process starts in a few seconds instead of fifteen).
"""

import collections
import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from pipeline.evaluation.ecbplus import detokenize
from tests.support import REPO, SETTINGS, read_jsonl
from transforms.clustering.state_store import StateStore, staging_folders
from transforms.embedding.onnx_export import export_onnx

ECBPLUS = REPO / "tests" / "fixtures" / "ecbplus" / "docs.jsonl"
ARTICLES = 200
KILLS = 20
SEED = 20261203


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the input (one .jsonl), an ONNX int8 model and settings using it."""
    root = tmp_path_factory.mktemp("crash")
    export_onnx(str(root / "model"), int8=True)
    settings = yaml.safe_load(Path(SETTINGS).read_text())
    # One article per batch: int8 vectors move with the batch they are padded into
    # (up to 0.07 in cosine), and Beam sizes batches by timing, so a clean run and a
    # restarted one could decide differently. Alone, an article always embeds the same.
    settings["embedding"].update(
        {
            "backend": "onnx",
            "onnx_model": str(root / "model"),
            "min_batch_size": 1,
            "max_batch_size": 1,
        }
    )
    (root / "settings.yaml").write_text(yaml.safe_dump(settings))
    records = [json.loads(line) for line in ECBPLUS.read_text().splitlines()]
    records.sort(key=lambda r: r["doc"])
    (root / "in").mkdir()
    (root / "exemplars").mkdir()
    threads: dict[int, dict[str, object]] = {}
    with (root / "in" / "articles.jsonl").open("w") as out:
        for i, record in enumerate(records[:ARTICLES]):
            title, _, body = detokenize(record["text"]).partition("\n")
            if record["topic"] not in threads:  # a topic's first article defines its thread
                exemplar = root / "exemplars" / f"{record['topic']}.txt"
                exemplar.write_text(f"{title}\n\n{body[:800]}")
                threads[record["topic"]] = {
                    "id": f"topic-{record['topic']}",
                    "title": f"ECB+ topic {record['topic']}",
                    "description": title,
                    "exemplars": [str(exemplar)],
                }
                continue
            item = {
                "id": record["doc"],
                "title": title[:200],
                "text": body[:800] or title,
                "published": f"2024-01-01T{i // 60:02d}:{i % 60:02d}:00Z",
            }
            out.write(json.dumps(item) + "\n")
    (root / "threads.yaml").write_text(yaml.safe_dump({"threads": list(threads.values())}))
    return root


def _command(root: Path, output: Path, state: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "pipeline.cli",
        "run",
        "--source",
        str(root / "in"),
        "--threads",
        str(root / "threads.yaml"),
        "--settings",
        str(root / "settings.yaml"),
        "--output",
        str(output),
        "--state",
        str(state),
    ]


def _alert_ids(folder: Path) -> list[str]:
    path = folder / "alerts.jsonl"
    return [a["alert_id"] for a in read_jsonl(path)] if path.exists() else []


def _phase(returncode: int, output: Path, committed: bool) -> str:
    if returncode == 0:
        return "finished"
    if committed:
        return "killed after the commit"
    if staging_folders(str(output)):
        return "killed while writing outputs"
    return "killed before any output"


def test_sigkill_at_random_points_loses_and_repeats_no_alert(workspace: Path) -> None:
    started = time.monotonic()
    clean = subprocess.run(
        _command(workspace, workspace / "clean", workspace / "clean-state.json"),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    duration = time.monotonic() - started
    assert clean.returncode == 0, clean.stderr[-2000:]
    expected = _alert_ids(workspace / "clean")
    assert len(expected) >= 5, "the stream must alert often enough to test anything"

    state = workspace / "state.json"
    rng = random.Random(SEED)
    killed = 0
    runs: list[Path] = []
    phases: list[str] = []
    last_seq = 0
    while killed < KILLS:
        output = workspace / "runs" / f"{len(runs):03d}"
        runs.append(output)
        process = subprocess.Popen(
            _command(workspace, output, state),
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        # A third of the kills anywhere in the run, the rest in its last third.
        fraction = rng.uniform(0.05, 1.0) if rng.random() < 1 / 3 else rng.uniform(0.66, 1.05)
        try:
            process.wait(timeout=fraction * duration)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=60)
            killed += 1
        assert process.returncode in (0, -signal.SIGKILL), process.returncode
        seq = StateStore(str(state)).load().seq if state.exists() else 0  # always loads
        phases.append(_phase(process.returncode, output, seq > last_seq))
        last_seq = seq
    final = workspace / "runs" / "final"
    runs.append(final)
    done = subprocess.run(
        _command(workspace, final, state), cwd=REPO, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-2000:]

    print("where the runs ended:", dict(collections.Counter(phases)))
    delivered = [alert_id for run in runs for alert_id in _alert_ids(run)]
    assert len(delivered) == len(set(delivered)), "an alert was delivered twice"
    assert sorted(delivered) == sorted(expected)
    assert not staging_folders(str(final))
