"""Rate limits: fixed-window counters in the ``ratelimit`` cache, counted atomically.

A window starts with the first request it counts and lasts its length (it is not extended by
later ones). Each request counts FIRST (in Redis one script: INCR, and EXPIRE on the first;
elsewhere `cache.add` then `cache.incr`, atomic in the local-memory cache), and only then is
the count compared with the limit, so a burst of parallel requests can never slip more than the
limit through. With several web processes the counters must live in a shared cache
(``RATELIMIT_CACHE_URL``, e.g. Redis).

Limits are settings holding a rate, ``"<count>/<window>"``: ``"30/h"``, ``"5/10m"``,
``"100/d"``, ``"10/30s"``; ``""`` or ``"off"`` for none.

- `hit(key, rate)` counts one request and says whether it is within the limit; `release` gives
  a counted request back (for limits that count only what succeeded), `peek` only looks.
- `check(request, limits)` counts a request against several `Limit`s (per user, per address).
- `ratelimit(*limits)` decorates a view: over a limit it answers 429 with `Retry-After` and a
  clear message in the reader's language (an HTML page, or ``{"detail", "code"}`` as JSON for
  requests that ask for JSON).
- `RateLimitThrottle` is the same for DRF views: subclass it with `limits` (and optionally
  `methods` and `actions`) and put it in ``throttle_classes``.
"""

import contextlib
import math
import re
import time
from dataclasses import dataclass
from functools import wraps

from django.conf import settings
from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured
from django.http import JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.timesince import timeuntil
from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import ErrorDetail, Throttled

from .middleware import client_ip

PREFIX = "rl"
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([smhd])\s*$")


@dataclass(frozen=True)
class Rate:
    limit: int
    window: int  # seconds


def parse_rate(text: str | None) -> Rate | None:
    """``"30/h"`` → Rate(30, 3600); ``"5/10m"`` → Rate(5, 600); ``""``/``"off"`` → None."""
    text = (text or "").strip().lower()
    if text in ("", "off", "none"):
        return None
    found = _RATE.match(text)
    if not found:
        raise ImproperlyConfigured(
            f"Rate {text!r}: write <count>/<window>, e.g. 30/h, 5/10m, 100/d, or off."
        )
    count, multiple, unit = found.groups()
    return Rate(int(count), int(multiple or 1) * _UNITS[unit])


def rate_from_setting(name: str) -> Rate | None:
    return parse_rate(getattr(settings, name, ""))


def _counters():
    # Apart from page caches, which a flood of distinct URLs could evict.
    return caches["ratelimit"]


@dataclass(frozen=True)
class Outcome:
    allowed: bool
    count: int
    rate: Rate
    retry_after: int  # seconds until the window ends


def _retry_after(key: str, rate: Rate, now: float) -> int:
    from django.core.cache.backends.redis import RedisCache

    counters = _counters()
    if isinstance(counters, RedisCache):  # the counter expires with its window (`_redis_hit`)
        made = counters.make_and_validate_key(key)
        ttl = counters._cache.get_client(made).ttl(made)
        return max(1, ttl) if ttl and ttl > 0 else rate.window
    started = counters.get(f"{key}:start")
    if started is None:
        return rate.window
    return max(1, math.ceil(float(started) + rate.window - now))


