"""Golden files: end-to-end results produced by the code, reviewed, then pinned."""

import json
import math
from pathlib import Path
from typing import Any

from tests.support import REPO, RunResult

GOLDEN = REPO / "tests" / "golden"


def normalise(result: RunResult) -> dict[str, Any]:
    """What must not change: machine-specific paths replaced by file names."""

    def strip(record: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = json.loads(json.dumps(record))
        for holder in (out.get("article"), out):
            if isinstance(holder, dict) and str(holder.get("url", "")).startswith("file://"):
                holder["url"] = "file://…/" + holder["url"].rsplit("/", 1)[-1]
        return out

    return {
        "alerts": [strip(a) for a in result.outputs["alerts"]],
        "stories": [strip(s) for s in result.outputs["stories"]],
        "assignments": [strip(a) for a in result.outputs["assignments"]],
        "duplicates": [strip(d) for d in result.outputs["duplicates"]],
        "threads": result.outputs["threads"],
        "dead_letters": result.outputs["dead_letters"],
    }


def check(name: str, description: str, expect: str, result: RunResult, update: bool) -> None:
    """Compares with ``tests/golden/<name>.json``; ``--update-golden`` rewrites it."""
    path = GOLDEN / f"{name}.json"
    actual = {"Description": description, "Expect": expect, **normalise(result)}
    if update:
        path.write_text(json.dumps(actual, indent=1, ensure_ascii=False, sort_keys=False) + "\n")
    expected = json.loads(Path(path).read_text())
    for key in expected:
        if key not in ("Description", "Expect"):
            assert same(actual[key], expected[key]), (
                f"{path}: {key} differs; rerun with --update-golden only if the change is intended"
            )


def same(actual: Any, expected: Any) -> bool:
    """Equality, except that scores may differ in the last digits between CPUs."""
    if isinstance(expected, float) and isinstance(actual, float | int):
        return math.isclose(actual, expected, abs_tol=2e-3)
    if isinstance(expected, dict) and isinstance(actual, dict):
        return expected.keys() == actual.keys() and all(
            same(actual[k], expected[k]) for k in expected
        )
    if isinstance(expected, list) and isinstance(actual, list):
        return len(expected) == len(actual) and all(
            same(a, e) for a, e in zip(actual, expected, strict=True)
        )
    return bool(actual == expected)


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((GOLDEN / f"{name}.json").read_text())
    return data
