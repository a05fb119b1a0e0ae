"""Reads of campaign data. Every queryset a person sees is limited here to what they may see."""

from django.db.models import Count, Q, QuerySet

from accounts.rules import roles_of

from .enums import ACTIVITY_PUBLISHED_STATES, CampaignStatus
from .models import Activity, Campaign, Department, KeyArrangement, Region


def campaign_current() -> Campaign | None:
    """The campaign the portal shows: the newest open one, otherwise the newest of all."""
    return (
        Campaign.objects.filter(status=CampaignStatus.OPEN).order_by("-year").first()
        or Campaign.objects.order_by("-year").first()
    )


def region_scope_q(region: Region | None, field: str = "region") -> Q:
    """Rows whose `field` lies in `region` or below it (GB/T 2260 codes are hierarchical)."""
    if region is None:
        return Q()
    return Q(**{f"{field}__code__startswith": region.scope_prefix})


def activity_visible_to(user) -> QuerySet[Activity]:
    """Published activities, plus those the person organises, co-organises, reviews or
    administers. Each activity once, however many co-organisers it has."""
    roles = roles_of(user)
    activities = Activity.objects.all()
    if roles.is_admin or roles.is_national_reviewer:
        return activities
    visible = Q(status__in=ACTIVITY_PUBLISHED_STATES)
    if roles.department_id is not None:
        visible |= Q(organiser_id=roles.department_id) | Q(
            pk__in=Activity.co_organisers.through.objects.filter(
                department_id=roles.department_id
            ).values("activity_id")
        )
    if roles.is_reviewer:
        visible |= region_scope_q(roles.reviewer_region)
    return activities.filter(visible)


def activity_published() -> QuerySet[Activity]:
    return Activity.objects.filter(status__in=ACTIVITY_PUBLISHED_STATES)


_published_count = Count("activities", filter=Q(activities__status__in=ACTIVITY_PUBLISHED_STATES))


def key_arrangements_with_counts(campaign: Campaign) -> QuerySet[KeyArrangement]:
    """The campaign's key arrangements, each with the number of published activities under it."""
    return campaign.key_arrangements.annotate(published_count=_published_count).order_by("number")


def content_areas_with_counts(campaign: Campaign):
    return campaign.content_areas.annotate(published_count=_published_count).order_by("number")


def department_list() -> QuerySet[Department]:
    return Department.objects.filter(is_active=True).select_related("region")
