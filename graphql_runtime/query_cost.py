"""The static cost of a GraphQL operation, computed from its validated document before it runs
(pure: a graphql-core document and schema in, a number out; graphql_runtime/operation_cost.py hooks it in).

The rule (the README's "Partner API" section states it for partners): the cost is the number of
objects the operation may return.
- a field whose type is an object, interface or union costs 1 (a list of them without `first`
  counts as 1 too); scalar and enum fields (and `__typename`) cost nothing;
- a connection (`…Connection` with `first`/`last`) costs 1, and its `edges` (or `nodes`) count
  `first` objects each, everything below them multiplied by `first` (the larger of `first` and
  `last` when both are given; the argument's default, else the server's default page size, when
  neither is); `pageInfo` is not multiplied;
- another list with a `first` argument (`auditLog`) counts `first` objects, everything below
  multiplied by it;
- nested pages multiply again;
- fragments (named and inline) count as if written in place, every type condition included;
  `@skip`/`@include` are ignored (the cost is an upper bound);
- an operation costs at least 1.

A connection's `first`/`last` outside 0..max_page is refused here (BAD_USER_INPUT, field
`first`/`last`, `maxPage`), so a huge page is refused before any SQL. Other lists with a `first`
argument (`auditLog`) multiply by it without that bound (their resolvers clamp).

The document's shape is turned into a plan once (`plan`), kept with the parsed document in the
document cache; `evaluate` applies a request's variables to it. `returned` counts what a result
actually holds, with the same rule (objects returned), for `extensions.cost.actual`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    is_composite_type,
)
from graphql.type.introspection import SchemaMetaFieldDef, TypeMetaFieldDef

from domain.errors import BadInput

MAX_PAGE = 100
"""A connection's largest page (`first`/`last`); schema/common.py's resolvers use the same."""
DEFAULT_PAGE = 20
"""Items of a connection's page when `first` is not given."""
PAGE_ARGUMENTS = ("first", "last")
CONNECTION_PAGES = ("edges", "nodes")

Page = int | str | None
"""A connection's page size: a literal, a variable's name, or None (not given)."""


@dataclass(frozen=True, slots=True)
class Node:
    name: str
    """The field's name (a connection's `edges`/`nodes` are its pages)."""
    counts: bool
    """An object-typed field (costs 1 times the multiplier in force)."""
    pages: tuple[tuple[str, Page], ...] | None
    """For a paged field: its `first`/`last` arguments as written (None for other fields)."""
    children: tuple[Node, ...]
    default: int | None = None
    """A paged field's page when `first`/`last` is not given (its argument's default)."""
    connection: bool = False
    """A Relay connection (`…Connection`): `first`/`last` must lie within 0..max_page."""


@dataclass(frozen=True, slots=True)
class Plan:
    nodes: tuple[Node, ...]
    constant: int | None
    """The cost when it depends on no variable (most documents): no walk per request."""
    default_page: int
    max_page: int


def plan(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    *,
    default_page: int,
    max_page: int,
) -> Plan | None:
    """The cost plan of the operation the request runs (None when there is no such operation:
    validation or execution reports that)."""
    operation = _operation(document, operation_name)
    if operation is None:
        return None
    root = {
        OperationType.QUERY: schema.query_type,
        OperationType.MUTATION: schema.mutation_type,
        OperationType.SUBSCRIPTION: schema.subscription_type,
    }[operation.operation]
    if root is None:
        return None
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    nodes = _selection(schema, root, operation.selection_set, fragments, is_root=True)
    constant = None
    if not _uses_variables(nodes):
        try:
            constant = max(1, _cost(nodes, 1, None, default_page=default_page, max_page=max_page))
        except BadInput:
            constant = None  # a literal page out of range: refused by every `evaluate`
    return Plan(nodes, constant, default_page, max_page)


def evaluate(query_plan: Plan, variables: Mapping[str, Any] | None) -> int:
    """The operation's cost with this request's variables; BAD_USER_INPUT for a page outside
    0..max_page."""
    if query_plan.constant is not None:
        return query_plan.constant
    total = _cost(
        query_plan.nodes,
        1,
        variables or {},
        default_page=query_plan.default_page,
        max_page=query_plan.max_page,
    )
    return max(1, total)


def returned(data: Any) -> int:
    """Objects in a result's data (the root excluded): what the operation actually returned."""
    if not isinstance(data, dict):
        return 0
    return max(1, _objects(data) - 1)


