"""Each distinct document is parsed and validated once per process, not once per request.

This replaces strawberry's ParserCache, ValidationCache and the three limiters (depth,
aliases, tokens): their rules are built once with the schema, and the document and its
validation errors are kept together in one LRU keyed by the document text. Persisted queries
reach the same entry once their hash has been turned into the text. Documents that do not parse
are not cached: strawberry parses them again and reports the syntax error itself."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from graphql import DocumentNode, GraphQLError, parse
from graphql.validation import ASTValidationRule
from strawberry.extensions.max_aliases import create_validator as aliases_validator
from strawberry.extensions.query_depth_limiter import create_validator as depth_validator
from strawberry.schema.schema import validate_document
from strawberry.types import ExecutionContext


@dataclass(frozen=True)
class Limits:
    max_depth: int = 12
    max_tokens: int = 2000
    max_aliases: int = 50


@dataclass
class _Entry:
    document: DocumentNode
    errors: list[GraphQLError] | None = None
    """None until validated: validation runs once, on the first request that needs it."""
    plans: dict[str | None, Any] = field(default_factory=dict)
    """Cost plans by operation name (graphql_runtime/operation_cost.py): made once, variables
    applied per request."""


class DocumentStore:
    """A bounded LRU of parsed (and validated) documents, with hit/miss counters for tests.

    Bounded by entries and by the characters of the documents it holds: every cached document
    is a tree of AST objects that each garbage collection walks, and any client can send
    documents. Documents over `max_chars` are parsed every time; documents that fail
    validation are not kept."""

    def __init__(
        self, limits: Limits, maxsize: int = 256, max_chars: int = 16_384, total_chars: int = 131_072
    ) -> None:
        self.limits = limits
        self.maxsize = maxsize
        self.max_chars = max_chars
        self.total_chars = total_chars
        self._chars = 0
        self.rules: tuple[type[ASTValidationRule], ...] = (
            depth_validator(limits.max_depth, None, None),
            aliases_validator(limits.max_aliases),
        )
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self.parses = 0
        self.validations = 0

    def get(self, query: str) -> _Entry | None:
        entry = self._entries.get(query)
        if entry is not None:
            self._entries.move_to_end(query)
            return entry
        try:
            document = parse(query, max_tokens=self.limits.max_tokens)
        except GraphQLError:
            return None
        self.parses += 1
        entry = _Entry(document)
        if len(query) <= self.max_chars:
            self._entries[query] = entry
            self._chars += len(query)
            while len(self._entries) > self.maxsize or self._chars > self.total_chars:
                old, _ = self._entries.popitem(last=False)
                self._chars -= len(old)
        return entry

    def forget(self, query: str) -> None:
        if self._entries.pop(query, None) is not None:
            self._chars -= len(query)

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        self._entries.clear()
        self._chars = 0


def prepare(ec: ExecutionContext, store: DocumentStore) -> None:
    """The limits, for documents strawberry parses and validates itself (uncached ones)."""
    ec.parse_options["max_tokens"] = store.limits.max_tokens
    ec.validation_rules = (*ec.validation_rules, *store.rules)


def parsed(ec: ExecutionContext, store: DocumentStore) -> _Entry | None:
    """On parse: the cached document (or None: strawberry parses, and reports the error)."""
    if ec.graphql_document is not None or not ec.query:
        return None
    entry = store.get(ec.query)
    if entry is not None:
        ec.graphql_document = entry.document
    return entry


def validated(ec: ExecutionContext, store: DocumentStore, entry: _Entry | None) -> None:
    """On validation: the cached verdict (validated once); documents not cached are validated
    here too, so the verdict is known before the operation's cost is (graphql_runtime/operation.py)."""
    if entry is None or entry.document is not ec.graphql_document:
        if ec.graphql_document is not None and ec.pre_execution_errors is None:
            ec.pre_execution_errors = validate_document(
                ec.schema._schema, ec.graphql_document, ec.validation_rules
            )
        return
    if entry.errors is None:
        store.validations += 1
        entry.errors = validate_document(ec.schema._schema, entry.document, ec.validation_rules)
        if entry.errors and ec.query:
            store.forget(ec.query)  # invalid documents do not take the cache's room
    ec.pre_execution_errors = list(entry.errors)
