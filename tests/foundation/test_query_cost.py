"""The static query cost (graphql_runtime/query_cost.py), table-tested on validated documents whose cost
was counted by hand (the number of objects each may return; the rule is in the module and the
README's "Partner API" section)."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import parse, validate

from domain.errors import BadInput
from graphql_runtime import query_cost
from graphql_runtime.query_cost import DEFAULT_PAGE, MAX_PAGE
from resolvers.root import schema

NODE_IDS = "edges { node { id } }"
THREE_DEEP = (
    "{ videos(first: 100) { edges { node { owner { videos(first: 100) { edges { node { owner {"
    " videos(first: 100) { edges { node { id } } } } } } } } } } } }"
)

# (document, variables, operation name, cost counted by hand: how)
TABLE: list[tuple[str, dict[str, Any] | None, str | None, int]] = [
    # 1. no object at all: the floor
    ("{ __typename }", None, None, 1),
    # 2. one object, scalars free
    ("{ me { id username email } }", None, None, 1),
    # 3. me 1 + the connection 1 (totalCount is a scalar)
    ("{ me { id videos { totalCount } } }", None, None, 2),
    # 4. connection 1 + 20 edges + 20 nodes
    ("{ videos(first: 20) { edges { node { id title } } } }", None, None, 41),
    # 5. the benchmark's page: + 20 owners
    (
        "query Page { videos(first: 20) { edges { node { id title status duration createdAt"
        " processingProgress owner { username } } } } }",
        None,
        None,
        61,
    ),
    # 6. no `first`: the argument's default (20)
    (f"{{ videos {{ {NODE_IDS} }} }}", None, None, 41),
    # 7. pageInfo is not multiplied: 1 + pageInfo 1 + 100 edges + 100 nodes
    (
        "{ videos(first: 100) { totalCount pageInfo { hasNextPage } edges { cursor node { id } } } }",
        None,
        None,
        202,
    ),
    # 8. a variable: 1 + 5 + 5
    (f"query($n: Int) {{ videos(first: $n) {{ {NODE_IDS} }} }}", {"n": 5}, None, 11),
    # 9. the variable not given: the default page (20)
    (f"query($n: Int) {{ videos(first: $n) {{ {NODE_IDS} }} }}", {}, None, 41),
    # 10. the variable null: the default page too
    (f"query($n: Int) {{ videos(first: $n) {{ {NODE_IDS} }} }}", {"n": None}, None, 41),
    # 11. nested: me 1, videos 1, 10 edges, 10 nodes, 10 owners, 10 inner connections,
    #     100 inner edges, 100 inner nodes
    (
        "{ me { videos(first: 10) { edges { node { owner { videos(first: 10) { edges { node { id } } }"
        " } } } } } }",
        None,
        None,
        242,
    ),
    # 12. first: 100 nested three times: 1 + 3*100 + 100 + 3*10,000 + 10,000 + 2*1,000,000
    (THREE_DEEP, None, None, 2_040_401),
    # 13. named fragments count where they are spread: 1 + 5 edges + 5 nodes + 5 owners
    (
        "query { videos(first: 5) { ...Page } } fragment Page on VideoConnection { edges { node { ...V } } }"
        " fragment V on Video { id owner { id } }",
        None,
        None,
        16,
    ),
    # 14. inline fragment on an interface: node 1 + owner 1 + publications (a list without
    #     `first`: 1) + their video 1
    (
        '{ node(id: "x") { id ... on Video { owner { id } publications { id video { id } } } } }',
        None,
        None,
        4,
    ),
    # 15. a mutation: the video 1 + its owner 1 + its stages (list without `first`) 1
    ('mutation { cancelVideo(id: "x") { id owner { id } stages { status } } }', None, None, 3),
    # 16. a plain list with `first`: auditLog's default (50) objects
    ("{ auditLog { id action } }", None, None, 50),
    # 17. not a connection: no bound of 100, 200 objects
    ("{ auditLog(first: 200) { id } }", None, None, 200),
    # 18. introspection: __schema 1, queryType 1, types 1, fields 1
    ("{ __schema { queryType { name } types { name fields { name } } } }", None, None, 4),
    # 19. aliases count apart: (1 + 3 + 3) + (1 + 4 + 4)
    (f"{{ a: videos(first: 3) {{ {NODE_IDS} }} b: videos(first: 4) {{ {NODE_IDS} }} }}", None, None, 16),
    # 20. the named operation of a document with several: 1 + 2 + 2
    (f"query A {{ me {{ id }} }} query B {{ videos(first: 2) {{ {NODE_IDS} }} }}", None, "B", 5),
    # 21. another connection, its own default (20), pageInfo once: 1 + 20 + 20 + 1
    ("{ aiGenerations { edges { node { id } } pageInfo { endCursor } } }", None, None, 42),
]


def _cost(document: str, variables: dict[str, Any] | None, name: str | None) -> int:
    ast = parse(document)
    assert validate(schema._schema, ast) == [], document  # costs are of validated documents
    plan = query_cost.plan(schema._schema, ast, name, default_page=DEFAULT_PAGE, max_page=MAX_PAGE)
    assert plan is not None
    return query_cost.evaluate(plan, variables)


@pytest.mark.parametrize(("document", "variables", "name", "expected"), TABLE)
def test_costs_counted_by_hand(document: str, variables: Any, name: Any, expected: int) -> None:
    assert _cost(document, variables, name) == expected


def test_the_table_has_twenty_cases_or_more() -> None:
    assert len({(d, repr(v), n) for d, v, n, _ in TABLE}) >= 20


@pytest.mark.parametrize(
    ("document", "variables"),
    [
        ("{ videos(first: 101) { edges { node { id } } } }", None),
        ("{ videos(first: -1) { edges { node { id } } } }", None),
        ("query($n: Int) { videos(first: $n) { edges { node { id } } } }", {"n": 500}),
        ("{ me { videos(first: 1000) { totalCount } } }", None),
    ],
)
def test_a_connection_page_over_100_is_bad_user_input(document: str, variables: Any) -> None:
    with pytest.raises(BadInput) as refused:
        _cost(document, variables, None)
    assert refused.value.code == "BAD_USER_INPUT"
    assert refused.value.extensions == {"field": "first", "maxPage": 100}


def test_a_document_without_variables_is_costed_once() -> None:
    ast = parse(THREE_DEEP)
    plan = query_cost.plan(schema._schema, ast, None, default_page=DEFAULT_PAGE, max_page=MAX_PAGE)
    assert plan is not None and plan.constant == 2_040_401  # no walk per request
    variable = parse("query($n: Int) { videos(first: $n) { edges { node { id } } } }")
    plan = query_cost.plan(schema._schema, variable, None, default_page=DEFAULT_PAGE, max_page=MAX_PAGE)
    assert plan is not None and plan.constant is None  # the variables applied per request


def test_returned_counts_the_objects_of_a_result() -> None:
    data = {
        "videos": {
            "pageInfo": {"hasNextPage": False},
            "edges": [
                {"node": {"id": "1", "owner": {"username": "a"}}},
                {"node": {"id": "2", "owner": None}},
            ],
        }
    }
    # videos 1 + pageInfo 1 + 2 edges + 2 nodes + 1 owner
    assert query_cost.returned(data) == 7
    assert query_cost.returned({"__typename": "Query"}) == 1
    assert query_cost.returned(None) == 0
