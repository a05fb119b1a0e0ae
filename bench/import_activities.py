"""Benchmark: the Excel import of 5,000 activities (issue 3), against its targets.

    .venv/bin/python bench/import_activities.py                      # a temporary SQLite file
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/qm \\
        .venv/bin/python bench/import_activities.py                  # a fresh qm_bench database

It sets up its own database (PostgreSQL: `<name>_bench` on the server DATABASE_URL names, created
and dropped; otherwise a temporary SQLite file), loads the reference data (3,220 regions, the 2024
campaign, the departments), writes a workbook of valid rows with the template's columns, and runs
the import task in-process, exactly as a worker would (`run_activity_import.apply`).

Printed: rows, seconds, rows per second, peak memory of the process during the import (VmHWM,
reset just before; ru_maxrss where that is unavailable), and ratios against two baselines
measured in the same run on the same workbook:
  - read: merely reading every row with openpyxl read-only (the floor for any import);
  - bulk: bulk-creating the same activities and their content areas without any validation or
    audit log (the floor for writing them), rolled back afterwards.
PASS/FAIL against the targets: the rows in under 60 seconds and under 300 MB. The exit status is
0 on PASS, 1 on FAIL. `--tracemalloc` adds Python's allocation peak (and slows the import).
"""

import argparse
import datetime as dt
import io
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET_SECONDS = 60.0
TARGET_MB = 300.0


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5000, help="rows in the workbook (5000)")
    parser.add_argument(
        "--tracemalloc", action="store_true", help="also report Python's allocation peak"
    )
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    return parser.parse_args()


def configure_database() -> str:
    """Point Django at a database of the benchmark's own; returns a description of it."""
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        return "postgresql"
    folder = tempfile.mkdtemp(prefix="qm-bench-")
    os.environ["DATABASE_URL"] = f"sqlite:///{folder}/bench.sqlite3"
    return "sqlite"


def reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark of this process (Linux); False where it cannot."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def peak_rss_mb(reset_worked: bool) -> tuple[float, str]:
    if reset_worked:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024, "VmHWM since the import started"
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "ru_maxrss of the process"


def write_workbook(campaign, rows: int, seed: int = 2024) -> bytes:
    """`rows` valid activities under the template's headers (streamed: openpyxl write-only)."""
    from openpyxl import Workbook

    from activities import importing
    from activities.enums import RegionLevel
    from activities.models import Region

    rng = random.Random(seed)  # noqa: S311 (made-up data, not secrets)
    columns = importing.template_columns(campaign)
    areas = {a.number: a for a in campaign.content_areas.all()}
    arrangements = list(campaign.key_arrangements.order_by("number"))
    counties = list(Region.objects.filter(level=RegionLevel.COUNTY).values_list("code", flat=True))
    kinds = [
        "质量开放日",
        "标准化培训班",
        "质量管理小组成果发布会",
        "消费品质量安全进社区",
        "计量惠民义诊",
    ]

    wb = Workbook(write_only=True)
    wb.properties.keywords = f"{importing.KEYWORDS_PREFIX}{campaign.year}"
    ws = wb.create_sheet(importing.DATA_SHEET)
    ws.append([importing._column_header(c, areas) for c in columns])
    for n in range(rows):
        day = rng.randint(1, 28)
        starts = dt.datetime(campaign.year, 9, day, rng.choice((9, 10, 14)))
        signup = rng.random() < 0.6
        chosen_areas = set(rng.sample(sorted(areas), rng.randint(1, 3)))
        values = {
            "title": f"{rng.choice(kinds)}（第{n + 1}场）",
            "key_arrangement": importing.arrangement_label(rng.choice(arrangements)),
            "summary": "面向企业的质量提升活动，免费参加。",
            "description": "上午专家讲座，下午现场交流。" * 3,
            "region": rng.choice(counties),
            "venue": "市民中心报告厅",
            "online_url": "https://live.example.cn/q" if rng.random() < 0.3 else None,
            "starts_at": starts,
            "ends_at": starts + dt.timedelta(hours=3),
            "signup_enabled": importing.YES if signup else importing.NO,
            "capacity": rng.randint(10, 300) if signup else None,
            "signup_opens_at": starts - dt.timedelta(days=20) if signup else None,
            "signup_closes_at": starts - dt.timedelta(days=1) if signup else None,
            "attendees_per_enterprise": rng.randint(1, 5),
            "contact_name": "王老师",
            "contact_phone": f"0571-8{rng.randint(1000000, 9999999)}",
            "contact_email": "zhiliangyue@example.cn",
            "no_fee_declared": importing.YES,
            "co_organisers": None,
        }
        ws.append(
            [
                (importing.YES if c.number in chosen_areas else None)
                if c.kind == importing.AREA
                else values.get(c.key)
                for c in columns
            ]
        )
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def baseline_read(content: bytes) -> tuple[float, int]:
    from openpyxl import load_workbook

    started = time.perf_counter()
    wb = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    count = sum(1 for _row in wb.worksheets[0].iter_rows(min_row=2, values_only=True))
    wb.close()
    return time.perf_counter() - started, count


