"""Signing up over the API with an Idempotency-Key: a replay gets the first response again and
signs nothing up twice; the same key with another request answers 422; keys expire."""

import datetime as dt
import hashlib
import json

import pytest
from django.core.cache import caches
from django.utils import timezone
from rest_framework.test import APIClient

from qualitymonth.idempotency import idempotency_keys_purge
from qualitymonth.models import IdempotencyKey
from qualitymonth.tasks import purge_idempotency_keys
from registrations.models import Registration
from tests import factories

pytestmark = pytest.mark.django_db

SIGN_UP = "/api/v1/registrations/"
KEY = "0f5c2a9e-4b7d-4c1e-9a3f-2d8e6b1c7a40"


@pytest.fixture(autouse=True)
def _no_rate_limit(settings):
    settings.SIGNUP_RATE_PER_USER = "off"
    settings.SIGNUP_RATE_PER_IP = "off"
    caches["ratelimit"].clear()


def open_activity(**kwargs):
    now = timezone.now()
    kwargs.setdefault("starts_at", now + dt.timedelta(days=10))
    kwargs.setdefault("ends_at", kwargs["starts_at"] + dt.timedelta(hours=3))
    kwargs.setdefault("signup_opens_at", now - dt.timedelta(days=1))
    kwargs.setdefault("signup_closes_at", kwargs["starts_at"] - dt.timedelta(days=1))
    return factories.ActivityFactory(**kwargs)


@pytest.fixture
def person():
    return factories.EnterpriseRepresentativeFactory(user__preferred_language="en").user


