"""What bench/signup_burst.py and bench/signup_idempotency.py share: a PostgreSQL database of their
own, seeded small; gunicorn started as a subprocess with the portal's production configuration
(qualitymonth/gunicorn_conf.py, DEBUG off); and clients that POST all at once.

The database is `<name>_bench_signup` on the server DATABASE_URL names (created, migrated and
dropped again). Seeded: one published activity open for sign-up, and N enterprises, each with a
verified representative holding a personal API token.

Gunicorn runs in development mode with DEBUG off (production mode would insist on HTTPS and a
host name, and refuses the test-only switches the benchmarks need). Its settings otherwise as in
production: gthread workers as qualitymonth/gunicorn_conf.py chooses them, persistent database
connections, Redis for the cache and rate-limit counters when one answers on 127.0.0.1:6379, and
Redis as Celery's broker (database 14): as in production, a sign-up writes its email to the
outbox (`RegistrationNotice`), which celery beat's task would send; the benchmark runs neither and
counts the notices and whatever was queued (without Redis, tasks run in-process: the emails are
rendered after each commit, and not sent: dummy backend). The client address is 127.0.0.1 for
every client, so the per-address sign-up limit is switched off (behind nginx each client has its
own).
"""

import datetime as dt
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

REDIS_DB = 13


def redis_url() -> str | None:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1) as s:
            s.sendall(b"PING\r\n")
            if s.recv(16).startswith(b"+PONG"):
                return f"redis://127.0.0.1:6379/{REDIS_DB}"
    except OSError:
        pass
    return None


BROKER_DB = 14


def broker_url() -> str:
    return f"redis://127.0.0.1:6379/{BROKER_DB}"


def queued_tasks() -> int:
    """Tasks waiting in the benchmark's broker (Celery's default queue), or 0 without Redis."""
    import redis

    return redis.Redis.from_url(broker_url()).llen("celery") if redis_url() else 0


def purge_queue() -> None:
    import redis

    redis.Redis.from_url(broker_url()).flushdb()


def setup_django() -> dict:
    """Point this process at the benchmark's own database and create it; returns its settings."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit("Set DATABASE_URL to a PostgreSQL server (postgres://user@host:5432/name).")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qualitymonth.settings")
    os.environ["DEBUG"] = "false"
    os.environ["EMAIL_URL"] = "dummymail://"
    cache = redis_url()
    if cache:
        os.environ["CACHE_URL"] = cache
        os.environ["RATELIMIT_CACHE_URL"] = cache
        # Background work goes to a broker, as in production: the web process only writes the
        # emails to the outbox, and queues nothing; `queued_tasks` counts what waits there.
        os.environ["CELERY_BROKER_URL"] = broker_url()
        purge_queue()
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    database = settings.DATABASES["default"]
    database.setdefault("TEST", {})["NAME"] = f"{database['NAME']}_bench_signup"
    original = database["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    return {"original": original, "database": dict(database), "cache": cache}


def drop_database(info: dict) -> None:
    from django.db import connection

    connection.creation.destroy_test_db(info["original"], verbosity=0)


@dataclass
class World:
    activity_id: int
    people: list[tuple[int, int, str]]  # (user id, enterprise id, token key)


def open_activity(capacity: int, *, title: str):
    from django.utils import timezone

    from tests import factories

    now = timezone.now()
    starts = now + dt.timedelta(days=10)
    return factories.ActivityFactory(
        title=title,
        starts_at=starts,
        ends_at=starts + dt.timedelta(hours=3),
        signup_opens_at=now - dt.timedelta(days=1),
        signup_closes_at=now + dt.timedelta(days=5),
        capacity=capacity,
        attendees_per_enterprise=1,
    )


def seed(enterprises: int, capacity: int) -> World:
    from accounts.services import token_create
    from tests import factories

    activity = open_activity(capacity, title="质量管理体系内审员培训（基准测试）")
    people = []
    for _n in range(enterprises):
        claim = factories.EnterpriseRepresentativeFactory()
        _token, key = token_create(user=claim.user, name="bench")
        people.append((claim.user_id, claim.enterprise_id, key))
    return World(activity.pk, people)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """gunicorn -c qualitymonth/gunicorn_conf.py, on a free port, against the benchmark's
    database; `extra` environment variables on top (e.g. SIGNUP_CAPACITY_GUARD=false)."""

    def __init__(self, info: dict, **extra: str):
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="qm-bench-signup-"))
        database = info["database"]
        user = database.get("USER") or "postgres"
        password = f":{database['PASSWORD']}" if database.get("PASSWORD") else ""
        host = database.get("HOST") or "127.0.0.1"
        port = database.get("PORT") or 5432
        env = {
            **os.environ,
            "DATABASE_URL": f"postgres://{user}{password}@{host}:{port}/{database['NAME']}",
            "DEBUG": "false",
            "BENCH_VIEWS": "true",
            "SIGNUP_RATE_PER_IP": "off",
            "EMAIL_URL": "dummymail://",
            "LOG_LEVEL": "WARNING",
            "GUNICORN_BIND": f"127.0.0.1:{self.port}",
            "GUNICORN_ACCESS_LOG": str(self.folder / "access.log"),
            "GUNICORN_LOG_LEVEL": "warning",
            **extra,
        }
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        self.log = open(self.folder / "gunicorn.log", "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(  # noqa: S603 - our own venv's gunicorn
            [str(ROOT / ".venv/bin/gunicorn"), "-c", "qualitymonth/gunicorn_conf.py"],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.workers = self._wait_until_up()

    def _wait_until_up(self) -> str:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: see {self.folder / 'gunicorn.log'}")
            try:
                status, _body, _headers = request("127.0.0.1", self.port, "GET", "/bench/insert/")
                if status == 405:
                    return self._describe()
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError("gunicorn did not answer within 60 s")

    def _describe(self) -> str:
        script = (
            "import runpy; c = runpy.run_path('qualitymonth/gunicorn_conf.py'); "
            "print(c['worker_class'], c['workers'], c['threads'])"
        )
        out = subprocess.run(  # noqa: S603
            [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.split()
        return f"{out[1]} {out[0]} workers x {out[2]} threads"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


def request(host, port, method, path, body=None, headers=None):
    connection = http.client.HTTPConnection(host, port, timeout=60)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read(), dict(response.getheaders())
    finally:
        connection.close()


@dataclass
class Burst:
    seconds: float
    statuses: Counter
    bodies: list = field(default_factory=list)
    headers: list = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)

    @property
    def rps(self) -> float:
        return sum(self.statuses.values()) / self.seconds


def burst(port: int, calls: list[tuple[str, str, bytes, dict]]) -> Burst:
    """Each call (method, path, body, headers) from its own thread and its own connection,
    opened beforehand; all sent at the same moment. Times from the release to the last answer."""
    count = len(calls)
    barrier = threading.Barrier(count + 1, timeout=120)
    statuses: list = [None] * count
    bodies: list = [None] * count
    headers: list = [None] * count
    finished: list = [0.0] * count

    def client(index, method, path, body, extra):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        try:
            connection.connect()
            barrier.wait()
            connection.request(method, path, body=body, headers=extra)
            response = connection.getresponse()
            bodies[index] = response.read()
            statuses[index] = response.status
            headers[index] = dict(response.getheaders())
        except Exception as error:  # counted as an error below
            statuses[index] = type(error).__name__
        finally:
            finished[index] = time.perf_counter()
            connection.close()

    threads = [
        threading.Thread(target=client, args=(i, *call), daemon=True)
        for i, call in enumerate(calls)
    ]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join(timeout=300)
    seconds = max(finished) - started
    errors = Counter(s for s in statuses if isinstance(s, str))
    return Burst(
        seconds,
        Counter(s for s in statuses if isinstance(s, int)),
        bodies,
        headers,
        errors,
    )


_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _cpu_seconds() -> dict[str, float]:
    """CPU seconds (user + system) used so far by each process, by pid: (name, parent, seconds)."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                text = stat.read()
        except OSError:
            continue  # ended meanwhile
        name = text[text.index("(") + 1 : text.rindex(")")]
        fields = text[text.rindex(")") + 2 :].split()
        found[int(entry)] = (name, int(fields[1]), (int(fields[11]) + int(fields[12])) / _TICKS)
    return found


