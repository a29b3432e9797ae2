"""The house rules of the layout (docs/architecture.md), checked on the source.

Imports flow from ``pipeline`` to ``transforms`` and, inside ``transforms``,
towards ``core``; no module imports itself back through another; no module
is longer than 400 lines; importing a module registers nothing.
"""

import ast
import subprocess
import sys
from pathlib import Path

from tests.support import REPO

#: A subpackage of ``transforms`` may import the ones ranked lower only.
RANK = {"core": 0, "text": 1, "embedding": 1, "sources": 2, "clustering": 2, "sinks": 3}
MAX_LINES = 400


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for top in ("pipeline", "transforms"):
        for path in sorted((REPO / top).rglob("*.py")):
            name = ".".join(path.relative_to(REPO).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


def _imports(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Module → the project modules it imports anywhere in its body (lazy imports too)."""

    def resolve(target: str) -> str | None:
        while target and target not in modules:
            target = target.rpartition(".")[0]
        return target or None

    edges: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets: list[str] = []
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets.extend(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                subs = [f"{node.module}.{a.name}" for a in node.names]
                targets.extend(t if t in modules else node.module for t in subs)
        edges[name] = {r for t in targets if (r := resolve(t)) is not None and r != name}
    return edges


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycle() -> None:
    assert _cycles(_imports(_modules())) == []


def _wrong_direction(edges: dict[str, set[str]]) -> list[str]:
    wrong = []
    for source, targets in sorted(edges.items()):
        for target in sorted(targets):
            a, b = source.split(".")[:2], target.split(".")[:2]
            upward = a[0] == "transforms" and b[0] == "pipeline"
            inside = a[0] == b[0] == "transforms" and len(a) == len(b) == 2 and a[1] != b[1]
            if upward or (inside and RANK.get(b[1], 0) >= RANK.get(a[1], 0)):
                wrong.append(f"{source} -> {target}")
    return wrong


def test_imports_flow_towards_core() -> None:
    assert _wrong_direction(_imports(_modules())) == []


def test_modules_are_small() -> None:
    long = {
        name: n
        for name, path in _modules().items()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}


def test_the_checks_see_a_cycle_and_a_wrong_direction() -> None:
    edges = {"transforms.core.a": {"transforms.text.b"}, "transforms.text.b": {"transforms.core.a"}}
    assert _cycles(edges) == [["transforms.core.a", "transforms.text.b"]]
    assert _wrong_direction(edges) == ["transforms.core.a -> transforms.text.b"]
    assert _wrong_direction({"transforms.text.b": {"pipeline.graph"}}) == [
        "transforms.text.b -> pipeline.graph"
    ]


def test_importing_registers_no_coder() -> None:
    """The coder registry changes only through ``transforms.core.setup.register()``:
    not when the modules that use the coder are imported."""
    code = (
        "from apache_beam.coders.typecoders import registry\n"
        "import transforms.clustering.cluster, transforms.clustering.state_store\n"
        "from transforms.core.records import EmbeddedArticle\n"
        "print(type(registry.get_coder(EmbeddedArticle)).__name__)\n"
        "from transforms.core.setup import register\n"
        "register()\n"
        "print(type(registry.get_coder(EmbeddedArticle)).__name__)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    before, after = result.stdout.split()
    assert before != "EmbeddedArticleCoder"
    assert after == "EmbeddedArticleCoder"
