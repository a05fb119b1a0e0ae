"""/api/v1/ endpoints for enterprises and registrations: reading them, and for an enterprise's
representatives signing up and withdrawing.

Both need a signed-in caller and show only what `registrations.selectors` lets that person see;
anything else answers 404, so the API never confirms that another enterprise's record exists.
Sign-up and withdrawal call the same services as the web pages (`registrations.services`); the
exception handler in `qualitymonth.api` turns their refusals into 400/403/409. Signing up is
rate-limited like the web form (`limits.py`, 429) and idempotent with an ``Idempotency-Key``
header (`qualitymonth.idempotency`).
"""

import django_filters
from django.db.models import Prefetch, Q
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.rules import roles_of
from activities.filters import IntegerFilter, RegionScopeFilter
from activities.models import Activity
from activities.serializers import ErrorSerializer
from qualitymonth import idempotency
from qualitymonth.errors import NotAllowed

from . import services
from .enums import EnterpriseSize, Industry, RegistrationStatus
from .limits import SignUpThrottle
from .models import Attendee, Enterprise, Registration
from .selectors import enterprise_visible_to, registration_visible_to, with_waiting_position
from .serializers import (
    EnterpriseSerializer,
    RegistrationCreateSerializer,
    RegistrationSerializer,
    RegistrationWithdrawSerializer,
)

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
    mine = django_filters.BooleanFilter(
        method="only_mine",
        label=_("true: only the registrations of the enterprise the caller represents"),
    )

    class Meta:
        model = Registration
        fields = ["campaign", "activity", "enterprise", "status", "mine"]

    def only_mine(self, queryset, name, value):
        if not value:
            return queryset
        enterprise_id = roles_of(self.request.user).enterprise_id
        if enterprise_id is None:
            return queryset.none()
        return queryset.filter(enterprise_id=enterprise_id)


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
            enterprise_visible_to(self.request.user).select_related("region").order_by("name", "id")
        )


INVALID = OpenApiResponse(
    OpenApiTypes.OBJECT,
    description=_(
        "Invalid input, or refused by a rule, in the request's language. Messages per field, "
        'e.g. {"attendees": ["Give the name of attendee 2."]}; a rule refusing the whole '
        'action answers {"detail": ..., "code": ...}, e.g. code "already_registered", '
        '"signup_closed", "signup_not_open_yet", "activity_not_published", "too_many_attendees".'
    ),
)
UNAUTHENTICATED = OpenApiResponse(ErrorSerializer, description=_("Not signed in."))
FORBIDDEN = OpenApiResponse(
    ErrorSerializer,
    description=_(
        "The caller may not do this: e.g. signing up without representing an enterprise (or "
        "before verifying their email address), or a reviewer withdrawing a registration."
    ),
)
NOT_FOUND = OpenApiResponse(
    ErrorSerializer, description=_("No such registration, or one the caller may not see.")
)
CONFLICT = OpenApiResponse(
    ErrorSerializer,
    description=_("The registration is no longer active (already withdrawn or cancelled)."),
)
KEY_REUSED = OpenApiResponse(
    ErrorSerializer,
    description=_(
        'The Idempotency-Key was already used for another request: code "idempotency_key_reused".'
    ),
)
KEY_IN_USE = OpenApiResponse(
    ErrorSerializer,
    description=_(
        "A request with the same Idempotency-Key is still being processed: code "
        '"idempotency_key_in_use". Send it again a little later.'
    ),
)
RATE_LIMITED = OpenApiResponse(
    ErrorSerializer,
    description=_(
        'Too many sign-ups from this account or address: code "rate_limited"; the Retry-After '
        "header says in how many seconds to try again."
    ),
)


