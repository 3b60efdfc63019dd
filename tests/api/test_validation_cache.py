"""Validation results kept by document identity answer what validating again would."""

from __future__ import annotations

from graphql import parse, specified_rules
from strawberry.extensions import QueryDepthLimiter

from schema import build_schema
from schema.validation_cache import ValidationResults

SCHEMA = build_schema()
DEEP = "{ viewer { sellerId } }"
BAD = "{ viewer { noSuchField } }"
RULES = tuple(specified_rules)


def test_a_document_is_validated_once_and_answers_the_same_each_time() -> None:
    results = ValidationResults(maxsize=8)
    document = parse(BAD)
    first = results.validate(SCHEMA._schema, document, RULES)
    again = results.validate(SCHEMA._schema, document, RULES)
    assert [e.message for e in first] == [e.message for e in again]
    assert first and "noSuchField" in first[0].message
    assert len(results) == 1


def test_other_rules_validate_the_same_document_again() -> None:
    results = ValidationResults(maxsize=8)
    document = parse(DEEP)
    shallow = (*RULES, *QueryDepthLimiter(max_depth=0).validation_rules)
    assert results.validate(SCHEMA._schema, document, RULES) == []
    refused = results.validate(SCHEMA._schema, document, shallow)
    assert refused and "exceeds maximum operation depth" in refused[0].message


def test_the_same_text_parsed_again_is_its_own_document() -> None:
    results = ValidationResults(maxsize=8)
    assert results.validate(SCHEMA._schema, parse(BAD), RULES)
    assert results.validate(SCHEMA._schema, parse(BAD), RULES)
    assert len(results) == 2


def test_the_least_recently_used_documents_go_first() -> None:
    results = ValidationResults(maxsize=2)
    documents = [parse(DEEP) for _ in range(3)]
    for document in documents:
        results.validate(SCHEMA._schema, document, RULES)
    assert len(results) == 2


async def test_the_gateway_schema_refuses_an_invalid_query_every_time() -> None:
    for _ in range(2):
        result = await SCHEMA.execute(BAD)
        assert result.errors and "noSuchField" in result.errors[0].message
