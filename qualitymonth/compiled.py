"""ORM queries compiled to SQL once per process, for the few lookups every request makes.

Django builds and compiles a query's SQL each time it runs: for a query with subqueries that costs
more than running it. `CompiledQuery` compiles a queryset once, with a marker where one value
goes, and afterwards runs the same SQL with the real value, building the objects (and those of
select_related, and annotations) as the ORM would.
"""

import threading

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
