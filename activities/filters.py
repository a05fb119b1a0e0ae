"""Query-string filters for campaign data, shared by the API (and any list page that wants them).

Campaigns are named by their year, regions by their GB/T 2260 code: the identifiers people
already use, rather than database ids.
"""

import datetime as dt

import django_filters
from django import forms
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from accounts.rules import roles_of

from .enums import (
    ACTIVITY_PUBLISHED_STATES,
    ActivityStatus,
    CampaignStatus,
    DepartmentLevel,
    RegionLevel,
)
from .models import Activity, Campaign, ContentArea, Department, KeyArrangement, Region
from .selectors import organised_by_q, region_scope_q


@extend_schema_field(OpenApiTypes.STR)
class RegionScopeFilter(django_filters.ModelChoiceFilter):
    """A region code; matches rows in that region and everywhere below it (a province includes
    its cities and counties). An unknown code is a 400, not an empty list."""

    def __init__(self, *args, field_name: str = "region", **kwargs):
        kwargs.setdefault("queryset", Region.objects.all())
        kwargs.setdefault("to_field_name", "code")
        super().__init__(*args, field_name=field_name, **kwargs)

    def filter(self, qs, value):
        if value in ([], (), {}, "", None):
            return qs
        return qs.filter(region_scope_q(value, field=self.field_name))


class WithinRegionFilter(RegionScopeFilter):
    """For the regions themselves: the region with that code and every region below it."""

    def filter(self, qs, value):
        if value in ([], (), {}, "", None):
            return qs
        return qs.filter(code__startswith=value.scope_prefix)


