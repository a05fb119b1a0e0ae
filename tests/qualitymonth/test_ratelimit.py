"""The generic rate limit: fixed-window counters in the "ratelimit" cache, counted atomically,
and the 429 a view or an API endpoint answers over a limit."""

import json
import threading

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpResponse
from django.test import RequestFactory
from django.utils import translation
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory, force_authenticate
from rest_framework.views import APIView

from qualitymonth import ratelimit
from qualitymonth.ratelimit import Limit, Rate, RateLimitThrottle
from tests import factories

pytestmark = pytest.mark.django_db

LIMIT = Limit("test-upload", "TEST_UPLOAD_RATE", per="user")
PER_IP = Limit("test-upload-ip", "TEST_UPLOAD_RATE_PER_IP", per="ip")


@pytest.fixture(autouse=True)
def _fresh_counters(settings):
    settings.TEST_UPLOAD_RATE = "3/h"
    settings.TEST_UPLOAD_RATE_PER_IP = "off"
    caches["ratelimit"].clear()
    yield
    caches["ratelimit"].clear()


@ratelimit.ratelimit(LIMIT, PER_IP)
def upload_view(request):
    return HttpResponse("stored", status=201)


def post(user=None, ip="10.0.0.1", language="zh-hans", **headers):
    request = RequestFactory().post("/upload/", REMOTE_ADDR=ip, **headers)
    request.user = user if user is not None else AnonymousUser()
    with translation.override(language):
        return upload_view(request)


@pytest.mark.parametrize(
    ("text", "rate"),
    [
        ("30/h", Rate(30, 3600)),
        ("5/10m", Rate(5, 600)),
        ("100/d", Rate(100, 86400)),
        (" 10 / 30s ", Rate(10, 30)),
        ("0/h", Rate(0, 3600)),
    ],
)
def test_rates_are_written_count_slash_window(text, rate):
    assert ratelimit.parse_rate(text) == rate


@pytest.mark.parametrize("text", ["", "off", "OFF", None])
def test_off_means_no_limit(text):
    assert ratelimit.parse_rate(text) is None


@pytest.mark.parametrize("text", ["30", "30/week", "h/30", "-1/h"])
def test_a_rate_that_cannot_be_read_is_a_configuration_error(text):
    with pytest.raises(ImproperlyConfigured):
        ratelimit.parse_rate(text)


def test_the_request_after_the_limit_gets_429_with_a_message_in_chinese():
    user = factories.UserFactory()
    for _n in range(3):
        assert post(user).status_code == 201

    refused = post(user)

    assert refused.status_code == 429
    assert 3000 < int(refused["Retry-After"]) <= 3600
    page = refused.content.decode()
    assert "请求过于频繁：1 小时内最多 3 次。请在 1 小时后再试。" in page
    assert "被拒绝的请求没有保存任何内容" in page


def test_the_message_is_in_english_for_english_readers():
    user = factories.UserFactory()
    for _n in range(3):
        post(user, language="en")

    refused = post(user, language="en")

    assert refused.status_code == 429
    assert "Too many requests: at most 3 in 1 hour. Please try again in 1 hour." in (
        refused.content.decode()
    )


def test_api_clients_get_json_with_detail_and_code():
    user = factories.UserFactory()
    for _n in range(3):
        post(user, HTTP_ACCEPT="application/json")

    refused = post(user, HTTP_ACCEPT="application/json")

    assert refused.status_code == 429
    assert refused["Content-Type"] == "application/json"
    body = json.loads(refused.content)
    assert body["code"] == "rate_limited"
    assert body["detail"].startswith("请求过于频繁")


def test_each_account_has_its_own_count():
    first, second = factories.UserFactory(), factories.UserFactory()
    for _n in range(3):
        post(first)
    assert post(first).status_code == 429
    assert post(second).status_code == 201


def test_anonymous_visitors_are_counted_per_address():
    for _n in range(3):
        post(ip="10.0.0.1")
    assert post(ip="10.0.0.1").status_code == 429
    assert post(ip="10.0.0.2").status_code == 201


