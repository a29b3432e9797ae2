"""What a managed runner needs: portable execution here, and an offline Dataflow translation."""

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import apache_beam as beam
import pytest

from pipeline.cli.common import pipeline_options
from pipeline.graph import Job, build
from tests import golden
from tests.support import REPO, read_jsonl

IMAGE = "europe-west1-docker.pkg.dev/threadwatch-demo/images/threadwatch:0.1.0"
DATAFLOW = [
    "--runner=DataflowRunner",
    "--dry_run=True",
    "--project=threadwatch-demo",
    "--region=europe-west1",
    "--temp_location=gs://threadwatch-demo-temp/tmp",
    f"--sdk_container_image={IMAGE}",
    "--output=gs://threadwatch-demo-out/run",
    f"--threads={REPO / 'config' / 'threads.yaml'}",
    f"--settings={REPO / 'config' / 'settings.yaml'}",
]
STREAMING = [
    "--streaming",
    "--source=",
    "--enable_streaming_engine",
    "--input_subscription=projects/threadwatch-demo/subscriptions/articles",
    "--alert_topic=projects/threadwatch-demo/topics/alerts",
    "--state=gs://threadwatch-demo-state/tracker.json",
]
# Coders Beam knows to encode equal keys to equal bytes on every worker.
DETERMINISTIC_KEY_CODERS = {
    "beam:coder:string_utf8:v1",
    "beam:coder:bytes:v1",
    "beam:coder:varint:v1",
    "beam:coder:bool:v1",
}


def _translate(flags: list[str]) -> Any:
    options = pipeline_options([*DATAFLOW, *flags])
    pipeline = beam.Pipeline(options=options)
    build(pipeline, Job.from_options(options))
    pipeline.run()  # dry run: translated for Dataflow, nothing submitted
    runner: Any = pipeline.runner  # the DataflowRunner keeps the translated proto
    return runner.proto_pipeline


def _keyed_inputs(proto: Any) -> list[tuple[str, str]]:
    """(transform, key coder urn) for every GroupByKey and stateful ParDo."""
    from apache_beam.portability.api import beam_runner_api_pb2

    found = []
    components = proto.components
    for transform in components.transforms.values():
        urn = transform.spec.urn
        keyed = urn == "beam:transform:group_by_key:v1"
        if urn == "beam:transform:pardo:v1":
            payload = beam_runner_api_pb2.ParDoPayload.FromString(transform.spec.payload)
            keyed = bool(payload.state_specs or payload.timer_family_specs)
        if not keyed:
            continue
        for pcoll in transform.inputs.values():
            coder = components.coders[components.pcollections[pcoll].coder_id]
            if coder.spec.urn == "beam:coder:kv:v1":
                key = components.coders[coder.component_coder_ids[0]]
                found.append((transform.unique_name, key.spec.urn))
    return found


@pytest.mark.parametrize(
    ("flags", "stages"),
    [
        (
            [],
            [
                "ReadSeedFolder",
                "ExtractText",
                "Fingerprint",
                "EmbedArticles",
                "ClusterStories",
                "WriteOutputs",
            ],
        ),
        (
            STREAMING,
            [
                "ReadArticleMessages",
                "ExtractText",
                "Fingerprint",
                "EmbedArticles",
                "ClusterStories",
                "WriteOutputs",
                "PublishAlerts",
            ],
        ),
    ],
    ids=["batch", "streaming"],
)
def test_dataflow_translation_offline(flags: list[str], stages: list[str]) -> None:
    proto = _translate(flags)
    top_level = {
        t.unique_name for t in proto.components.transforms.values() if "/" not in t.unique_name
    }
    assert set(stages) <= top_level
    keyed = _keyed_inputs(proto)
    assert any(name.startswith("ClusterStories/") for name, _ in keyed)
    assert all(urn in DETERMINISTIC_KEY_CODERS for _, urn in keyed), keyed
    images = [env.payload for env in proto.components.environments.values()]
    assert any(IMAGE.encode() in payload for payload in images)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def _service(args: list[str], log: Path) -> Iterator[None]:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
        try:
            yield
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)


def _wait_for(port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        time.sleep(0.2)
    raise RuntimeError(f"nothing listening on port {port}")


def test_portable_runner_with_separate_worker_processes(tmp_path: Path) -> None:
    """Beam's portability layer, as a remote runner drives it: pickled DoFns, coders,
    state and timers cross process boundaries to an external worker pool."""
    job_port, pool_port = _free_port(), _free_port()
    with (
        _service(
            ["apache_beam.runners.portability.local_job_service_main", "--port", str(job_port)],
            tmp_path / "job-service.log",
        ),
        # The pool starts SDK workers with the first `python` on PATH: this venv's.
        _service(
            ["apache_beam.runners.worker.worker_pool_main", "--service_port", str(pool_port)],
            tmp_path / "worker-pool.log",
        ),
    ):
        _wait_for(job_port)
        _wait_for(pool_port)
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pipeline.cli",
                "run",
                "--output",
                str(tmp_path / "out"),
                "--runner=PortableRunner",
                f"--job_endpoint=localhost:{job_port}",
                "--environment_type=EXTERNAL",
                f"--environment_config=localhost:{pool_port}",
            ],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
    assert done.returncode == 0, done.stderr[-3000:]
    expected = golden.load("seeds")
    alerts = read_jsonl(tmp_path / "out" / "alerts.jsonl")
    assert [a["alert_id"] for a in alerts] == [a["alert_id"] for a in expected["alerts"]]
    stories = read_jsonl(tmp_path / "out" / "stories.jsonl")
    assert sorted(s["article_ids"] for s in stories) == sorted(
        s["article_ids"] for s in expected["stories"]
    )
    assert json.loads(json.dumps(alerts[1]["evidence"]))["nearest_story"] is not None


def test_flex_template_parameters_are_run_flags() -> None:
    import re

    from pipeline.cli.common import check_flags

    metadata = json.loads((REPO / "deploy" / "metadata.json").read_text())
    for parameter in metadata["parameters"]:
        assert parameter["helpText"]
        for pattern in parameter.get("regexes", []):
            re.compile(pattern)
        check_flags([f"--{parameter['name']}=1"])  # raises on a flag `run` does not know
    done = subprocess.run(
        [sys.executable, str(REPO / "deploy" / "launch.py"), "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert done.returncode == 0 and "--input_subscription" in done.stdout
