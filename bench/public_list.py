"""Benchmark: the public list of activities (issue 4), against its targets.

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/qm_p2_large
    .venv/bin/python manage.py migrate && .venv/bin/python manage.py load_reference_data
    .venv/bin/python manage.py seed_demo --activities 100000 --enterprises 200000 \\
        --registrations 1000000
    .venv/bin/python manage.py reindex_search
    .venv/bin/python bench/public_list.py

It reads the seeded database DATABASE_URL names (it writes nothing) and serves every request
in-process through Django's test Client: the whole middleware stack, URL routing, the view, the
templates, as a WSGI server would run them, minus the socket. DEBUG is off.

Printed, all measured in this run:
  - SQL queries of the list with 1 and with 50 rows per page (target: the same), plain and with
    filters and a search;
  - median time of page 1 and of page 5,000 (10 rows per page, reached through the cursor of the
    page before; target: page 5,000 at most 2x page 1);
  - throughput of page 1 (20 rows) against a bare Django view that renders a template of the same
    size (the list page's own HTML as a static template), served the same way (target: at least
    half the bare view's requests per second).
Ends with PASS or FAIL (exit status 0 or 1).
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
os.environ.setdefault("DEBUG", "false")

PAGE_DEEP = 5000
DEEP_PER_PAGE = 10


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300, help="requests per measurement")
    return parser.parse_args()


def median_ms(client, url: str, n: int) -> float:
    times = []
    for _ in range(n):
        started = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - started)
        assert response.status_code == 200, (url, response.status_code)
    return statistics.median(times) * 1000


def throughput(client, url: str, n: int) -> float:
    started = time.perf_counter()
    for _ in range(n):
        response = client.get(url)
        assert response.status_code == 200
    return n / (time.perf_counter() - started)


def main() -> int:
    args = parse_args()
    import django

    django.setup()
    from django.conf import settings
    from django.core.cache import cache
    from django.db import connection
    from django.http import HttpResponse
    from django.template import engines
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, override_settings
    from django.urls import clear_url_caches, path

    from activities.models import Activity
    from activities.public_views import activities_public, cursor_of
    from activities.selectors import campaign_current

    campaign = campaign_current()
    public = activities_public().filter(campaign=campaign).count() if campaign else 0
    needed = PAGE_DEEP * DEEP_PER_PAGE
    if public < needed:
        print(
            f"The database holds {public} public activities of the current campaign; page "
            f"{PAGE_DEEP} needs {needed}. Seed the large size first (see the docstring)."
        )
        return 1
    print(
        f"Database: {connection.vendor}, {Activity.objects.count():,} activities, "
        f"{public:,} public in {campaign.year}."
    )

    client = Client()
    client.cookies["django_language"] = "zh-hans"
    ok = True
    # Queries and page times are measured with the list's cache off: the work itself.
    uncached = override_settings(PUBLIC_LIST_CACHE_SECONDS=0)
    uncached.enable()

    # --- queries ----------------------------------------------------------------------------
    filtered = "&province=330000&key_arrangement=2&q=%E8%B4%A8%E9%87%8F"  # q=质量
    print("\nSQL queries per request (target: the same for 1 and 50 rows)")
    for label, extra in (("plain", ""), ("filters + search", filtered)):
        counts = []
        for size in (1, 50):
            client.get(f"/activities/?per_page={size}{extra}")
            with CaptureQueriesContext(connection) as queries:
                client.get(f"/activities/?per_page={size}{extra}")
            counts.append(len(queries))
        same = counts[0] == counts[1]
        ok &= same
        verdict = "same" if same else "DIFFERENT"
        print(f"  {label:<18} 1 row: {counts[0]:>2}   50 rows: {counts[1]:>2}   {verdict}")

    # --- page 1 against page 5,000 ---------------------------------------------------------
    before_deep = (
        activities_public()
        .filter(campaign=campaign)
        .order_by("starts_at", "pk")
        .only("pk", "starts_at")[needed - DEEP_PER_PAGE - 1]
    )
    first_url = f"/activities/?per_page={DEEP_PER_PAGE}"
    deep_url = f"{first_url}&after={cursor_of(before_deep)}"
    n = args.requests
    for url in (first_url, deep_url):  # warm up
        median_ms(client, url, 20)
    first_ms = median_ms(client, first_url, n)
    deep_ms = median_ms(client, deep_url, n)
    first_ms = min(first_ms, median_ms(client, first_url, n))  # interleaved, best of two
    deep_ms = min(deep_ms, median_ms(client, deep_url, n))
    ratio = deep_ms / first_ms
    ok &= ratio <= 2.0
    print(f"\nPage 1 against page {PAGE_DEEP:,} ({DEEP_PER_PAGE} rows per page, median of {n})")
    print(f"  page 1        {first_ms:7.2f} ms")
    print(f"  page {PAGE_DEEP:,}    {deep_ms:7.2f} ms   ratio {ratio:.2f}x (target <= 2x)")

    # --- throughput against a bare view ------------------------------------------------------
    list_url = "/activities/"
    html = client.get(list_url).content
    uncached_rate = throughput(client, list_url, n)
    uncached.disable()
    cache_seconds = settings.PUBLIC_LIST_CACHE_SECONDS
    page = html.decode()
    opening = '<main id="main" tabindex="-1">\n    <div class="container">'
    content = page[page.index(opening) + len(opening) : page.rindex("</div>\n  </main>")]
    templates = {
        # The portal's layout (base.html) with the list page's content as static text.
        "layout": engines["django"].from_string(
            '{% extends "base.html" %}{% load static %}{% block title %}Activities{% endblock %}'
            '{% block extra_head %}<link rel="stylesheet" href="{% static \'css/public.css\' %}">'
            "{% endblock %}{% block content %}{% verbatim %}"
            + content
            + "{% endverbatim %}{% endblock %}"
        ),
        # The whole page as one static template: no layout at all.
        "static": engines["django"].from_string("{% verbatim %}" + page + "{% endverbatim %}"),
    }

    def bare(request, kind):
        return HttpResponse(templates[kind].render({}, request))

    import qualitymonth.urls as portal_urls

    module = type(sys)("bench_urls")
    module.urlpatterns = [path("bench/bare/<str:kind>/", bare), *portal_urls.urlpatterns]
    sys.modules["bench_urls"] = module
    with override_settings(ROOT_URLCONF="bench_urls"):
        clear_url_caches()
        cache.clear()
        sizes = {kind: len(client.get(f"/bench/bare/{kind}/").content) for kind in templates}
        # Alternating rounds, best of each: all see the same load on the machine.
        ours, layout, static = 0.0, 0.0, 0.0
        for _ in range(4):
            ours = max(ours, throughput(client, list_url, n))
            layout = max(layout, throughput(client, "/bench/bare/layout/", n))
            static = max(static, throughput(client, "/bench/bare/static/", n))
    clear_url_caches()
    share = ours / layout
    ok &= share >= 0.5
    print(f"\nThroughput, page 1 with 20 rows ({len(html):,} bytes), best of 4 rounds of {n}")
    print(f"  bare view, layout + static content ({sizes['layout']:,} bytes)  {layout:6.0f} req/s")
    print(f"  bare view, whole page static ({sizes['static']:,} bytes)        {static:6.0f} req/s")
    print(
        f"  list page, as deployed (results cached {cache_seconds} s)    {ours:6.0f} req/s"
        f"   {share:.2f}x the layout view (target >= 0.5x), {ours / static:.2f}x the static one"
    )
    print(
        f"  list page, cache off                         {uncached_rate:6.0f} req/s"
        f"   {uncached_rate / layout:.2f}x the layout view, {uncached_rate / static:.2f}x static"
    )

    print("\nPASS" if ok else "\nFAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
