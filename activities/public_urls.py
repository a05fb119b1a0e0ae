"""Public pages of the campaign (no login), under the namespace "public"."""

from django.urls import path

from . import public_views

app_name = "public"

urlpatterns = [
    path("", public_views.activity_list, name="activity_list"),
    path("<int:pk>/", public_views.activity_detail, name="activity_detail"),
    path("<int:pk>/qr.svg", public_views.activity_qr, name="activity_qr"),
]
