"""Bare views the benchmarks compare the portal with (bench/signup_burst.py). Mounted under
/bench/ only when the test-only setting BENCH_VIEWS is on (never in production: see
`qualitymonth.switches`).

`insert_one` is "a bare Django view doing one INSERT": no authentication, no form, no service,
no template; one row into ``bench_insert``, a table the benchmark creates in its own database.

`token_only` is, for context, the floor under any API endpoint: a DRF view with the API's
authentication (a personal token) that does nothing else and answers 201.

`template_page` is "a bare Django template view" (bench/public_pages.py): no database, no
service, a template of the portal's layout rendered with `?bytes=` worth of plain rows, so that
its answer is the size of the page it is compared with.
"""

from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.template import engines
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


_ROW = (
    '<li class="card"><h3><a href="/activities/{{ forloop.counter }}/">{{ row }}</a></h3>'
    "<p>浙江省 杭州市 西湖区 · 2030年9月10日 09:00</p><p>企业开放生产线，公众参观</p></li>"
)
_PAGE = engines["django"].from_string(
    '{% extends "base.html" %}{% block title %}Bench{% endblock %}{% block content %}'
    "<h1>质量月活动</h1><ul>{% for row in rows %}" + _ROW + "{% endfor %}</ul>{% endblock %}"
)


_ROWS_FOR_BYTES: dict[int, int] = {}


def template_page(request):
    """The layout (base.html, with its context processors) and `bytes` bytes of rows; the number
    of rows for a size is worked out on the first request and kept, so that each request
    renders the template once."""
    try:
        wanted = min(int(request.GET.get("bytes", 30_000)), 2_000_000)
    except ValueError:
        wanted = 30_000
    if wanted not in _ROWS_FOR_BYTES:
        empty = len(_PAGE.render({"rows": []}, request).encode())
        row = len(_PAGE.render({"rows": ["质量开放日"]}, request).encode()) - empty
        _ROWS_FOR_BYTES[wanted] = max(0, (wanted - empty) // max(1, row))
    rows = ["质量开放日"] * _ROWS_FOR_BYTES[wanted]
    return HttpResponse(_PAGE.render({"rows": rows}, request))


def _token_only_view():
    from rest_framework import permissions
    from rest_framework.response import Response
    from rest_framework.views import APIView

    class TokenOnly(APIView):
        permission_classes = [permissions.IsAuthenticated]

        def post(self, request):
            return Response({"user": request.user.pk}, status=201)

    return TokenOnly.as_view()


app_name = "bench"
urlpatterns = [
    path("insert/", insert_one, name="insert"),
    path("page/", template_page, name="page"),
    path("token-only/", _token_only_view(), name="token_only"),
]
