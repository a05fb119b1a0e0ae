"""The organisers' registration pages, under /workspace/registrations/ (namespace "organiser")."""

from django.urls import path

from . import organiser_views as views

app_name = "organiser"

urlpatterns = [
    path("activities/<int:pk>/", views.registrants, name="registrants"),
    path("activities/<int:pk>/capacity/", views.capacity_change, name="capacity"),
    path("activities/<int:pk>/check-in/", views.check_in, name="check_in"),
    path(
        "activities/<int:pk>/registrations.<str:file_format>",
        views.activity_export,
        name="activity_export",
    ),
    # What a check-in QR code should encode, so that a phone's camera app opens it.
    path("check-in/<str:code>/", views.check_in_scan, name="check_in_scan"),
    path("exports/", views.campaign_exports, name="campaign_exports"),
    path(
        "exports/<int:year>/registrations.<str:file_format>",
        views.campaign_export,
        name="campaign_export",
    ),
]
