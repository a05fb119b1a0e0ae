"""Benchmark: Chinese search in the public list (issue 4), against its targets.

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/qm_p2_large
    (seed the large size and run reindex_search first: see bench/public_list.py)
    .venv/bin/python bench/search.py

For queries of one, two and four characters (common and rare ones, and one without any match) it
runs what the list page runs for a search, on the seeded database DATABASE_URL names (read only):
the page of 20 rows in date order (21 fetched, to know whether there is a next page) and the
count (for a search on PostgreSQL the planner's estimate, see activity_count: EXPLAIN only).
Printed per query: the page plan's key lines (EXPLAIN ANALYZE), whether it reads
activities_activity with a sequential scan, which index serves it, and the median time of the
page and the count together over --runs runs. A rare term is found through the search index
(activity_search_text_gin); for a common one PostgreSQL rightly walks the date-ordered listing
index and stops after a page, testing each row (cheap strpos first, then the tsvector).
Targets: no sequential scan on activities_activity; median under 100 ms. Ends with PASS or FAIL.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qualitymonth.settings")

QUERIES = [
    ("质", "1 character, in nearly every activity"),
    ("医", "1 character, rarer"),
    ("计量", "2 characters, common"),
    ("医药", "2 characters, rare"),
    ("质量强国", "4 characters"),
    ("自愿报名", "4 characters, in many descriptions"),
    ("质量提升", "4 characters, common in titles"),
    ("火箭发射", "4 characters, no match"),
]
TARGET_MS = 100.0
KEY_WORDS = ("Scan", "Sort", "Limit", "Execution Time")


def plan_lines(queryset) -> list[str]:
    from django.db import connection

    sql, params = queryset.query.get_compiler(connection=connection).as_sql()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN ANALYZE " + sql, params)
        return [row[0] for row in cursor.fetchall()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    import django

    django.setup()
    from django.db import connection
    from django.utils import timezone

    from activities.public_views import PER_PAGE, activities_filtered, activity_count
    from activities.selectors import campaign_current

    if connection.vendor != "postgresql":
        print("The search index exists on PostgreSQL only: set DATABASE_URL.")
        return 1
    campaign = campaign_current()
    print(f"Database: {connection.settings_dict['NAME']}, current campaign {campaign.year}")
    ok = True
    summary = []
    for query, what in QUERIES:
        activities = activities_filtered(campaign, {"q": query}, now=timezone.now())
        page = (
            activities.select_related("organiser", "region", "region__parent")
            .defer("description", "search_text", "summary", "cancellation_reason")
            .order_by("starts_at", "pk")[: PER_PAGE + 1]
        )

        def run(page=page, activities=activities):
            started = time.perf_counter()
            rows = list(page.all())  # a fresh query each time
            count = activity_count(
                activities,
                searching=True,
                shown=min(len(rows), PER_PAGE),
                complete=len(rows) <= PER_PAGE,
            )
            return time.perf_counter() - started, count

        run()
        times, count = [], None
        for _ in range(args.runs):
            elapsed, count = run()
            times.append(elapsed * 1000)
        median = statistics.median(times)
        plans = {"page": plan_lines(page)}
        seq = any(
            "Seq Scan on activities_activity" in line for lines in plans.values() for line in lines
        )
        text = "\n".join(plans["page"])
        gin = "activity_search_text_gin" in text
        index = "search index" if gin else ("listing index" if "listing_idx" in text else "other")
        good = not seq and median < TARGET_MS
        ok &= good
        number, kind = count
        shown = {"exact": f"{number}", "more": f"more than {number}", "about": f"about {number}"}
        print(
            f"\n{query}  ({what}): {shown[kind]} matches, median {median:.1f} ms over {args.runs}"
        )
        for name, lines in plans.items():
            print(f"  {name}:")
            for line in lines:
                if any(word in line for word in KEY_WORDS):
                    print(f"    {line.strip()[:110]}")
        summary.append((query, len(query), median, seq, index, good))

    print("\nquery     chars  median ms  seq scan  served by      verdict")
    for query, chars, median, seq, index, good in summary:
        print(
            f"{query:<8}{chars:>6}{median:>11.1f}  {'YES' if seq else 'no':>8}  "
            f"{index:<13}  {'ok' if good else 'FAIL'}"
        )
    print(f"(targets: no sequential scan on activities_activity, median < {TARGET_MS:.0f} ms)")
    print("\nPASS" if ok else "\nFAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