@extend_schema_field(OpenApiTypes.INT)
class IntegerFilter(django_filters.NumberFilter):
    """A whole number (a year, a heading's number, an id); anything else is a 400, and so is a
    number too large for a database id (SQLite would fail on it)."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_value", 2**63 - 1)
        super().__init__(*args, **kwargs)


def _search(fields: list[str]):
    """A filter method matching `value` (case-insensitively) in any of `fields`."""

    def method(queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        condition = Q()
        for field in fields:
            condition |= Q(**{field: value})
        return queryset.filter(condition)

    return method


class CampaignFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=CampaignStatus.choices, label=_("status"))

    class Meta:
        model = Campaign
        fields = ["status"]


class _HeadingFilter(django_filters.FilterSet):
    campaign = IntegerFilter(field_name="campaign__year", label=_("campaign year, e.g. 2024"))
    number = IntegerFilter(label=_("number"))


class KeyArrangementFilter(_HeadingFilter):
    class Meta:
        model = KeyArrangement
        fields = ["campaign", "number"]


class ContentAreaFilter(_HeadingFilter):
    class Meta:
        model = ContentArea
        fields = ["campaign", "number"]


class RegionFilter(django_filters.FilterSet):
    level = django_filters.ChoiceFilter(choices=RegionLevel.choices, label=_("level"))
    parent = django_filters.CharFilter(
        field_name="parent__code", label=_("code of the parent region (direct children only)")
    )
    within = WithinRegionFilter(
        field_name="code", label=_("region code: that region and every region below it")
    )
    q = django_filters.CharFilter(
        method=_search(["code__startswith", "name_zh__icontains", "name_en__icontains"]),
        label=_("code (beginning) or name (any part), in Chinese or English"),
    )

    class Meta:
        model = Region
        fields = ["level", "parent", "within", "q"]


class DepartmentFilter(django_filters.FilterSet):
    level = django_filters.ChoiceFilter(choices=DepartmentLevel.choices, label=_("level"))
    region = RegionScopeFilter(label=_("region code: departments in that region and below"))
    is_lead = django_filters.BooleanFilter(label=_("lead department"))
    q = django_filters.CharFilter(
        method=_search(
            [
                "name_zh__icontains",
                "name_en__icontains",
                "short_name_zh__icontains",
                "short_name_en__icontains",
            ]
        ),
        label=_("name or short name (any part), in Chinese or English"),
    )

    class Meta:
        model = Department
        fields = ["level", "region", "is_lead", "q"]


class _ActivityListFilter(django_filters.FilterSet):
    """What every list of activities can be narrowed by."""

    campaign = IntegerFilter(field_name="campaign__year", label=_("campaign year, e.g. 2024"))
    key_arrangement = IntegerFilter(
        field_name="key_arrangement__number",
        label=_("number of the key arrangement (1-9 in 2024); combine with the campaign year"),
    )
    content_area = IntegerFilter(
        method="filter_content_area",
        label=_("number of a content area (1-5 in 2024); combine with the campaign year"),
    )
    region = RegionScopeFilter(
        label=_(
            "region code: activities in that region and below "
            "(a province includes its cities and counties)"
        )
    )
    organiser = IntegerFilter(field_name="organiser_id", label=_("organiser (department id)"))
    q = django_filters.CharFilter(
        method="filter_q",
        label=_(
            "words in the title, summary or description (any part, one character up; "
            "every word must appear)"
        ),
    )

    def filter_q(self, queryset, name, value):
        from .search import activity_search

        return activity_search(queryset, value)

    def filter_content_area(self, queryset, name, value):
        # A subquery, not a join: an activity must appear once however many areas it has.
        return queryset.filter(
            pk__in=Activity.content_areas.through.objects.filter(contentarea__number=value).values(
                "activity_id"
            )
        )


class ActivityFilter(_ActivityListFilter):
    status = django_filters.ChoiceFilter(choices=ActivityStatus.choices, label=_("status"))
    date_from = django_filters.DateFilter(
        field_name="ends_at", lookup_expr="date__gte", label=_("still running on or after this day")
    )
    date_to = django_filters.DateFilter(
        field_name="starts_at", lookup_expr="date__lte", label=_("starting on or before this day")
    )
    organiser = IntegerFilter(
        method="filter_organiser",
        label=_("department id: activities it organises or co-organises (as on the public list)"),
    )
    province = RegionScopeFilter(
        label=_("province code, e.g. 440000: activities in that province (as on the public list)")
    )
    city = RegionScopeFilter(
        label=_("city code, e.g. 440100: activities in that city (as on the public list)")
    )
    open_now = django_filters.BooleanFilter(
        method="filter_open_now",
        label=_("true: only published activities whose sign-up window is open now"),
    )
    mine = django_filters.BooleanFilter(
        method="filter_mine",
        label=_(
            "true: only the activities of the caller's department, organised or co-organised "
            "(in every state the caller may see)"
        ),
    )

    class Meta:
        model = Activity
        fields = [
            "campaign",
            "key_arrangement",
            "content_area",
            "status",
            "region",
            "province",
            "city",
            "organiser",
            "date_from",
            "date_to",
            "open_now",
            "mine",
            "q",
        ]

    def filter_organiser(self, queryset, name, value):
        return queryset.filter(organised_by_q(value))

    def filter_open_now(self, queryset, name, value):
        if not value:
            return queryset
        now = timezone.now()
        return queryset.filter(
            status__in=ACTIVITY_PUBLISHED_STATES,
            signup_enabled=True,
            signup_opens_at__lte=now,
            signup_closes_at__gt=now,
        )

    def filter_mine(self, queryset, name, value):
        if not value:
            return queryset
        department_id = roles_of(getattr(self.request, "user", None)).department_id
        if department_id is None:
            return queryset.none()
        return queryset.filter(organised_by_q(department_id))


class ReviewQueueFilter(_ActivityListFilter):
    waiting_days = IntegerFilter(
        method="filter_waiting_days",
        label=_("only those submitted more than this many days ago"),
        # Further back than datetime can go is a 400, not a server error.
        min_value=0,
        max_value=36500,
    )

    class Meta:
        model = Activity
        fields = [
            "campaign",
            "key_arrangement",
            "content_area",
            "region",
            "organiser",
            "waiting_days",
            "q",
        ]

    def filter_waiting_days(self, queryset, name, value):
        if not value or value < 0:
            return queryset
        return queryset.filter(submitted_at__lt=timezone.now() - dt.timedelta(days=value))