@dataclass
class CpuUse:
    """Core-milliseconds per request a burst cost: the web server (gunicorn's master and
    workers), PostgreSQL (every postgres process: the backends, the WAL writer...) and the
    benchmark's own clients."""

    web: float
    database: float
    clients: float


def measure_cpu(server_pid: int, requests: int, run):
    """Run `run()` and return (its result, CpuUse per request). Linux only (/proc)."""
    before, clients_before = _cpu_seconds(), time.process_time()
    result = run()
    after, clients = _cpu_seconds(), time.process_time() - clients_before

    def used(pids) -> float:
        return sum(after[p][2] - before.get(p, (None, None, 0.0))[2] for p in pids)

    web = {p for p, (_n, parent, _s) in after.items() if p == server_pid or parent == server_pid}
    database = {p for p, (name, _parent, _s) in after.items() if name == "postgres"}
    per = 1000 / requests
    return result, CpuUse(used(web) * per, used(database) * per, clients * per)


def sign_up_call(activity_id: int, key: str, number: int, idempotency_key: str | None = None):
    body = json.dumps(
        {
            "activity": activity_id,
            "attendees": [{"name": f"参会人{number}", "mobile": f"139{number:08d}"}],
        }
    ).encode()
    headers = {"Authorization": f"Token {key}", "Content-Type": "application/json"}
    if idempotency_key:
        headers["Idempotency-Key"] = idempotency_key
    return ("POST", "/api/v1/registrations/", body, headers)


def warm_up(port: int, people, *, sign_up_for: int | None = None) -> None:
    """Every client once (each token's first use is recorded; workers open their connections),
    and the bare view as often. With `sign_up_for` (an activity of its own), every client also
    signs up for it once, so that each worker has done a sign-up before the measured burst, as
    it has served the bare view before its own (a worker's first sign-up builds the statement,
    connects to the broker ...); the per-user sign-up counters are reset afterwards."""
    calls = [
        ("GET", "/api/v1/registrations/?mine=true", None, {"Authorization": f"Token {key}"})
        for _u, _e, key in people
    ]
    result = burst(port, calls)
    assert result.statuses == Counter({200: len(calls)}), result.statuses
    bare = burst(port, [("POST", "/bench/insert/", b"warm-up", {})] * len(people))
    assert bare.statuses == Counter({201: len(people)}), bare.statuses
    if sign_up_for is not None:
        calls = [sign_up_call(sign_up_for, key, n) for n, (_u, _e, key) in enumerate(people)]
        signed = burst(port, calls)
        assert signed.statuses == Counter({201: len(people)}), signed.statuses
        reset_rate_limits(people)


def reset_rate_limits(people) -> None:
    from qualitymonth import ratelimit

    for user_id, _e, _k in people:
        ratelimit.reset(f"sign-up-user:user:{user_id}")


def verdict(checks: dict[str, bool]) -> int:
    print()
    for name, ok in checks.items():
        print(f"{'PASS' if ok else 'FAIL'}  {name}")
    ok = all(checks.values())
    print(f"\n{'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1
