from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.i18n import set_language
from drf_spectacular.views import SpectacularAPIView

from . import health, metrics, views
from .api_docs import OfflineRedocView, OfflineSwaggerView

admin.site.site_header = admin.site.site_title = views.ADMIN_TITLE
admin.site.index_title = views.ADMIN_INDEX_TITLE

urlpatterns = [
    path("", views.home, name="home"),
    path("i18n/setlang/", set_language, name="set_language"),
    path("i18n/<str:code>/", views.switch_language, name="switch_language"),
    path("accounts/", include("accounts.urls")),
    path("", include("activities.urls")),
    path("workspace/registrations/", include("registrations.organiser_urls")),
    path("", include("registrations.complaint_urls")),
    path("activities/", include("activities.public_urls")),
    path("calendar/", include("activities.calendar_urls")),
    path("registrations/", include("registrations.urls")),
    path("", include("feedback.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("qualitymonth.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", OfflineSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/redoc/", OfflineRedocView.as_view(url_name="api-schema"), name="api-redoc"),
    # Answered by qualitymonth.health.OperationsMiddleware before the site's middleware; named
    # here for reverse().
    path("health/live", health.live, name="health-live"),
    path("health/ready", health.ready, name="health-ready"),
    path("metrics", metrics.metrics, name="metrics"),
]

if settings.BENCH_VIEWS:  # test-only (bench/); refused in production by qualitymonth.switches
    urlpatterns.append(path("bench/", include("qualitymonth.bench_views")))

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

handler403 = "qualitymonth.views.permission_denied"
handler404 = "qualitymonth.views.page_not_found"
handler500 = "qualitymonth.views.server_error"
