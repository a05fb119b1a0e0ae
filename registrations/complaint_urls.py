from django.urls import path

from . import complaint_views as views

app_name = "complaints"

urlpatterns = [
    # Public: anyone reports fees charged in the campaign's name.
    path("report-fees/", views.report, name="report"),
    path("report-fees/thanks/", views.thanks, name="thanks"),
    # Platform administrators: the queue, a complaint, its evidence.
    path("fee-complaints/", views.queue, name="queue"),
    path("fee-complaints/<str:reference>/", views.detail, name="detail"),
    path(
        "fee-complaints/<str:reference>/evidence/<int:pk>/",
        views.evidence_file,
        name="evidence",
    ),
]