def baseline_bulk_create(content: bytes, campaign, department, user) -> float:
    """Bulk-create the same rows without validation or audit log, then roll them back."""
    from django.db import transaction
    from openpyxl import load_workbook

    from activities import importing
    from activities.enums import ActivityStatus
    from activities.models import Activity

    wb = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    ws = wb.worksheets[0]
    rows = ws.iter_rows(values_only=True)
    layout, _problems = importing.read_layout(next(rows))
    lookups = importing.Lookups(campaign)
    parsed = [importing.parse_row(n, v, layout, lookups) for n, v in enumerate(rows, start=2)]
    wb.close()

    started = time.perf_counter()
    with transaction.atomic():
        activities = Activity.objects.bulk_create(
            [
                Activity(
                    campaign=campaign,
                    organiser=department,
                    created_by=user,
                    status=ActivityStatus.DRAFT,
                    **row.fields,
                )
                for row in parsed
            ],
            batch_size=500,
        )
        through = Activity.content_areas.through
        through.objects.bulk_create(
            [
                through(activity_id=activity.pk, contentarea_id=area.pk)
                for activity, row in zip(activities, parsed, strict=True)
                for area in row.content_areas
            ],
            batch_size=1000,
        )
        elapsed = time.perf_counter() - started
        transaction.set_rollback(True)
    return elapsed


def main() -> int:
    args = parse_args()
    engine = configure_database()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qualitymonth.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.files.base import ContentFile
    from django.db import connection

    database = settings.DATABASES["default"]
    if engine == "postgresql":
        database.setdefault("TEST", {})["NAME"] = f"{database['NAME']}_bench"
    else:
        database.setdefault("TEST", {})["NAME"] = database["NAME"]
    settings.MEDIA_ROOT = tempfile.mkdtemp(prefix="qm-bench-media-")
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    old_name = database["NAME"]
    test_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        return run(args, engine, test_name, ContentFile)
    finally:
        if not args.keep:
            connection.creation.destroy_test_db(old_name, verbosity=0)


def run(args, engine: str, database_name: str, ContentFile) -> int:
    from accounts.models import DepartmentMembership, User
    from activities.enums import ActivityStatus, DepartmentLevel
    from activities.models import (
        Activity,
        ActivityImport,
        ActivityImportStatus,
        Campaign,
        Department,
    )
    from activities.reference_data import load_reference_data
    from activities.tasks import run_activity_import

    print(f"Database: {engine} ({database_name})")
    started = time.perf_counter()
    load_reference_data()
    campaign = Campaign.objects.get(year=2024)
    department = Department.objects.filter(level=DepartmentLevel.PROVINCIAL).order_by("pk").first()
    user = User.objects.create_user(email="bench@example.cn", password=None, full_name="基准测试")
    DepartmentMembership.objects.create(user=user, department=department)
    print(f"Reference data loaded in {time.perf_counter() - started:.1f} s.")

    started = time.perf_counter()
    content = write_workbook(campaign, args.rows)
    print(
        f"Workbook of {args.rows:,} rows written in {time.perf_counter() - started:.1f} s "
        f"({len(content) / 1024 / 1024:.1f} MB)."
    )

    read_seconds, counted = baseline_read(content)
    assert counted == args.rows, counted
    bulk_seconds = baseline_bulk_create(content, campaign, department, user)

    job = ActivityImport(
        campaign=campaign,
        department=department,
        created_by=user,
        original_name="bench.xlsx",
    )
    job.file.save("bench.xlsx", ContentFile(content), save=False)
    job.save()

    if args.tracemalloc:
        import tracemalloc

        tracemalloc.start()
    reset_worked = reset_peak_rss()
    started = time.perf_counter()
    run_activity_import.apply(args=(job.pk,))
    seconds = time.perf_counter() - started
    peak_mb, peak_kind = peak_rss_mb(reset_worked)
    traced_mb = None
    if args.tracemalloc:
        traced_mb = tracemalloc.get_traced_memory()[1] / 1024 / 1024
        tracemalloc.stop()

    job.refresh_from_db()
    created = Activity.objects.filter(status=ActivityStatus.DRAFT, organiser=department).count()
    print()
    print(
        f"Import status:        {job.status} ({job.created_count:,} created, "
        f"{job.error_count} errors)"
    )
    print(f"Rows:                 {job.rows_total:,}")
    print(f"Seconds:              {seconds:.2f}")
    print(f"Rows per second:      {job.rows_total / seconds:,.0f}")
    print(f"Peak memory:          {peak_mb:.0f} MB ({peak_kind})")
    if traced_mb is not None:
        print(f"Python peak (traced): {traced_mb:.0f} MB (tracemalloc; timing slowed by it)")
    print(f"Baseline read:        {read_seconds:.2f} s (openpyxl read-only, every row)")
    print(f"Baseline bulk create: {bulk_seconds:.2f} s (no validation, no audit log)")
    print(f"Ratio to read:        {seconds / read_seconds:.1f}x")
    print(f"Ratio to bulk create: {seconds / bulk_seconds:.1f}x")

    checks = {
        "every row imported": job.status == ActivityImportStatus.DONE
        and job.created_count == created == args.rows,
        f"under {TARGET_SECONDS:.0f} s": seconds < TARGET_SECONDS,
        f"under {TARGET_MB:.0f} MB": peak_mb < TARGET_MB,
    }
    print()
    for name, ok in checks.items():
        print(f"{'PASS' if ok else 'FAIL'}  {name}")
    verdict = all(checks.values())
    print(
        f"\n{'PASS' if verdict else 'FAIL'}: {args.rows:,} rows in {seconds:.1f} s, "
        f"{peak_mb:.0f} MB peak (targets: {TARGET_SECONDS:.0f} s, {TARGET_MB:.0f} MB)"
    )
    return 0 if verdict else 1


if __name__ == "__main__":
    sys.exit(main())
