"""Reviewing feedback reports and tracking who has not reported (placeholder until written)."""

from django.http import Http404
from django.urls import path


def report_review(request, pk):  # replaced by the real page
    raise Http404


urlpatterns = [
    path("review/feedback/<int:pk>/", report_review, name="report_review"),
]
