"""Benchmark: the CSV export of 1,000,000 registrations (issue 4), against its targets.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/qm_p6_large \\
        .venv/bin/python bench/export_registrations.py

Needs a PostgreSQL database seeded with seed_demo's large size (it does not seed one itself:
that takes a few minutes and is done once):

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/qm_p6_large
    .venv/bin/python manage.py migrate && .venv/bin/python manage.py load_reference_data
    .venv/bin/python manage.py seed_demo --activities 100000 --enterprises 200000 \\
        --registrations 1000000

Measured in one run, on the same rows:
  - view: an administrator's campaign export (/workspace/registrations/exports/<year>/
    registrations.csv) through Django's full request handling (the test client, in process),
    the streamed body consumed and counted;
  - COPY: PostgreSQL's own COPY of exactly the statement the view relays, run by psql with its
    output to /dev/null (the floor for any export).
Each is run twice and the faster run counts. Throughput is rows per second; target: the view at
least half of COPY's.
Memory: the view's export in a fresh subprocess, its peak RSS (ru_maxrss) at the whole campaign
(1,000,000 rows) against one key arrangement's share (about 100,000 rows); target at most 1.2x.
PASS/FAIL at the end; exit status 0 on PASS, 1 on FAIL. The exports are audit-logged like any.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET_RATIO = 0.5
TARGET_MEMORY_RATIO = 1.2
SMALL_TARGET_ROWS = 100_000


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2, help="runs of each, the best counts (2)")
    parser.add_argument("--child", help=argparse.SUPPRESS)  # JSON: the subprocess's export
    return parser.parse_args()


def setup_django():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qualitymonth.settings")
    import django

    django.setup()
    from django.test.utils import setup_test_environment

    setup_test_environment()  # lets the test client's host in; mail stays in memory


def admin_client():
    from django.test import Client

    from accounts.models import User

    admin = User.objects.filter(is_superuser=True, is_active=True).order_by("pk").first()
    if admin is None:
        sys.exit("No administrator in this database: run seed_demo first.")
    client = Client()
    client.cookies["django_language"] = "en"
    client.force_login(admin)
    return client


def export_url(year: int, query: dict) -> tuple[str, dict]:
    from django.urls import reverse

    return reverse("organiser:campaign_export", args=[year, "csv"]), query


def run_view(client, year: int, query: dict) -> tuple[float, int, int]:
    """Seconds, bytes and lines of one export through the view."""
    url, params = export_url(year, query)
    started = time.perf_counter()
    response = client.get(url, params)
    assert response.status_code == 200, response.status_code
    assert response.streaming, "the export must stream"
    size = lines = 0
    for chunk in response.streaming_content:
        size += len(chunk)
        lines += chunk.count(b"\n")
    response.close()
    return time.perf_counter() - started, size, lines


def copy_sql(year: int, query: dict) -> str:
    """The literal COPY statement the view sends for this export."""
    from django.db import connection
    from django.utils import translation
    from psycopg import ClientCursor

    from activities.models import Campaign
    from registrations import exports
    from registrations.models import Registration

    campaign = Campaign.objects.get(year=year)
    registrations = Registration.objects.filter(activity__campaign=campaign)
    if "key_arrangement" in query:
        registrations = registrations.filter(
            activity__key_arrangement__number=query["key_arrangement"]
        )
    export = exports.RegistrationExport(
        registrations=registrations, with_activity=True, personal_data=True, filename="x"
    )
    with translation.override("en"):
        statement, params = exports.copy_statement(export, connection)
    connection.ensure_connection()
    return ClientCursor(connection.connection).mogrify(statement, params)


def run_psql_copy(sql: str) -> float:
    url = os.environ["DATABASE_URL"]
    started = time.perf_counter()
    with open(os.devnull, "wb") as devnull:
        subprocess.run(  # noqa: S603 (our own statement, to the server DATABASE_URL names)
            ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", url, "-c", sql],  # noqa: S607
            stdout=devnull,
            check=True,
        )
    return time.perf_counter() - started


def child(spec: str) -> None:
    """In a fresh process: one export through the view; prints rows, seconds and peak RSS."""
    setup_django()
    options = json.loads(spec)
    client = admin_client()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    seconds, size, lines = run_view(client, options["year"], options["query"])
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "rows": lines - 1,
                "seconds": seconds,
                "bytes": size,
                "rss_before_kb": before,
                "peak_kb": peak,
            }
        )
    )


def measure_in_subprocess(year: int, query: dict) -> dict:
    spec = json.dumps({"year": year, "query": query})
    done = subprocess.run(  # noqa: S603 (this script, run again)
        [sys.executable, __file__, "--child", spec],
        capture_output=True,
        text=True,
        check=True,
        env=os.environ,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    args = parse_args()
    if args.child:
        child(args.child)
        return 0
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        sys.exit("Set DATABASE_URL to the seeded PostgreSQL database (see the docstring).")
    setup_django()
    from django.db.models import Count

    from activities.models import Campaign, KeyArrangement
    from registrations.models import Registration

    campaign = (
        Campaign.objects.annotate(n=Count("activities__registrations")).order_by("-n").first()
    )
    total = Registration.objects.filter(activity__campaign=campaign).count() if campaign else 0
    if total < 1_000_000:
        sys.exit(
            f"The largest campaign has {total:,} registrations; seed 1,000,000 first "
            "(see the docstring)."
        )
    # The key arrangement whose registrations come nearest 100,000: the small export.
    shares = (
        KeyArrangement.objects.filter(campaign=campaign)
        .annotate(n=Count("activities__registrations"))
        .values_list("number", "n")
    )
    small_number, small_rows = min(shares, key=lambda s: abs(s[1] - SMALL_TARGET_ROWS))
    year = campaign.year
    print(
        f"Campaign {year}: {total:,} registrations; small export: key arrangement "
        f"{small_number}, {small_rows:,} registrations."
    )

    sql = copy_sql(year, {})
    client = admin_client()
    view_runs, copy_runs = [], []
    size = lines = 0
    for run in range(1, args.runs + 1):
        copy_runs.append(run_psql_copy(sql))
        seconds, size, lines = run_view(client, year, {})
        view_runs.append(seconds)
        print(f"  run {run}: COPY {copy_runs[-1]:.2f} s, view {seconds:.2f} s")
    rows = lines - 1
    assert rows >= total, f"the export wrote {rows:,} lines for {total:,} registrations"
    copy_seconds, view_seconds = min(copy_runs), min(view_runs)
    copy_rate, view_rate = total / copy_seconds, total / view_seconds
    ratio = view_rate / copy_rate

    big = measure_in_subprocess(year, {})
    small = measure_in_subprocess(year, {"key_arrangement": small_number})
    memory_ratio = big["peak_kb"] / small["peak_kb"]

    print()
    print(f"CSV export of {total:,} registrations ({size / 1e6:,.0f} MB)")
    print(
        f"  PostgreSQL COPY (psql > /dev/null): {copy_seconds:6.2f} s  {copy_rate:>10,.0f} rows/s"
    )
    print(
        f"  Django view, streamed:              {view_seconds:6.2f} s  {view_rate:>10,.0f} rows/s"
    )
    print(f"  ratio view / COPY: {ratio:.2f}x (target >= {TARGET_RATIO}x)")
    print("Peak memory of the exporting process (ru_maxrss, fresh subprocess each)")
    for label, found in ((f"{big['rows']:,} rows", big), (f"{small['rows']:,} rows", small)):
        print(
            f"  {label:>14}: {found['peak_kb'] / 1024:7.1f} MB peak "
            f"({found['rss_before_kb'] / 1024:.1f} MB before the request), "
            f"{found['seconds']:.2f} s"
        )
    print(f"  ratio: {memory_ratio:.2f}x (target <= {TARGET_MEMORY_RATIO}x)")
    passed = ratio >= TARGET_RATIO and memory_ratio <= TARGET_MEMORY_RATIO
    print("PASS" if passed else "FAIL")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
