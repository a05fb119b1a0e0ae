"""/api/v1/ endpoints for campaign reference data and activities (read-only for now)."""

from django.db.models import Prefetch
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import permissions, viewsets

from .filters import (
    ActivityFilter,
    CampaignFilter,
    ContentAreaFilter,
    DepartmentFilter,
    KeyArrangementFilter,
    RegionFilter,
)
from .models import Campaign, ContentArea, Department, KeyArrangement, Region
from .selectors import activity_visible_to, department_list
from .serializers import (
    ActivitySerializer,
    CampaignSerializer,
    ContentAreaSerializer,
    DepartmentSerializer,
    KeyArrangementSerializer,
    RegionSerializer,
)

REFERENCE_TAG = "reference data"
ACTIVITIES_TAG = "activities"


def _path_parameter(name: str, description, pattern: str) -> OpenApiParameter:
    return OpenApiParameter(
        name, OpenApiTypes.STR, OpenApiParameter.PATH, description=description, pattern=pattern
    )


class _ReferenceViewSet(viewsets.ReadOnlyModelViewSet):
    """Reference data is public: anyone may read it, nobody writes it through the API."""

    permission_classes = [permissions.AllowAny]


@extend_schema_view(
    list=extend_schema(
        tags=[REFERENCE_TAG],
        summary=_("List campaigns"),
        description=_(
            "Every year's Quality Month, newest first, with its theme, dates, status, content "
            "areas and key arrangements."
        ),
    ),
    retrieve=extend_schema(
        tags=[REFERENCE_TAG],
        summary=_("One campaign"),
        description=_("A campaign by its year."),
        parameters=[_path_parameter("year", _("The campaign's year, e.g. 2024."), r"^\d{4}$")],
    ),
)
class CampaignViewSet(_ReferenceViewSet):
    serializer_class = CampaignSerializer
    filterset_class = CampaignFilter
    lookup_field = "year"
    lookup_value_regex = r"\d{4}"

    def get_queryset(self):
        return Campaign.objects.order_by("-year").prefetch_related(
            Prefetch("content_areas", queryset=ContentArea.objects.order_by("number")),
            Prefetch("key_arrangements", queryset=KeyArrangement.objects.order_by("number")),
        )


@extend_schema_view(
    list=extend_schema(
        tags=[REFERENCE_TAG],
        summary=_("List key arrangements"),
        description=_(
            "The key arrangements (重点安排) of every campaign; filter by campaign year."
        ),
    ),
    retrieve=extend_schema(tags=[REFERENCE_TAG], summary=_("One key arrangement")),
)
class KeyArrangementViewSet(_ReferenceViewSet):
    serializer_class = KeyArrangementSerializer
    filterset_class = KeyArrangementFilter
    queryset = KeyArrangement.objects.select_related("campaign").order_by(
        "-campaign__year", "number"
    )


@extend_schema_view(
    list=extend_schema(
        tags=[REFERENCE_TAG],
        summary=_("List content areas"),
        description=_("The content areas (活动内容) of every campaign; filter by campaign year."),
    ),
    retrieve=extend_schema(tags=[REFERENCE_TAG], summary=_("One content area")),
)
class ContentAreaViewSet(_ReferenceViewSet):
    serializer_class = ContentAreaSerializer
    filterset_class = ContentAreaFilter
    queryset = ContentArea.objects.select_related("campaign").order_by("-campaign__year", "number")


@extend_schema_view(
    list=extend_schema(
        tags=[REFERENCE_TAG],
        summary=_("List regions"),
        description=_(
            "Administrative divisions by their GB/T 2260 code: provinces, cities and counties. "
            "Paginated; filter by level, parent or search with q."
        ),
    ),
    retrieve=extend_schema(
        tags=[REFERENCE_TAG],
        summary=_("One region"),
        description=_("A region by its code."),
        parameters=[
            _path_parameter("code", _("Six-digit GB/T 2260 code, e.g. 440000."), r"^\d{6}$")
        ],
    ),
)
class RegionViewSet(_ReferenceViewSet):
    serializer_class = RegionSerializer
    filterset_class = RegionFilter
    queryset = Region.objects.select_related("parent").order_by("code")
    lookup_field = "code"
    lookup_value_regex = r"\d{6}"


@extend_schema_view(
    list=extend_schema(
        tags=[REFERENCE_TAG],
        summary=_("List departments"),
        description=_(
            "The departments and regional bureaus that organise activities (active ones only)."
        ),
    ),
    retrieve=extend_schema(tags=[REFERENCE_TAG], summary=_("One department")),
)
class DepartmentViewSet(_ReferenceViewSet):
    serializer_class = DepartmentSerializer
    filterset_class = DepartmentFilter

    def get_queryset(self):
        return department_list()


@extend_schema_view(
    list=extend_schema(
        tags=[ACTIVITIES_TAG],
        summary=_("List activities"),
        description=_(
            "Activities the caller may see: everyone sees published ones; department staff also "
            "their own department's, reviewers those of their region, national reviewers and "
            "administrators all."
        ),
    ),
    retrieve=extend_schema(
        tags=[ACTIVITIES_TAG],
        summary=_("One activity"),
        description=_("An activity the caller may not see answers 404, as if it did not exist."),
    ),
)
class ActivityViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = ActivitySerializer
    filterset_class = ActivityFilter
    permission_classes = [permissions.AllowAny]

    def get_queryset(self):
        return (
            activity_visible_to(self.request.user)
            .select_related("campaign", "key_arrangement", "organiser", "region")
            .prefetch_related(
                Prefetch("content_areas", queryset=ContentArea.objects.order_by("number")),
                Prefetch("co_organisers", queryset=Department.objects.order_by("name_zh")),
            )
            .order_by("starts_at", "id")
        )


def register(router):
    """Add this app's endpoints to /api/v1/."""
    router.register("campaigns", CampaignViewSet, basename="campaign")
    router.register("key-arrangements", KeyArrangementViewSet, basename="key-arrangement")
    router.register("content-areas", ContentAreaViewSet, basename="content-area")
    router.register("regions", RegionViewSet, basename="region")
    router.register("departments", DepartmentViewSet, basename="department")
    router.register("activities", ActivityViewSet, basename="activity")
