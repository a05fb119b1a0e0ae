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


# --- statements prepared on the server (fetch_one_prepared) ---------------------------------------

PROBE = "SELECT %s::int + 1 AS next_number /* fetch_one_prepared probe */"


def _prepared(fragment: str) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
            [f"%{fragment}%"],
        )
        return cursor.fetchone()[0]


@pytest.mark.postgres
def test_a_statement_is_prepared_once_per_connection_and_answers_each_time():
    from qualitymonth.compiled import fetch_one_prepared

    assert fetch_one_prepared(PROBE, [1]) == (2,)
    assert fetch_one_prepared(PROBE, [41]) == (42,)
    assert _prepared("fetch_one_prepared probe") == 1


@pytest.mark.postgres
def test_switched_off_it_runs_as_any_query(settings):
    from qualitymonth.compiled import fetch_one_prepared

    settings.DATABASE_PREPARED_STATEMENTS = False
    assert fetch_one_prepared(PROBE.replace("probe", "probe off"), [1]) == (2,)
    assert _prepared("probe off") == 0


@pytest.mark.postgres
def test_its_errors_are_djangos_and_it_is_logged_with_the_other_queries():
    from django.db import IntegrityError, connection, transaction
    from django.test.utils import CaptureQueriesContext

    from qualitymonth.compiled import fetch_one_prepared

    token = PersonalToken.objects.create(user=factories.UserFactory(), name="a", key_hash="x" * 64)
    insert_copy = (
        "INSERT INTO accounts_personaltoken (user_id, name, key_hash, created_at) "
        "SELECT user_id, %s, key_hash, created_at FROM accounts_personaltoken WHERE id = %s "
        "RETURNING id"
    )
    with (
        CaptureQueriesContext(connection) as queries,
        pytest.raises(IntegrityError),
        transaction.atomic(),
    ):
        fetch_one_prepared(insert_copy, ["b", token.pk])  # the same key hash: unique
    assert any("INSERT INTO accounts_personaltoken" in q["sql"] for q in queries.captured_queries)


@pytest.mark.postgres
def test_the_sign_up_statement_is_prepared():
    from tests.registrations.test_signup import open_activity, representative, sign_up

    sign_up(open_activity(), representative())
    assert _prepared("registrations_registrationnotice") == 1
