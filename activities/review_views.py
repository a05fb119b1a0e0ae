"""Review pages (being written)."""

from django.http import Http404


def _todo(request, *args, **kwargs):
    raise Http404


review_queue = activity_review = _todo
