"""Dependencies point one way: app → resolvers → schema → graphql_runtime → domain → persistence;
jobs → domain; providers and media are leaves. graphql_runtime is the GraphQL plumbing (endpoint,
context, unit of work, loaders, caches, errors), kept apart from the types in schema/.
Imports under `if TYPE_CHECKING:` are only for annotations."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.live import ROOT

FACE = {"app", "resolvers", "schema", "graphql_runtime"}

FORBIDDEN = {
    "providers": FACE | {"domain", "persistence", "jobs", "runtime"},
    "media": FACE | {"domain", "persistence", "jobs", "runtime", "providers"},
    "persistence": FACE | {"domain", "jobs", "providers", "media"},
    "domain": FACE | {"jobs", "strawberry", "graphql", "starlette"},
    "graphql_runtime": {"app", "resolvers", "schema", "jobs"},
    "schema": {"app", "resolvers", "jobs"},
    "jobs": FACE,
}


def runtime_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_dependencies_point_one_way(package):
    broken = []
    for path in sorted((ROOT / package).rglob("*.py")):
        bad = runtime_imports(path) & FORBIDDEN[package]
        if bad:
            broken.append(f"{path.relative_to(ROOT)} imports {sorted(bad)}")
    assert not broken, "\n".join(broken)


def test_the_checker_sees_imports_and_skips_annotation_only_ones(tmp_path):
    sample = tmp_path / "m.py"
    sample.write_text(
        "from typing import TYPE_CHECKING\nimport domain.video\nfrom persistence import db\n"
        "if TYPE_CHECKING:\n    from runtime.settings import Settings\n"
        "def f():\n    from jobs import video\n"
    )
    assert runtime_imports(sample) == {"typing", "domain", "persistence", "jobs"}


LAYERS = (
    "app",
    "graphql_runtime",
    "schema",
    "resolvers",
    "domain",
    "jobs",
    "persistence",
    "providers",
    "media",
)


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _module_level(tree: ast.Module) -> list[ast.AST]:
    """Nodes that run when the module is imported: not inside functions, not under TYPE_CHECKING."""
    out: list[ast.AST] = []
    todo: list[ast.AST] = list(tree.body)
    while todo:
        node = todo.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            continue
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            todo.extend(node.orelse)
            continue
        out.append(node)
        todo.extend(ast.iter_child_nodes(node))
    return out


def imported_modules(path: Path, known: set[str], root: Path = ROOT) -> set[str]:
    """Modules of `known` this file imports when it is imported (its functions' imports run later,
    and its own parent packages are loaded by any import of it)."""
    me = module_name(path, root)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    found: set[str] = set()
    for node in _module_level(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name in known)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            submodules = {f"{base}.{a.name}" for a in node.names} & known
            found.update(submodules)
            if base in known and len(submodules) < len(node.names):
                found.add(base)
    parents = {".".join(me.split(".")[:i]) for i in range(1, me.count(".") + 1)}
    return found - parents - {me}


def cycles_in(package: str, root: Path = ROOT) -> list[list[str]]:
    paths = {module_name(p, root): p for p in sorted((root / package).rglob("*.py"))}
    known = set(paths)
    graph = {m: imported_modules(p, known, root) for m, p in paths.items()}
    found: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for n in sorted(graph[m]):
            if state.get(n) == 1:
                found.append([*stack[stack.index(n) :], n])
            elif n not in state:
                visit(n)
        stack.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)
    return found


@pytest.mark.parametrize("package", [p for p in LAYERS if (ROOT / p).is_dir()])
def test_no_import_cycles_inside_a_layer(package):
    """No module of a layer needs itself, through the others, to be imported: the layer reads
    top-down. (Imports inside functions are not counted; mutual GraphQL types use strawberry.lazy.)"""
    assert not cycles_in(package), "\n".join(" -> ".join(c) for c in cycles_in(package))


def commits_in(path: Path) -> list[int]:
    tree = ast.parse(path.read_text(), filename=str(path))
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "commit"
    ]


def repositories_in(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    return [
        a.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("persistence")
        for a in node.names
        if a.name.endswith("Repository")
    ]


def test_the_domain_never_commits():
    """One transaction per request or job, committed by the caller; the domain's own separate
    transactions go through domain/transactions.py (which commits by leaving session.begin())."""
    calls = [
        f"{p.relative_to(ROOT)}:{n}" for p in sorted((ROOT / "domain").rglob("*.py")) for n in commits_in(p)
    ]
    assert not calls, "commit() in the domain: " + ", ".join(calls)


@pytest.mark.parametrize("package", ["schema", "jobs"])
def test_types_and_jobs_reach_no_repository(package):
    """The GraphQL types and the jobs go through the domain, never to a repository directly."""
    reached = [
        f"{p.relative_to(ROOT)}: {r}"
        for p in sorted((ROOT / package).rglob("*.py"))
        for r in repositories_in(p)
    ]
    assert not reached, "\n".join(reached)


def test_the_commit_and_repository_checkers_see_them(tmp_path):
    sample = tmp_path / "m.py"
    sample.write_text(
        "from persistence.video import Video, VideoRepository\n"
        "async def f(session):\n    await session.commit()\n"
    )
    assert commits_in(sample) == [3]
    assert repositories_in(sample) == ["VideoRepository"]


def test_the_cycle_checker_sees_module_level_and_relative_imports(tmp_path):
    layer = tmp_path / "layer"
    (layer / "sub").mkdir(parents=True)
    (layer / "__init__.py").write_text("")
    (layer / "a.py").write_text("from layer import b\n")
    (layer / "b.py").write_text("from typing import TYPE_CHECKING\nfrom . import a\n")
    (layer / "c.py").write_text("def f():\n    from layer import d\n")
    (layer / "d.py").write_text("from layer import c\nif TYPE_CHECKING:\n    from layer import a\n")
    (layer / "sub" / "__init__.py").write_text("from layer.sub import e\n")
    (layer / "sub" / "e.py").write_text("from layer.sub import f\n")
    (layer / "sub" / "f.py").write_text("from . import e\n")
    assert cycles_in("layer", tmp_path) == [
        ["layer.a", "layer.b", "layer.a"],
        ["layer.sub.e", "layer.sub.f", "layer.sub.e"],
    ]
