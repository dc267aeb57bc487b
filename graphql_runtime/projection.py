"""What a query asks for below a field, so repositories select only those columns.

`selected(info, "edges", "node")` is the set of field names the client selected on the
connection's nodes, fragments and inline fragments flattened. A type maps each of its GraphQL
fields to the columns it needs; a field it does not know makes it load every column (new
fields are correct before they are fast)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField, Selection


def _fields(selections: Sequence[Selection]) -> Iterable[SelectedField]:
    for sel in selections:
        if isinstance(sel, SelectedField):
            yield sel
        elif isinstance(sel, (FragmentSpread, InlineFragment)):
            yield from _fields(sel.selections)


def selected(info: Any, *path: str) -> set[str]:
    """Field names selected at `path` below the current field (every alias of a path step
    is followed)."""
    level: list[Selection] = []
    for field in info.selected_fields:
        level.extend(field.selections)
    for step in path:
        level = [s for f in _fields(level) if f.name == step for s in f.selections]
    return {f.name for f in _fields(level)}


def columns_for(
    names: Iterable[str], mapping: Mapping[str, tuple[str, ...]], always: tuple[str, ...]
) -> tuple[str, ...] | None:
    """The columns these fields need, or None (all columns) when one of them is not mapped."""
    out = dict.fromkeys(always)
    for name in names:
        cols = mapping.get(name)
        if cols is None:
            return None
        out.update(dict.fromkeys(cols))
    return tuple(out)
