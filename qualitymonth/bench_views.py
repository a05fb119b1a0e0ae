"""Bare views the benchmarks compare the portal with (bench/signup_burst.py). Mounted under
/bench/ only when the test-only setting BENCH_VIEWS is on (never in production: see
`qualitymonth.switches`).

`insert_one` is "a bare Django view doing one INSERT": no authentication, no form, no service,
no template; one row into ``bench_insert``, a table the benchmark creates in its own database.
"""

from django.db import connection
from django.http import JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

TABLE = "bench_insert"


def create_table() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {TABLE} "
            "(id bigserial PRIMARY KEY, body text NOT NULL, created_at timestamptz NOT NULL)"
        )


@csrf_exempt
@require_POST
def insert_one(request):
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {TABLE} (body, created_at) VALUES (%s, now()) RETURNING id",  # noqa: S608 - a constant table name  # nosec B608
            [request.body.decode("utf-8", "replace")[:1000]],
        )
        (row_id,) = cursor.fetchone()
    return JsonResponse({"id": row_id}, status=201)


app_name = "bench"
urlpatterns = [path("insert/", insert_one, name="insert")]
