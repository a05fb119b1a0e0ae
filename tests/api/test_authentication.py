"""Who the API believes the caller is: sessions, personal tokens, and the refusals."""

import datetime as dt

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import PersonalToken
from accounts.services import token_create, token_revoke
from tests import factories

from .world import client_as

pytestmark = pytest.mark.django_db


def with_token(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


@pytest.fixture
def person(db):
    return factories.UserFactory(email="li.ming@example.cn", full_name="李明")


def test_anonymous_may_read_reference_data(api, world):
    for path in ["/api/v1/campaigns/", "/api/v1/regions/", "/api/v1/departments/"]:
        assert api.get(path).status_code == 200


def test_me_needs_authentication(api):
    response = api.get("/api/v1/me/")

    assert response.status_code == 401


def test_a_valid_token_authenticates(person):
    _token, key = token_create(user=person, name="统计脚本")

    response = with_token(key).get("/api/v1/me/")

    assert response.status_code == 200
    assert response.json()["email"] == "li.ming@example.cn"


def test_using_a_token_records_when_it_was_last_used(person):
    token, key = token_create(user=person, name="统计脚本")

    with_token(key).get("/api/v1/me/")

    token.refresh_from_db()
    assert token.last_used_at is not None
    assert timezone.now() - token.last_used_at < dt.timedelta(minutes=1)


@pytest.mark.parametrize("path", ["/api/v1/me/", "/api/v1/campaigns/"])
def test_a_revoked_token_is_refused(person, path):
    token, key = token_create(user=person, name="旧脚本")
    token_revoke(token, actor=person)

    response = with_token(key).get(path)

    assert response.status_code == 401  # even on public data: a bad credential is never ignored


def test_an_expired_token_is_refused(person):
    token, key = token_create(
        user=person, name="过期", expires_at=timezone.now() + dt.timedelta(days=1)
    )
    # A day passes.
    PersonalToken.objects.filter(pk=token.pk).update(
        expires_at=timezone.now() - dt.timedelta(seconds=1)
    )

    assert with_token(key).get("/api/v1/me/").status_code == 401


def test_an_unknown_token_is_refused(db):
    response = with_token("qm_" + "x" * 43).get("/api/v1/me/")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_a_deactivated_persons_token_is_refused(person):
    _token, key = token_create(user=person, name="统计脚本")
    person.is_active = False
    person.save()

    assert with_token(key).get("/api/v1/me/").status_code == 401


def test_a_malformed_authorization_header_is_refused(db):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token two words")

    assert client.get("/api/v1/me/").status_code == 401


def test_refusals_speak_the_callers_language(db):
    chinese = APIClient().get("/api/v1/me/")
    english = APIClient().get("/api/v1/me/", HTTP_ACCEPT_LANGUAGE="en")

    assert english.json()["detail"] == "Authentication credentials were not provided."
    assert chinese.json()["detail"] != english.json()["detail"]


def test_session_authentication_works(person):
    response = client_as(person).get("/api/v1/me/")

    assert response.status_code == 200
    assert response.json()["full_name"] == "李明"


def test_session_writes_need_the_csrf_token(person):
    client = client_as(person, enforce_csrf_checks=True)

    refused = client.post("/api/v1/tokens/", {"name": "无CSRF"}, format="json")

    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    assert not PersonalToken.objects.filter(user=person).exists()

    secret = "a" * 32
    client.cookies["csrftoken"] = secret
    accepted = client.post(
        "/api/v1/tokens/", {"name": "有CSRF"}, format="json", HTTP_X_CSRFTOKEN=secret
    )

    assert accepted.status_code == 201


def test_token_requests_need_no_csrf_token(person):
    token, key = token_create(user=person, name="脚本")
    client = APIClient(enforce_csrf_checks=True)
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")

    response = client.delete(f"/api/v1/tokens/{token.pk}/")

    assert response.status_code == 204