def test_a_per_address_limit_counts_every_account_behind_the_address(settings):
    settings.TEST_UPLOAD_RATE = "off"
    settings.TEST_UPLOAD_RATE_PER_IP = "2/h"
    people = [factories.UserFactory() for _n in range(3)]
    assert [post(p, ip="10.0.0.7").status_code for p in people] == [201, 201, 429]
    assert post(people[2], ip="10.0.0.8").status_code == 201


def test_get_requests_are_not_counted():
    user = factories.UserFactory()
    request = RequestFactory().get("/upload/")
    request.user = user
    for _n in range(10):
        assert upload_view(request).status_code == 201
    assert post(user).status_code == 201


@pytest.fixture(params=["locmem", "redis"])
def counters(request, settings):
    """The counters in the local-memory cache (one process, the demo), and in Redis as in
    production (one script per request)."""
    if request.param == "redis":
        import redis

        url = "redis://127.0.0.1:6379/12"
        try:
            redis.Redis.from_url(url).ping()
        except redis.ConnectionError:
            pytest.skip("no Redis on 127.0.0.1:6379")
        settings.CACHES = {
            **settings.CACHES,
            "ratelimit": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": url,
            },
        }
        caches["ratelimit"].clear()
    yield request.param
    caches["ratelimit"].clear()


def test_the_wait_is_what_is_left_of_the_window(counters):
    rate = Rate(1, 600)
    assert ratelimit.hit("wait", rate).allowed
    refused = ratelimit.hit("wait", rate)
    assert not refused.allowed and refused.count == 2
    assert 590 <= refused.retry_after <= 600
    assert 590 <= ratelimit.peek("wait", rate).retry_after <= 600


def test_a_released_request_does_not_use_up_the_limit(counters):
    rate = Rate(2, 3600)
    assert ratelimit.hit("k", rate).allowed
    ratelimit.release("k")
    assert ratelimit.hit("k", rate).allowed
    assert ratelimit.hit("k", rate).allowed
    assert not ratelimit.hit("k", rate).allowed
    assert ratelimit.peek("k", rate).count == 3


def test_the_window_ends_and_counting_starts_again(counters):
    rate = Rate(1, 1)
    assert ratelimit.hit("short", rate).allowed
    assert not ratelimit.hit("short", rate).allowed
    ratelimit.reset("short")  # what the cache's expiry does after the second
    assert ratelimit.hit("short", rate).allowed


def test_parallel_requests_never_exceed_the_limit(counters):
    """Count first, then compare: of 40 simultaneous requests exactly the limit get through."""
    rate = Rate(7, 3600)
    barrier = threading.Barrier(40)
    outcomes = []
    lock = threading.Lock()

    def one():
        barrier.wait()
        outcome = ratelimit.hit("burst", rate)
        with lock:
            outcomes.append(outcome.allowed)

    threads = [threading.Thread(target=one) for _n in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert outcomes.count(True) == 7
    assert ratelimit.peek("burst", rate).count == 40


# --- the DRF throttle ----------------------------------------------------------------------------


class UploadThrottle(RateLimitThrottle):
    limits = (LIMIT,)


class UploadEndpoint(APIView):
    throttle_classes = [UploadThrottle]

    def get(self, request):
        return Response({"ok": True})

    def post(self, request):
        return Response({"stored": True}, status=201)


def test_the_throttle_answers_429_with_the_limits_message_and_retry_after():
    user = factories.UserFactory()
    view = UploadEndpoint.as_view()

    def call(method="post"):
        request = getattr(APIRequestFactory(), method)(
            "/api/v1/upload/", {}, format="json", HTTP_ACCEPT_LANGUAGE="en"
        )
        force_authenticate(request, user=user)
        with translation.override("en"):
            return view(request).render()

    assert [call().status_code for _n in range(3)] == [201, 201, 201]
    assert call("get").status_code == 200  # reading is not limited

    refused = call()

    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert refused.data == {
        "detail": "Too many requests: at most 3 in 1 hour. Please try again in 1 hour.",
        "code": "rate_limited",
    }
