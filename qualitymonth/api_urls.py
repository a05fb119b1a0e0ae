"""/api/v1/: one router for every app's endpoints."""

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from accounts import api as accounts_api
from activities import api as activities_api
from registrations import api as registrations_api

router = DefaultRouter()
activities_api.register(router)
registrations_api.register(router)
accounts_api.register(router)

urlpatterns = [path("", include(router.urls))]
