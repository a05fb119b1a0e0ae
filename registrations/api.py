"""/api/v1/ endpoints for enterprises and registrations (read-only for now).

Both need a signed-in caller and show only what `registrations.selectors` lets that person see;
anything else answers 404, so the API never confirms that another enterprise's record exists.
"""

import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import permissions, viewsets

from activities.filters import IntegerFilter, RegionScopeFilter

from .enums import EnterpriseSize, Industry, RegistrationStatus
from .models import Enterprise, Registration
from .selectors import enterprise_visible_to, registration_visible_to
from .serializers import EnterpriseSerializer, RegistrationSerializer

TAG = "enterprises and registrations"


class EnterpriseFilter(django_filters.FilterSet):
    region = RegionScopeFilter(label=_("region code: enterprises in that region and below"))
    industry = django_filters.ChoiceFilter(
        choices=Industry.choices, label=_("industry (GB/T 4754 section letter)")
    )
    size = django_filters.ChoiceFilter(choices=EnterpriseSize.choices, label=_("size"))
    q = django_filters.CharFilter(
        method="search", label=_("name (any part) or Unified Social Credit Code (beginning)")
    )

    class Meta:
        model = Enterprise
        fields = ["region", "industry", "size", "q"]

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(name__icontains=value) | Q(uscc__startswith=value.upper()))


class RegistrationFilter(django_filters.FilterSet):
    campaign = IntegerFilter(
        field_name="activity__campaign__year", label=_("campaign year, e.g. 2024")
    )
    activity = IntegerFilter(field_name="activity_id", label=_("activity id"))
    enterprise = IntegerFilter(field_name="enterprise_id", label=_("enterprise id"))
    status = django_filters.ChoiceFilter(choices=RegistrationStatus.choices, label=_("status"))

    class Meta:
        model = Registration
        fields = ["campaign", "activity", "enterprise", "status"]


@extend_schema_view(
    list=extend_schema(
        tags=[TAG],
        summary=_("List enterprises"),
        description=_(
            "Enterprises the caller may see: their own enterprise for a representative, those of "
            "their region for a reviewer, all for national reviewers and administrators."
        ),
    ),
    retrieve=extend_schema(
        tags=[TAG],
        summary=_("One enterprise"),
        description=_("An enterprise the caller may not see answers 404."),
    ),
)
class EnterpriseViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = EnterpriseSerializer
    filterset_class = EnterpriseFilter
    permission_classes = [permissions.IsAuthenticated]

    def get_queryset(self):
        return (
            enterprise_visible_to(self.request.user)
            .select_related("region")
            .order_by("name", "id")
        )


@extend_schema_view(
    list=extend_schema(
        tags=[TAG],
        summary=_("List registrations"),
        description=_(
            "Registrations the caller may see: their enterprise's for a representative, those "
            "for their department's activities for staff, those of their region for a reviewer."
        ),
    ),
    retrieve=extend_schema(
        tags=[TAG],
        summary=_("One registration"),
        description=_("A registration the caller may not see answers 404."),
    ),
)
class RegistrationViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = RegistrationSerializer
    filterset_class = RegistrationFilter
    permission_classes = [permissions.IsAuthenticated]

    def get_queryset(self):
        return (
            registration_visible_to(self.request.user)
            .select_related("activity__campaign", "activity__region", "enterprise")
            .order_by("-created_at", "-id")
        )


def register(router):
    """Add this app's endpoints to /api/v1/."""
    router.register("enterprises", EnterpriseViewSet, basename="enterprise")
    router.register("registrations", RegistrationViewSet, basename="registration")