def _objects(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + sum(_objects(v) for v in value.values() if isinstance(v, (dict, list)))
    if isinstance(value, list):
        return sum(_objects(v) for v in value if isinstance(v, (dict, list)))
    return 0


def _operation(document: DocumentNode, name: str | None) -> OperationDefinitionNode | None:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name is None:
        return operations[0] if len(operations) == 1 else None
    for operation in operations:
        if operation.name is not None and operation.name.value == name:
            return operation
    return None


def _field_definition(schema: GraphQLSchema, parent: Any, name: str, is_root: bool) -> GraphQLField | None:
    if is_root and parent is schema.query_type:
        if name == "__schema":
            return SchemaMetaFieldDef
        if name == "__type":
            return TypeMetaFieldDef
    fields = getattr(parent, "fields", None)
    return fields.get(name) if fields is not None else None


def _selection(
    schema: GraphQLSchema,
    parent: Any,
    selection_set: SelectionSetNode | None,
    fragments: dict[str, FragmentDefinitionNode],
    *,
    is_root: bool = False,
) -> tuple[Node, ...]:
    if selection_set is None:
        return ()
    nodes: list[Node] = []
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            definition = _field_definition(schema, parent, selection.name.value, is_root)
            if definition is None:
                continue  # __typename (or a field validation refused)
            named = get_named_type(definition.type)
            if not is_composite_type(named):
                continue
            pages: tuple[tuple[str, Page], ...] | None = None
            default = None
            if any(arg in definition.args for arg in PAGE_ARGUMENTS):
                pages = tuple(_page(selection, arg) for arg in PAGE_ARGUMENTS if arg in definition.args)
                defaults = [definition.args[a].default_value for a in PAGE_ARGUMENTS if a in definition.args]
                default = next((d for d in defaults if isinstance(d, int) and not isinstance(d, bool)), None)
            children = _selection(schema, named, selection.selection_set, fragments)
            connection = named.name.endswith("Connection")
            nodes.append(Node(selection.name.value, True, pages, children, default, connection))
        elif isinstance(selection, InlineFragmentNode):
            condition = parent
            if selection.type_condition is not None:
                condition = schema.get_type(selection.type_condition.name.value) or parent
            nodes.extend(_selection(schema, condition, selection.selection_set, fragments, is_root=is_root))
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            if fragment is not None:
                condition = schema.get_type(fragment.type_condition.name.value) or parent
                nodes.extend(
                    _selection(schema, condition, fragment.selection_set, fragments, is_root=is_root)
                )
    return tuple(nodes)


def _page(field: FieldNode, name: str) -> tuple[str, Page]:
    for argument in field.arguments or ():
        if argument.name.value == name:
            value = argument.value
            if isinstance(value, IntValueNode):
                return name, int(value.value)
            if isinstance(value, VariableNode):
                return name, value.name.value
            return name, None  # null
    return name, None


def _uses_variables(nodes: tuple[Node, ...]) -> bool:
    for node in nodes:
        if node.pages and any(isinstance(v, str) for _, v in node.pages):
            return True
        if _uses_variables(node.children):
            return True
    return False


def _size(
    pages: tuple[tuple[str, Page], ...],
    variables: Mapping[str, Any] | None,
    default: int,
    max_page: int | None,
) -> int:
    sizes: list[int] = []
    for name, page in pages:
        value: Any = page
        if isinstance(page, str):
            value = variables.get(page) if variables is not None else None
        if value is None:
            continue
        if not isinstance(value, int) or isinstance(value, bool):
            continue  # not an Int: validation or coercion reports it
        if max_page is not None and not 0 <= value <= max_page:
            raise BadInput(f"`{name}` must be between 0 and {max_page}.", field=name, maxPage=max_page)
        sizes.append(max(value, 0))
    return max(sizes) if sizes else default


def _cost(
    nodes: tuple[Node, ...],
    multiplier: int,
    variables: Mapping[str, Any] | None,
    *,
    default_page: int,
    max_page: int,
) -> int:
    total = 0
    for node in nodes:
        if node.pages is None:
            total += multiplier if node.counts else 0
            total += _cost(node.children, multiplier, variables, default_page=default_page, max_page=max_page)
            continue
        default = default_page if node.default is None else node.default
        size = _size(node.pages, variables, default, max_page if node.connection else None)
        if node.connection:  # the connection itself, then `size` edges (or nodes) under it
            total += multiplier
            for child in node.children:
                inner = multiplier * size if child.name in CONNECTION_PAGES else multiplier
                total += _cost((child,), inner, variables, default_page=default_page, max_page=max_page)
        else:  # a list of `size` objects
            total += multiplier * size
            total += _cost(
                node.children, multiplier * size, variables, default_page=default_page, max_page=max_page
            )
    return total