def client_of(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def body(activity, name="张三") -> bytes:
    return json.dumps(
        {"activity": activity.pk, "attendees": [{"name": name, "mobile": "13800000001"}]}
    ).encode()


def post(client, content: bytes, key: str | None = KEY, path: str = SIGN_UP):
    headers = {} if key is None else {"HTTP_IDEMPOTENCY_KEY": key}
    return client.post(path, content, content_type="application/json", **headers)


def test_the_first_request_signs_up_and_a_replay_gets_the_same_response(person):
    activity = open_activity()
    client = client_of(person)

    first = post(client, body(activity))
    replay = post(client, body(activity))

    assert first.status_code == replay.status_code == 201
    assert replay.json() == first.json()
    assert replay["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Registration.objects.filter(activity=activity).count() == 1
    assert IdempotencyKey.objects.get().response_status == 201


def test_without_a_key_a_second_request_is_refused_as_a_second_sign_up(person):
    activity = open_activity()
    client = client_of(person)
    assert post(client, body(activity), key=None).status_code == 201
    second = post(client, body(activity), key=None)
    assert second.status_code == 400
    assert second.json()["code"] == "already_registered"
    assert IdempotencyKey.objects.count() == 0


def test_the_same_key_with_another_body_answers_422_and_does_nothing(person):
    first_activity, other_activity = open_activity(), open_activity()
    client = client_of(person)
    assert post(client, body(first_activity)).status_code == 201

    reused = post(client, body(other_activity))

    assert reused.status_code == 422
    assert reused.json() == {
        "detail": "This Idempotency-Key was already used for another request (a different body "
        "or address). Use a new key for a new request.",
        "code": "idempotency_key_reused",
    }
    assert not Registration.objects.filter(activity=other_activity).exists()


def test_the_422_is_in_chinese_for_chinese_readers():
    user = factories.EnterpriseRepresentativeFactory(user__preferred_language="zh-hans").user
    activity = open_activity()
    client = client_of(user)
    post(client, body(activity))

    reused = post(client, body(activity, name="李四"))

    assert reused.status_code == 422
    assert reused.json()["detail"].startswith("此 Idempotency-Key 已用于另一个请求")


def test_the_same_key_used_at_another_address_answers_422(person):
    activity = open_activity()
    content = body(activity)
    IdempotencyKey.objects.create(
        user=person,
        key=KEY,
        request="POST /api/v1/feedback/reports/",
        body_sha256=hashlib.sha256(content).hexdigest(),
        response_status=201,
        response_body={"id": 1},
    )

    reused = post(client_of(person), content)

    assert reused.status_code == 422
    assert reused.json()["code"] == "idempotency_key_reused"
    assert not Registration.objects.exists()


def test_keys_are_per_user(person):
    activity = open_activity()
    colleague_of_other_firm = factories.EnterpriseRepresentativeFactory().user
    assert post(client_of(person), body(activity)).status_code == 201

    other = post(client_of(colleague_of_other_firm), body(activity))

    assert other.status_code == 201
    assert other.json()["enterprise"]["id"] != person.enterprise_representations.get().enterprise_id
    assert Registration.objects.filter(activity=activity).count() == 2


def test_a_refusal_is_stored_and_replayed_too(person):
    activity = open_activity(signup_opens_at=timezone.now() + dt.timedelta(days=1))
    client = client_of(person)

    first = post(client, body(activity))
    activity.signup_opens_at = timezone.now() - dt.timedelta(days=1)
    activity.save()
    replay = post(client, body(activity))

    assert first.status_code == replay.status_code == 400
    assert replay.json() == first.json()
    assert first.json()["code"] == "signup_not_open_yet"
    assert not Registration.objects.exists()


def test_an_expired_key_counts_as_new(person, settings):
    settings.IDEMPOTENCY_KEY_HOURS = 24
    activity = open_activity()
    client = client_of(person)
    assert post(client, body(activity)).status_code == 201
    IdempotencyKey.objects.update(created_at=timezone.now() - dt.timedelta(hours=25))

    again = post(client, body(activity))

    # Carried out again: the enterprise is already registered, which the service says.
    assert again.status_code == 400
    assert again.json()["code"] == "already_registered"
    assert IdempotencyKey.objects.get().response_status == 400


def test_a_key_younger_than_its_lifetime_is_still_replayed(person):
    activity = open_activity()
    client = client_of(person)
    post(client, body(activity))
    IdempotencyKey.objects.update(created_at=timezone.now() - dt.timedelta(hours=23))

    assert post(client, body(activity)).status_code == 201


def test_the_hourly_task_deletes_expired_keys(person):
    activity = open_activity()
    post(client_of(person), body(activity))
    post(client_of(person), body(activity), key="second-key")
    IdempotencyKey.objects.filter(key=KEY).update(
        created_at=timezone.now() - dt.timedelta(hours=25)
    )

    assert idempotency_keys_purge() == 1
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["second-key"]


def test_the_scheduled_task_deletes_the_stored_responses_after_their_hours(person, settings):
    """The stored response names the attendees: gone once IDEMPOTENCY_KEY_HOURS have passed."""
    settings.IDEMPOTENCY_KEY_HOURS = 24
    activity = open_activity()
    post(client_of(person), body(activity, name="李雷"))
    post(client_of(person), body(activity), key="second-key")
    IdempotencyKey.objects.filter(key=KEY).update(
        created_at=timezone.now() - dt.timedelta(hours=24, minutes=1)
    )
    IdempotencyKey.objects.filter(key="second-key").update(
        created_at=timezone.now() - dt.timedelta(hours=23, minutes=59)
    )

    assert purge_idempotency_keys.delay().get() == 1

    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["second-key"]
    assert not IdempotencyKey.objects.filter(response_body__attendees__0__name="李雷").exists()
    schedule = settings.CELERY_BEAT_SCHEDULE["idempotency-keys-purge"]
    assert schedule["task"] == "qualitymonth.tasks.purge_idempotency_keys"
    assert schedule["schedule"] <= 3600  # at least hourly: kept at most an hour past their time


@pytest.mark.parametrize("key", ["", "x" * 256, "schlüssel", "tab\there"])
def test_a_malformed_key_is_refused(person, key):
    activity = open_activity()

    response = post(client_of(person), body(activity), key=key)

    assert response.status_code == 400
    assert response.json()["code"] == "idempotency_key_invalid"
    assert not Registration.objects.exists()


def test_the_schema_documents_the_header_and_the_422(api):
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    operation = schema["paths"]["/api/v1/registrations/"]["post"]

    parameters = {p["name"]: p for p in operation["parameters"]}
    assert parameters["Idempotency-Key"]["in"] == "header"
    assert parameters["Idempotency-Key"].get("required", False) is False
    assert {"409", "422", "429"} <= set(operation["responses"])
