"""Benchmark: 256 enterprises sign up for one 100-seat activity at the same moment (issue 6).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/qm .venv/bin/python bench/signup_burst.py

Set-up (bench/signup_harness.py): a database of its own (`<name>_bench_signup`, dropped at the
end), one published activity with 100 seats, 256 enterprises each with a verified representative
holding a personal API token; gunicorn started as a subprocess with qualitymonth/gunicorn_conf.py
and DEBUG off. 256 client threads, each with its own connection (http.client), POST
/api/v1/registrations/ at once. Beforehand every client has used its token, POSTed to the bare
view once and signed up once for a warm-up activity of its own: both are measured on warm
workers.

Printed, all measured in this run:
  - the sign-up burst: statuses, seconds, requests per second; in the database: confirmed,
    waiting, distinct enterprises, the activity's seat count. Targets: exactly 100 confirmed and
    156 waiting, no enterprise twice, no 5xx, no connection error;
  - the same 256 clients POSTing at once to a bare Django view doing one INSERT
    (/bench/insert/, mounted by the test-only BENCH_VIEWS) on the same server, before and after
    the sign-up burst; target: the sign-up's requests per second at least 0.5x the bare view's
    (their mean);
  - for context, the same clients POSTing to a DRF view that only authenticates their token
    (/bench/token-only/): the floor under any API endpoint here;
  - a negative control: a second gunicorn with the test-only SIGNUP_CAPACITY_GUARD=false, the
    same 256 clients on a fresh 100-seat activity. Target: it oversells (more than 100
    confirmed), which shows that the harness can see a race;
  - the CPU each request cost, in core-milliseconds, for the bare view, the sign-up and the
    token-only view: gunicorn (master and workers), PostgreSQL (all its processes) and the
    benchmark's clients, read from /proc before and after each burst. On a machine whose cores
    are all busy, throughput is cores / total, so these say where the ratio comes from.
Ends with PASS or FAIL (exit status 0 or 1).
"""

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import signup_harness as harness

TARGET_RATIO = 0.5


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=256, help="enterprises signing up (256)")
    parser.add_argument("--capacity", type=int, default=100, help="seats (100)")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    return parser.parse_args()


def counts(activity_id: int) -> dict:
    from activities.models import Activity
    from registrations.enums import RegistrationStatus
    from registrations.models import Registration, RegistrationNotice

    rows = Registration.objects.filter(activity_id=activity_id)
    statuses = Counter(rows.values_list("status", flat=True))
    return {
        "confirmed": statuses[RegistrationStatus.CONFIRMED],
        "waiting": statuses[RegistrationStatus.WAITING],
        "rows": rows.count(),
        "enterprises": rows.values("enterprise_id").distinct().count(),
        "seats_taken": Activity.objects.get(pk=activity_id).confirmed_count,
        "notices": RegistrationNotice.objects.filter(
            registration__activity_id=activity_id, sent_at__isnull=True
        ).count(),
    }


def sign_up_burst(port: int, activity_id: int, people) -> harness.Burst:
    calls = [harness.sign_up_call(activity_id, key, n) for n, (_u, _e, key) in enumerate(people)]
    return harness.burst(port, calls)


def bare_burst(port: int, clients: int) -> harness.Burst:
    body = json.dumps({"note": "bench"}).encode()
    return harness.burst(port, [("POST", "/bench/insert/", body, {})] * clients)


def describe(name: str, result: harness.Burst) -> None:
    codes = " ".join(f"{code}:{n}" for code, n in sorted(result.statuses.items()))
    errors = " ".join(f"{kind}:{n}" for kind, n in result.errors.items())
    print(
        f"{name:<34} {result.seconds:6.2f} s  {result.rps:7.1f} req/s  [{codes}]"
        + (f"  errors {errors}" if errors else "")
    )


def main() -> int:
    args = parse_args()
    info = harness.setup_django()
    try:
        return run(args, info)
    finally:
        if not args.keep:
            harness.drop_database(info)


