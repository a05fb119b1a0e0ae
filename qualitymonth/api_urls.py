"""/api/v1/: one router for every app's endpoints."""

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from accounts import api as accounts_api
from activities import api as activities_api
from feedback import api as feedback_api
from registrations import api as registrations_api


class PortalRouter(DefaultRouter):
    """DRF's router, plus single-object endpoints that are no viewset (``/me/``), listed in the
    API root like the rest. No ``.json`` suffix routes: clients ask with the Accept header."""

    include_format_suffixes = False

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.views: list[tuple[str, object, str]] = []

    def register_view(self, prefix: str, view, name: str) -> None:
        """Serve `view` (an APIView's ``as_view()``) at ``<prefix>/`` under the URL name `name`."""
        self.views.append((prefix, view, name))

    def get_api_root_view(self, api_urls=None):
        list_name = self.routes[0].name
        api_root_dict = {
            prefix: list_name.format(basename=basename) for prefix, _vs, basename in self.registry
        }
        api_root_dict.update({prefix: name for prefix, _view, name in self.views})
        return self.APIRootView.as_view(api_root_dict=dict(sorted(api_root_dict.items())))

    def get_urls(self):
        return [
            *(path(f"{prefix}/", view, name=name) for prefix, view, name in self.views),
            *super().get_urls(),
        ]


router = PortalRouter()
activities_api.register(router)
registrations_api.register(router)
accounts_api.register(router)
feedback_api.register(router)

urlpatterns = [path("", include(router.urls))]
