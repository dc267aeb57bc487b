"""NUL characters written into a document (`"a\\u0000b"`, `"\\u{0}"`) are refused at validation.

PostgreSQL text cannot hold U+0000, so such a string would fail deep in the database driver. The
request edge (graphql_runtime/request_limits.py) refuses NULs in JSON (variables, query text);
this rule covers the string literals of the document itself, naming the argument."""

from __future__ import annotations

from typing import Any

from graphql import ArgumentNode, GraphQLError, ObjectFieldNode, StringValueNode, ValidationRule


class NoNulCharacters(ValidationRule):
    def enter_string_value(
        self, node: StringValueNode, _key: Any, parent: Any, _path: Any, ancestors: Any
    ) -> None:
        if "\x00" not in node.value:
            return
        names = [a.name.value for a in [*ancestors, parent] if isinstance(a, ArgumentNode | ObjectFieldNode)]
        where = ".".join(names) or "a string literal"
        self.report_error(
            GraphQLError(
                f"Text may not contain NUL characters (\\u0000): {where}.",
                node,
                extensions={"code": "BAD_USER_INPUT", "field": where},
            )
        )
