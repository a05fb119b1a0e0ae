"""Staff workspace pages (being written)."""

from django.http import Http404


def _todo(request, *args, **kwargs):
    raise Http404


workspace = activity_create = activity_manage = activity_edit = activity_transition = _todo