# Count, start the window and read how long it has left in one round trip (Redis).
_REDIS_HIT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return {count, redis.call('TTL', KEYS[1])}
"""


def _redis_hit(counters, full: str, rate: Rate) -> Outcome | None:
    """`hit` in one round trip where the counters live in Redis (Django's RedisCache); None for
    any other cache. The window's end is the counter's own expiry."""
    from django.core.cache.backends.redis import RedisCache

    if not isinstance(counters, RedisCache):
        return None
    key = counters.make_and_validate_key(full)
    client = counters._cache.get_client(key, write=True)
    script = _SCRIPTS.get(id(client.connection_pool))
    if script is None:
        script = _SCRIPTS[id(client.connection_pool)] = client.register_script(_REDIS_HIT)
    count, ttl = script(keys=[key], args=[rate.window], client=client)
    return Outcome(count <= rate.limit, count, rate, max(1, ttl if ttl > 0 else rate.window))


_SCRIPTS: dict = {}


def hit(key: str, rate: Rate) -> Outcome:
    """Count one request under `key` and say whether it is within `rate` (atomic)."""
    counters, now = _counters(), time.time()
    full = f"{PREFIX}:{key}"
    counted = _redis_hit(counters, full, rate)
    if counted is not None:
        return counted
    for _attempt in range(3):
        if counters.add(full, 1, rate.window):
            counters.set(f"{full}:start", now, rate.window)
            count = 1
            break
        try:
            count = counters.incr(full)
            break
        except ValueError:  # the window ended between add and incr: start a new one
            continue
    else:  # pragma: no cover - the cache keeps losing the key: do not lock people out for it
        count = 1
    return Outcome(count <= rate.limit, count, rate, _retry_after(full, rate, now))


def release(key: str) -> None:
    """Give back one counted request (e.g. one that failed and should not use up the limit)."""
    with contextlib.suppress(ValueError):  # its window has ended anyway
        _counters().decr(f"{PREFIX}:{key}")


def peek(key: str, rate: Rate) -> Outcome:
    """The count so far, without counting."""
    full = f"{PREFIX}:{key}"
    count = int(_counters().get(full, 0))
    return Outcome(count < rate.limit, count, rate, _retry_after(full, rate, time.time()))


def reset(key: str) -> None:
    _counters().delete_many([f"{PREFIX}:{key}", f"{PREFIX}:{key}:start"])


# --- limits on requests ----------------------------------------------------------------------

GENERIC_MESSAGE = _(
    "Too many requests: at most %(limit)d in %(window)s. Please try again in %(wait)s."
)


@dataclass(frozen=True)
class Limit:
    """A limit on one kind of request: `scope` names it (its own counters), `setting` holds its
    rate, `per` says whose requests count together: ``"user"`` (the signed-in account; the
    address for anonymous visitors) or ``"ip"`` (the client's address, see `client_ip`).
    `message` may use %(limit)d, %(window)s and %(wait)s."""

    scope: str
    setting: str
    per: str = "user"
    message: str = GENERIC_MESSAGE

    def key(self, request) -> str:
        user = getattr(request, "user", None)
        if self.per == "user" and user is not None and user.is_authenticated:
            return f"{self.scope}:user:{user.pk}"
        return f"{self.scope}:ip:{client_ip(request) or 'unknown'}"


@dataclass(frozen=True)
class Refusal:
    limit: Limit
    outcome: Outcome

    @property
    def retry_after(self) -> int:
        return self.outcome.retry_after

    @property
    def message(self) -> str:
        return str(self.limit.message) % {
            "limit": self.outcome.rate.limit,
            "window": duration(self.outcome.rate.window),
            "wait": duration(self.outcome.retry_after),
        }


def duration(seconds: int) -> str:
    """“1 hour”, “12 minutes”, in the active language (Django's own words); at least a minute."""
    seconds = max(60, math.ceil(seconds / 60) * 60)
    now = timezone.now()
    return timeuntil(now + timezone.timedelta(seconds=seconds), now, depth=1).replace("\xa0", " ")


def check(request, limits) -> Refusal | None:
    """Count the request against each limit; the refusal with the longest wait if any is over."""
    refusals = []
    for limit in limits:
        rate = rate_from_setting(limit.setting)
        if rate is None:
            continue
        outcome = hit(limit.key(request), rate)
        if not outcome.allowed:
            refusals.append(Refusal(limit, outcome))
    return max(refusals, key=lambda r: r.retry_after, default=None)


def wants_json(request) -> bool:
    accept = request.headers.get("Accept", "")
    return (
        request.path.startswith("/api/")
        or request.content_type == "application/json"
        or ("application/json" in accept and "text/html" not in accept)
    )


def too_many_requests(request, refusal: Refusal):
    """429 with Retry-After: JSON ``{"detail", "code"}`` for API clients, else a page."""
    if wants_json(request):
        response = JsonResponse({"detail": refusal.message, "code": "rate_limited"}, status=429)
    else:
        response = render(
            request,
            "errors/429.html",
            {"message": refusal.message, "retry_after": refusal.retry_after},
            status=429,
        )
    response["Retry-After"] = str(refusal.retry_after)
    return response


def ratelimit(*limits: Limit, methods=("POST",)):
    """Decorate a view: requests with one of `methods` count against each of `limits`; over
    any of them the view is not called and the client gets 429 (`too_many_requests`)."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if request.method in methods:
                refusal = check(request, limits)
                if refusal is not None:
                    return too_many_requests(request, refusal)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


# --- the REST API --------------------------------------------------------------------------------


class RateLimited(Throttled):
    """429 with ``{"detail": <the limit's message>, "code": "rate_limited"}`` and Retry-After
    (DRF's handler sets it from `wait`)."""

    def __init__(self, refusal: Refusal):
        super().__init__(wait=refusal.retry_after)
        self.detail = {
            "detail": ErrorDetail(refusal.message, code="rate_limited"),
            "code": "rate_limited",
        }


class RateLimitThrottle:
    """A DRF throttle over `limits`, counting only requests with one of `methods` (and, for a
    viewset, one of `actions` when given). Over a limit it raises a 429 whose body carries the
    limit's message, rather than DRF's generic one."""

    limits: tuple[Limit, ...] = ()
    methods: tuple[str, ...] = ("POST",)
    actions: tuple[str, ...] | None = None

    def allow_request(self, request, view) -> bool:
        if request.method not in self.methods:
            return True
        if self.actions is not None and getattr(view, "action", None) not in self.actions:
            return True
        refusal = check(request, self.limits)
        if refusal is not None:
            raise RateLimited(refusal)
        return True

    def wait(self):  # never asked: allow_request raises instead of answering False
        return None
