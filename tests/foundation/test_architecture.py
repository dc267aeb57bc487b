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
    found = set()
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
