"""Queries compiled once (qualitymonth.compiled): the same objects as the ORM's, each time with
the value given, and the SQL built only the first time."""

from unittest import mock

import pytest
from django.db.models import Value

from accounts.models import PersonalToken
from accounts.services import token_create
from qualitymonth.compiled import CompiledQuery
from tests import factories

pytestmark = pytest.mark.django_db


def tokens_by_hash(key_hash):
    return (
        PersonalToken.objects.select_related("user")
        .annotate(label=Value("annotated"))
        .filter(key_hash=key_hash)
        .order_by("pk")[:1]
    )


def test_a_compiled_query_finds_what_the_orm_finds_for_each_value():
    compiled = CompiledQuery(tokens_by_hash)
    alice, bob = factories.UserFactory(), factories.UserFactory()
    _a, key_a = token_create(user=alice, name="a")
    _b, key_b = token_create(user=bob, name="b")

    for user, key in ((alice, key_a), (bob, key_b)):
        found = compiled.first(PersonalToken.hash_key(key))
        expected = tokens_by_hash(PersonalToken.hash_key(key)).get()
        assert found == expected and found.user == user
        assert found.user.email == user.email and found.label == "annotated"
        assert PersonalToken.user.field.is_cached(found)  # select_related: no second query
    assert compiled.first(PersonalToken.hash_key("no such key")) is None


def test_the_sql_is_built_once():
    compiled = CompiledQuery(tokens_by_hash)
    _t, key = token_create(user=factories.UserFactory(), name="k")
    from django.db.models.sql.compiler import SQLCompiler

    with mock.patch.object(
        SQLCompiler, "as_sql", autospec=True, side_effect=SQLCompiler.as_sql
    ) as built:
        for _n in range(3):
            assert compiled.first(PersonalToken.hash_key(key)) is not None
    assert built.call_count == 1
