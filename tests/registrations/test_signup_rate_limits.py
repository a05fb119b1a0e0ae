"""Signing up is rate-limited per account and per address, on the web form and the API together:
the attempt after the limit answers 429 with a clear message and Retry-After, and signs nothing
up."""

import pytest
from django.core.cache import caches
from django.test import Client
from rest_framework.test import APIClient

from registrations.models import Registration

from .test_signup_views import form_data, open_activity, representative, sign_up_url

pytestmark = pytest.mark.django_db

API = "/api/v1/registrations/"


@pytest.fixture(autouse=True)
def _limits(settings):
    settings.SIGNUP_RATE_PER_USER = "2/h"
    settings.SIGNUP_RATE_PER_IP = "off"
    caches["ratelimit"].clear()
    yield
    caches["ratelimit"].clear()


def browser(user, language="zh-hans", ip="10.1.1.1"):
    client = Client(REMOTE_ADDR=ip)
    client.cookies["django_language"] = language
    client.force_login(user)
    return client


def api_client(user, language="zh-hans", ip="10.1.1.1"):
    client = APIClient(REMOTE_ADDR=ip, HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


def api_sign_up(client, activity, mobile="13800000001"):
    body = {"activity": activity.pk, "attendees": [{"name": "张三", "mobile": mobile}]}
    return client.post(API, body, format="json")


def test_the_third_sign_up_from_one_account_is_refused_in_chinese_and_keeps_the_form():
    user = representative()
    first, second, third = (open_activity() for _n in range(3))
    client = browser(user)
    assert client.post(sign_up_url(first), form_data(("张三", "13800000001"))).status_code == 302
    assert client.post(sign_up_url(second), form_data(("张三", "13800000001"))).status_code == 302

    refused = client.post(sign_up_url(third), form_data(("王五", "13800000009")))

    assert refused.status_code == 429
    assert 3000 < int(refused["Retry-After"]) <= 3600
    page = refused.content.decode()
    assert "您的账号报名尝试过于频繁：1 小时内最多 2 次。请在 1 小时后再试。" in page
    assert 'value="王五"' in page  # what was typed is kept
    assert not Registration.objects.filter(activity=third).exists()


def test_the_message_is_in_english_for_english_readers():
    user = representative()
    activities = [open_activity() for _n in range(3)]
    client = browser(user, language="en")
    for activity in activities[:2]:
        client.post(sign_up_url(activity), form_data(("张三", "13800000001")))

    refused = client.post(sign_up_url(activities[2]), form_data(("张三", "13800000001")))

    assert refused.status_code == 429
    assert (
        "Too many sign-up attempts from your account: at most 2 in 1 hour. Please try again in "
        "1 hour." in refused.content.decode()
    )


def test_refused_attempts_count_too_so_that_a_flood_gains_nothing():
    user = representative()
    activity = open_activity()
    client = browser(user)
    statuses = [
        client.post(sign_up_url(activity), form_data(("", ""))).status_code for _n in range(3)
    ]
    assert statuses == [200, 200, 429]


def test_each_account_has_its_own_count():
    first, second = representative(), representative()
    activity = open_activity()
    for _n in range(2):
        browser(first).post(sign_up_url(activity), form_data(("", "")))
    assert browser(first).post(sign_up_url(activity), form_data(("", ""))).status_code == 429
    assert browser(second).post(sign_up_url(activity), form_data(("", ""))).status_code == 200


def test_an_address_is_limited_across_accounts(settings):
    settings.SIGNUP_RATE_PER_USER = "off"
    settings.SIGNUP_RATE_PER_IP = "2/h"
    people = [representative() for _n in range(3)]
    activity = open_activity()
    statuses = [
        browser(p, ip="10.9.9.9").post(sign_up_url(activity), form_data(("", ""))).status_code
        for p in people
    ]
    assert statuses == [200, 200, 429]
    refused = browser(people[2], ip="10.9.9.9").post(sign_up_url(activity), form_data(("", "")))
    assert "此网络连接的报名尝试过于频繁" in refused.content.decode()
    # The same person from another address is not affected.
    other = browser(people[2], ip="10.9.9.10").post(sign_up_url(activity), form_data(("", "")))
    assert other.status_code == 200


def test_looking_at_the_form_is_not_limited():
    user = representative()
    activity = open_activity()
    client = browser(user)
    assert [client.get(sign_up_url(activity)).status_code for _n in range(5)] == [200] * 5


# --- the API -------------------------------------------------------------------------------------


def test_the_api_answers_429_with_detail_code_and_retry_after():
    user = representative()
    activities = [open_activity() for _n in range(3)]
    client = api_client(user)
    assert [api_sign_up(client, a).status_code for a in activities[:2]] == [201, 201]

    refused = api_sign_up(client, activities[2])

    assert refused.status_code == 429
    assert 3000 < int(refused["Retry-After"]) <= 3600
    assert refused.json() == {
        "detail": "您的账号报名尝试过于频繁：1 小时内最多 2 次。请在 1 小时后再试。",
        "code": "rate_limited",
    }
    assert not Registration.objects.filter(activity=activities[2]).exists()


def test_the_api_message_is_in_the_callers_language():
    user = representative(preferred_language="en")
    activity = open_activity()
    client = api_client(user, language="en")
    for _n in range(2):
        client.post(API, {"activity": activity.pk, "attendees": []}, format="json")

    refused = client.post(API, {"activity": activity.pk, "attendees": []}, format="json")

    assert refused.status_code == 429
    assert refused.json()["detail"] == (
        "Too many sign-up attempts from your account: at most 2 in 1 hour. Please try again in "
        "1 hour."
    )


def test_the_web_form_and_the_api_share_one_count():
    user = representative()
    activities = [open_activity() for _n in range(3)]
    assert api_sign_up(api_client(user), activities[0]).status_code == 201
    browser(user).post(sign_up_url(activities[1]), form_data(("张三", "13800000001")))

    assert api_sign_up(api_client(user), activities[2]).status_code == 429


def test_reading_registrations_over_the_api_is_not_limited():
    user = representative()
    client = api_client(user)
    assert [client.get(API).status_code for _n in range(5)] == [200] * 5


def test_withdrawing_is_not_limited_by_the_sign_up_limit(settings):
    settings.SIGNUP_RATE_PER_USER = "1/h"
    user = representative()
    activity = open_activity()
    client = api_client(user)
    registration_id = api_sign_up(client, activity).json()["id"]
    response = client.post(f"{API}{registration_id}/withdraw/", {}, format="json")
    assert response.status_code == 200


def test_the_schema_documents_the_429(api_schema):
    operation = api_schema["paths"]["/api/v1/registrations/"]["post"]
    assert "429" in operation["responses"]


@pytest.fixture
def api_schema():
    client = APIClient()
    return client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()


def test_anonymous_posts_are_refused_before_they_count(settings):
    settings.SIGNUP_RATE_PER_IP = "1/h"
    activity = open_activity()
    anonymous = APIClient(REMOTE_ADDR="10.1.1.1")
    for _n in range(3):
        response = anonymous.post(API, {"activity": activity.pk, "attendees": []}, format="json")
        assert response.status_code in (401, 403)

    assert api_sign_up(api_client(representative(), ip="10.1.1.1"), activity).status_code == 201
