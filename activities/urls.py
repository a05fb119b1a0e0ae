from django.urls import path

from . import import_views, review_views, views

app_name = "activities"

urlpatterns = [
    # Staff workspace: the activities of the person's department (and those it co-organises).
    path("workspace/activities/", views.workspace, name="workspace"),
    path("workspace/activities/new/", views.activity_create, name="activity_create"),
    path("workspace/activities/<int:pk>/", views.activity_manage, name="activity_manage"),
    path("workspace/activities/<int:pk>/edit/", views.activity_edit, name="activity_edit"),
    path(
        "workspace/activities/<int:pk>/<str:action>/",
        views.activity_transition,
        name="activity_transition",
    ),
    # Bulk import from Excel.
    path("workspace/import/", import_views.import_start, name="import_start"),
    path("workspace/import/template.xlsx", import_views.import_template, name="import_template"),
    path("workspace/import/<int:pk>/", import_views.import_detail, name="import_detail"),
    path("workspace/import/<int:pk>/status/", import_views.import_status, name="import_status"),
    path(
        "workspace/import/<int:pk>/annotated.xlsx",
        import_views.import_annotated,
        name="import_annotated",
    ),
    # Review: the reviewers' queue and review page.
    path("review/activities/", review_views.review_queue, name="review_queue"),
    path("review/activities/<int:pk>/", review_views.activity_review, name="activity_review"),
]
