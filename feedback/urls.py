"""Feedback after the month: the department's report (workspace), uploads and media, review and
overdue tracking, and the public showcase of typical cases."""

from . import review_views, showcase_views, upload_views, views

app_name = "feedback"

urlpatterns = [
    *views.urlpatterns,
    *upload_views.urlpatterns,
    *review_views.urlpatterns,
    *showcase_views.urlpatterns,
]
