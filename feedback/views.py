"""The department's feedback report in the staff workspace (placeholder until written)."""

from django.http import Http404
from django.urls import path


def report_edit(request, year):  # replaced by the real page
    raise Http404


urlpatterns = [
    path("workspace/feedback/<int:year>/", report_edit, name="report_edit"),
]
