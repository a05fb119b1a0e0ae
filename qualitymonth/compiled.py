"""Queries whose preparation is done once, for the hot paths.

Django builds and compiles a query's SQL each time it runs: for a query with subqueries that costs
more than running it. `CompiledQuery` compiles a queryset once, with a marker where one value
goes, and afterwards runs the same SQL with the real value, building the objects (and those of
select_related, and annotations) as the ORM would.

PostgreSQL, in turn, parses and plans each statement it receives. `fetch_one_prepared` runs a
constant statement as a prepared statement: planned once per database connection, then only
executed (for the sign-up's statement that halves the database's CPU per sign-up).
"""

import functools
import threading

from django.conf import settings
from django.db import connections
from django.db.models.query import get_related_populators

MARKER = "\x00compiled-query-value\x00"


class CompiledQuery:
    """`build(MARKER)` gives the queryset (one filter value is MARKER); `first(value)` runs it
    with `value` and gives the first object or None."""

    def __init__(self, build, using: str = "default"):
        self._build, self._using = build, using
        self._compiled = None
        self._lock = threading.Lock()

    def _compile(self):
        with self._lock:
            if self._compiled is None:
                queryset = self._build(MARKER)
                compiler = queryset.query.get_compiler(using=self._using)
                sql, params = compiler.as_sql()
                slot = list(params).index(MARKER)
                info = compiler.klass_info
                start, end = info["select_fields"][0], info["select_fields"][-1] + 1
                names = [column[0].target.attname for column in compiler.select[start:end]]
                self._compiled = (compiler, sql, list(params), slot, start, end, names)
        return self._compiled

    def first(self, value):
        compiler, sql, params, slot, start, end, names = self._compiled or self._compile()
        params = [*params[:slot], value, *params[slot + 1 :]]
        connection = connections[self._using]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchmany(1)
        if not rows:
            return None
        [row] = list(compiler.results_iter([rows]))
        model = compiler.klass_info["model"]
        obj = model.from_db(self._using, names, row[start:end])
        for populator in get_related_populators(compiler.klass_info, compiler.select, self._using):
            populator.populate(row, obj)
        for name, position in compiler.annotation_col_map.items():
            setattr(obj, name, row[position])
        return obj


def fetch_one_prepared(sql: str, params, *, using: str = "default"):
    """Run `sql` (with ``%s`` placeholders; always the same text) and return its first row or
    None. On PostgreSQL it is bound on the server and prepared once per connection, unless
    DATABASE_PREPARED_STATEMENTS is off (behind a pooler that cannot keep prepared statements);
    elsewhere it runs as any query. Goes through Django's cursor wrapper all the same: errors are
    Django's, and the query is logged with the others (DEBUG, CaptureQueriesContext)."""
    connection = connections[using]
    if connection.vendor != "postgresql" or not settings.DATABASE_PREPARED_STATEMENTS:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()
    connection.ensure_connection()
    raw = _preparing_cursor_class()(connection.connection)
    logged = connection.queries_logged
    wrap = connection.make_debug_cursor if logged else connection.make_cursor
    with wrap(raw) as cursor:
        try:
            cursor.execute(sql, params)
            return cursor.fetchone()
        finally:
            # Django reads the logged SQL off client-bound cursors only.
            if logged and connection.queries_log and connection.queries_log[-1]["sql"] is None:
                connection.queries_log[-1]["sql"] = connection.ops.compose_sql(sql, params)


@functools.cache
def _preparing_cursor_class():
    """Django's server-binding cursor, asking psycopg to prepare every statement it runs (psycopg
    prepares only where the connection's prepare_threshold is set: see settings.DATABASES)."""
    from django.db.backends.postgresql.base import ServerBindingCursor

    class PreparingCursor(ServerBindingCursor):
        def execute(self, query, params=None, *, prepare=None, binary=None):
            return super().execute(query, params, prepare=True, binary=binary)

    return PreparingCursor