@extend_schema_view(
    list=extend_schema(
        tags=[TAG],
        summary=_("List registrations"),
        description=_(
            "Registrations the caller may see: their enterprise's for a representative, those "
            "for their department's activities for staff, those of their region for a reviewer. "
            "With mine=true, only the registrations of the enterprise the caller represents, "
            "each with its status, its place on the waiting list and its check-in code."
        ),
    ),
    retrieve=extend_schema(
        tags=[TAG],
        summary=_("One registration"),
        description=_("A registration the caller may not see answers 404."),
    ),
    create=extend_schema(
        tags=[TAG],
        summary=_("Sign the enterprise up for an activity"),
        description=_(
            "For a representative of an enterprise whose email address is verified: signs their "
            "enterprise up, free of charge. Confirmed (with a check-in code) while the activity "
            "has seats, otherwise on its waiting list (with the place); the first waiting "
            "enterprise is confirmed automatically when a seat frees up. Only published "
            "activities, inside their sign-up window, once per enterprise."
        ),
        request=RegistrationCreateSerializer,
        parameters=[idempotency.PARAMETER],
        responses={
            201: RegistrationSerializer,
            400: INVALID,
            401: UNAUTHENTICATED,
            403: FORBIDDEN,
            409: KEY_IN_USE,
            422: KEY_REUSED,
            429: RATE_LIMITED,
        },
    ),
)
class RegistrationViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = RegistrationSerializer
    filterset_class = RegistrationFilter
    permission_classes = [permissions.IsAuthenticated]
    throttle_classes = [SignUpThrottle]
    input_serializers = {
        "create": RegistrationCreateSerializer,
        "withdraw": RegistrationWithdrawSerializer,
    }

    def get_queryset(self):
        return with_waiting_position(
            registration_visible_to(self.request.user)
            .select_related("activity__campaign", "activity__region", "enterprise")
            .prefetch_related(Prefetch("attendees", queryset=Attendee.objects.order_by("id")))
            .order_by("-created_at", "-id")
        )

    def get_serializer_class(self):
        return self.input_serializers.get(self.action, RegistrationSerializer)

    def _present(self, registration, status_code=status.HTTP_200_OK) -> Response:
        """The registration as the caller now sees it (status and waiting place fresh)."""
        current = self.get_queryset().get(pk=registration.pk)
        data = RegistrationSerializer(current, context=self.get_serializer_context()).data
        return Response(data, status=status_code)

    @idempotency.idempotent
    def create(self, request, *args, **kwargs):
        enterprise_id = roles_of(request.user).enterprise_id
        if enterprise_id is None:
            raise NotAllowed(_("Only a representative of an enterprise can sign it up."))
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        enterprise = Enterprise.objects.get(pk=enterprise_id)
        registration = services.registration_sign_up(
            Activity(pk=data["activity"]),
            actor=request.user,
            enterprise=enterprise,
            attendees=[dict(attendee) for attendee in data["attendees"]],
            contact_name=data.get("contact_name") or enterprise.contact_name,
            contact_mobile=data.get("contact_mobile") or enterprise.mobile,
            note=data["note"],
        )
        return self._present_signed_up(registration)

    def _present_signed_up(self, registration) -> Response:
        """The new registration as `_present` would show it, from what the sign-up already holds
        (its activity with campaign and region, enterprise and attendees; the waiting place the
        email computed after the commit, else counted now): no query to read it back."""
        if not hasattr(registration, "waiting_position"):
            registration.waiting_position = services.registration_waiting_position(registration)
        data = RegistrationSerializer(registration, context=self.get_serializer_context()).data
        return Response(data, status=status.HTTP_201_CREATED)

    @extend_schema(
        tags=[TAG],
        summary=_("Withdraw a registration"),
        description=_(
            "The enterprise's representative withdraws at will, free of charge; the organiser's "
            "staff and administrators give a reason, which the enterprise is told. A confirmed "
            "registration frees its seat, and the first enterprise on the waiting list is "
            "confirmed automatically. Answers the withdrawn registration."
        ),
        request=RegistrationWithdrawSerializer,
        responses={
            200: RegistrationSerializer,
            400: INVALID,
            401: UNAUTHENTICATED,
            403: FORBIDDEN,
            404: NOT_FOUND,
            409: CONFLICT,
        },
    )
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        registration = self.get_object()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.registration_withdraw(
            registration, actor=request.user, reason=serializer.validated_data["reason"]
        )
        return self._present(registration)


def register(router):
    """Add this app's endpoints to /api/v1/."""
    router.register("enterprises", EnterpriseViewSet, basename="enterprise")
    router.register("registrations", RegistrationViewSet, basename="registration")
