"""Reads of enterprises and registrations, limited to what the person may see."""

from django.db.models import (
    Case,
    Count,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)

from accounts.rules import roles_of
from activities.models import Activity
from activities.selectors import region_scope_q

from .enums import RegistrationStatus
from .models import Enterprise, Registration


def enterprise_visible_to(user) -> QuerySet[Enterprise]:
    roles = roles_of(user)
    if roles.is_admin or roles.is_national_reviewer:
        return Enterprise.objects.all()
    visible = Q(pk__in=[])
    if roles.enterprise_id is not None:
        visible |= Q(pk=roles.enterprise_id)
    if roles.is_reviewer:
        visible |= region_scope_q(roles.reviewer_region)
    return Enterprise.objects.filter(visible)


def registration_visible_to(user) -> QuerySet[Registration]:
    roles = roles_of(user)
    registrations = Registration.objects.all()
    if roles.is_admin or roles.is_national_reviewer:
        return registrations
    visible = Q(pk__in=[])
    if roles.enterprise_id is not None:
        visible |= Q(enterprise_id=roles.enterprise_id)
    if roles.department_id is not None:
        # Organised or co-organised (the co-organisers' staff run the door too).
        co_organised = Activity.co_organisers.through.objects.filter(
            department_id=roles.department_id
        ).values("activity_id")
        visible |= Q(activity__organiser_id=roles.department_id) | Q(activity_id__in=co_organised)
    if roles.is_reviewer:
        visible |= region_scope_q(roles.reviewer_region, field="activity__region")
    return registrations.filter(visible)


def with_waiting_position(registrations: QuerySet[Registration]) -> QuerySet[Registration]:
    """Annotate `waiting_position` (1 is next; None unless waiting) in the same query."""
    ahead = (
        Registration.objects.filter(
            activity_id=OuterRef("activity_id"), status=RegistrationStatus.WAITING
        )
        .filter(
            Q(created_at__lt=OuterRef("created_at"))
            | Q(created_at=OuterRef("created_at"), pk__lte=OuterRef("pk"))
        )
        .order_by()
        .values("activity_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return registrations.annotate(
        waiting_position=Case(
            When(status=RegistrationStatus.WAITING, then=Subquery(ahead)),
            default=Value(None),
            output_field=IntegerField(),
        )
    )


def registrations_of_enterprise(enterprise) -> QuerySet[Registration]:
    """The enterprise's registrations with their activities, soonest first, each with its
    `waiting_position`. Callers split them into upcoming, past and waiting."""
    return with_waiting_position(
        Registration.objects.filter(enterprise=enterprise)
        .select_related("activity", "activity__region", "activity__organiser")
        .order_by("activity__starts_at", "activity_id", "-created_at", "-id")
    )


def registrations_of_activity(activity) -> QuerySet[Registration]:
    """An activity's registrations for its organiser: confirmed and waiting first, each group in
    order of arrival (so the waiting ones in the order they will be confirmed), with the
    enterprise, the attendees and `waiting_position`."""
    rank = Case(
        When(status=RegistrationStatus.CONFIRMED, then=Value(0)),
        When(status=RegistrationStatus.WAITING, then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )
    return with_waiting_position(
        Registration.objects.filter(activity=activity)
        .select_related("enterprise", "enterprise__region", "checked_in_by")
        .prefetch_related("attendees")
        .annotate(status_rank=rank)
        .order_by("status_rank", "created_at", "id")
    )