def run(args, info) -> int:
    from qualitymonth import bench_views

    print(f"Database: postgresql ({info['database']['NAME']}); cache: {info['cache'] or 'locmem'}")
    bench_views.create_table()
    world = harness.seed(args.clients, args.capacity)
    control = harness.open_activity(args.capacity, title="负对照：容量保护关闭")
    harness.reset_rate_limits(world.people)

    server = harness.Server(info)
    try:
        print(f"gunicorn: {server.workers} (qualitymonth/gunicorn_conf.py), DEBUG off")
        warm = harness.open_activity(args.clients, title="预热：每个工作进程先报名一次")
        harness.warm_up(server.port, world.people, sign_up_for=warm.pk)
        print(f"{args.clients} clients, one request each, all at once:\n")
        harness.purge_queue()  # what the warm-up queued

        def measured(run):
            return harness.measure_cpu(server.process.pid, args.clients, run)

        bare_before, bare_cpu = measured(lambda: bare_burst(server.port, args.clients))
        signup, signup_cpu = measured(
            lambda: sign_up_burst(server.port, world.activity_id, world.people)
        )
        token_only, token_cpu = measured(
            lambda: harness.burst(
                server.port,
                [
                    ("POST", "/bench/token-only/", b"{}", {"Authorization": f"Token {key}"})
                    for _u, _e, key in world.people
                ],
            )
        )
        bare_after, _cpu = measured(lambda: bare_burst(server.port, args.clients))
    finally:
        server.stop()
    describe("bare view, one INSERT (before)", bare_before)
    describe("sign-up, 100 seats", signup)
    describe("bare view, one INSERT (after)", bare_after)
    describe("DRF view, token only (context)", token_only)
    found = counts(world.activity_id)
    queued = harness.queued_tasks()
    harness.purge_queue()

    harness.reset_rate_limits(world.people)
    unguarded = harness.Server(info, SIGNUP_CAPACITY_GUARD="false")
    try:
        warm = harness.open_activity(args.clients, title="预热：负对照")
        harness.warm_up(unguarded.port, world.people, sign_up_for=warm.pk)
        negative = sign_up_burst(unguarded.port, control.pk, world.people)
    finally:
        unguarded.stop()
    describe("negative control (guard off)", negative)
    oversold = counts(control.pk)

    bare_rps = (bare_before.rps + bare_after.rps) / 2
    ratio = signup.rps / bare_rps
    five_xx = sum(n for code, n in signup.statuses.items() if code >= 500)
    waiting = args.clients - args.capacity
    print()
    print(
        f"In the database: {found['confirmed']} confirmed, {found['waiting']} waiting, "
        f"{found['rows']} registrations of {found['enterprises']} enterprises; "
        f"seats taken {found['seats_taken']}/{args.capacity}"
    )
    print(
        f"Negative control: {oversold['confirmed']} confirmed for {args.capacity} seats "
        f"(seat counter {oversold['seats_taken']}), {oversold['waiting']} waiting"
    )
    if info["cache"]:
        print(
            f"Emails in the outbox for celery beat (none running): {found['notices']} notices for "
            f"{args.clients} sign-ups; tasks queued on the Redis broker meanwhile: {queued}"
        )
    print("CPU per request (core-ms: web server + PostgreSQL + the benchmark's clients = total):")
    for name, use in (
        ("bare view", bare_cpu),
        ("sign-up", signup_cpu),
        ("DRF token only", token_cpu),
    ):
        total = use.web + use.database + use.clients
        print(
            f"  {name:<15} {use.web:5.2f} + {use.database:5.2f} + {use.clients:5.2f} = {total:5.2f}"
        )
    print(f"Throughput: sign-up {signup.rps:.1f} req/s, bare view {bare_rps:.1f} req/s (mean)")
    print(f"Ratio sign-up / bare view: {ratio:.2f}x (target at least {TARGET_RATIO}x)")
    print(
        f"For context: a DRF view that only authenticates the token answers "
        f"{token_only.rps:.1f} req/s, {token_only.rps / bare_rps:.2f}x the bare view; the "
        f"sign-up does {signup.rps / token_only.rps:.2f}x of that"
    )

    return harness.verdict(
        {
            f"every client answered 201 ({args.clients})": signup.statuses
            == Counter({201: args.clients})
            and not signup.errors,
            "no 5xx": five_xx == 0,
            f"exactly {args.capacity} confirmed": found["confirmed"]
            == found["seats_taken"]
            == args.capacity,
            f"exactly {waiting} waiting": found["waiting"] == waiting,
            "no enterprise registered twice": found["rows"] == found["enterprises"] == args.clients,
            f"throughput at least {TARGET_RATIO}x the bare view": ratio >= TARGET_RATIO,
            "the negative control oversells (the harness sees a race)": oversold["confirmed"]
            > args.capacity,
        }
    )


if __name__ == "__main__":
    sys.exit(main())
