"""Reads of enterprises and registrations, limited to what the person may see."""

from django.db.models import Q, QuerySet

from accounts.rules import roles_of
from activities.selectors import region_scope_q

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
        visible |= Q(activity__organiser_id=roles.department_id)
    if roles.is_reviewer:
        visible |= region_scope_q(roles.reviewer_region, field="activity__region")
    return registrations.filter(visible)
