"""Benchmark: 100 simultaneous replays of one Idempotency-Key sign up exactly once (issue 6).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/qm .venv/bin/python bench/signup_idempotency.py

Set-up as bench/signup_burst.py (bench/signup_harness.py: a database of its own, gunicorn with
qualitymonth/gunicorn_conf.py, DEBUG off), with one enterprise's representative. 100 client
threads, each with its own connection, POST the same sign-up with the same Idempotency-Key at the
same moment (the per-account sign-up limit is off for this run: one account sends them all).

Printed: statuses, seconds, requests per second, how many responses were replays, distinct
response bodies; in the database: registrations and stored keys. Targets: exactly one
registration and one stored key, every response 201 with the same body, 99 of them marked
``Idempotent-Replayed: true``, no 5xx. Then the same key with another body: 422 and still one
registration. Ends with PASS or FAIL (exit status 0 or 1).
"""

import argparse
import json
import sys
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import signup_harness as harness


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replays", type=int, default=100, help="simultaneous replays (100)")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    return parser.parse_args()


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
    from qualitymonth.models import IdempotencyKey
    from registrations.models import Registration

    print(f"Database: postgresql ({info['database']['NAME']}); cache: {info['cache'] or 'locmem'}")
    bench_views.create_table()
    world = harness.seed(1, capacity=100)
    (_user_id, _enterprise_id, token) = world.people[0]
    key = str(uuid.uuid4())
    call = harness.sign_up_call(world.activity_id, token, 1, idempotency_key=key)

    server = harness.Server(info, SIGNUP_RATE_PER_USER="off")
    try:
        print(f"gunicorn: {server.workers} (qualitymonth/gunicorn_conf.py), DEBUG off")
        harness.warm_up(server.port, world.people)
        result = harness.burst(server.port, [call] * args.replays)
        changed = harness.sign_up_call(world.activity_id, token, 2, idempotency_key=key)
        status_changed, body_changed, _h = harness.request(
            "127.0.0.1", server.port, changed[0], changed[1], changed[2], changed[3]
        )
    finally:
        server.stop()

    codes = " ".join(f"{code}:{n}" for code, n in sorted(result.statuses.items()))
    bodies = {json.dumps(json.loads(b), sort_keys=True) for b in result.bodies if b}
    replayed = sum(1 for h in result.headers if h and h.get("Idempotent-Replayed") == "true")
    registrations = Registration.objects.filter(activity_id=world.activity_id).count()
    keys = IdempotencyKey.objects.count()
    print(f"\n{args.replays} replays of one key, all at once:")
    print(f"  {result.seconds:.2f} s, {result.rps:.1f} req/s  [{codes}]")
    print(f"  replays answered from the stored response: {replayed}")
    print(f"  distinct response bodies: {len(bodies)}")
    print(f"  registrations in the database: {registrations}; stored keys: {keys}")
    print(
        f"The same key with another body: {status_changed} {json.loads(body_changed).get('code')}"
    )

    return harness.verdict(
        {
            "exactly one registration": registrations == 1,
            "one stored key": keys == 1,
            f"every response 201 ({args.replays})": result.statuses == {201: args.replays}
            and not result.errors,
            "every response the same body": len(bodies) == 1,
            f"{args.replays - 1} marked as replays": replayed == args.replays - 1,
            "another body with the same key: 422": status_changed == 422,
        }
    )


if __name__ == "__main__":
    sys.exit(main())
