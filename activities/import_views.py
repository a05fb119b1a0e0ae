"""Excel import pages (being written)."""

from django.http import Http404


def _todo(request, *args, **kwargs):
    raise Http404


import_start = import_template = import_detail = import_status = import_annotated = _todo
