"""Query-string filters for feedback reports, typical cases and media in the API.

Campaigns are named by their year and regions by their GB/T 2260 code, as in `activities.filters`.
"""

import django_filters
from django.utils.translation import gettext_lazy as _

from activities.filters import IntegerFilter, RegionScopeFilter

from .enums import ReportStatus
from .models import FeedbackMedia, FeedbackReport, TypicalCase


class FeedbackReportFilter(django_filters.FilterSet):
    campaign = IntegerFilter(field_name="campaign__year", label=_("campaign year, e.g. 2024"))
    status = django_filters.ChoiceFilter(choices=ReportStatus.choices, label=_("status"))
    department = IntegerFilter(field_name="department_id", label=_("department id"))
    province = RegionScopeFilter(
        field_name="department__region",
        label=_(
            "region code, e.g. 440000: reports of departments in that region and below "
            "(a province includes its cities and counties)"
        ),
    )

    class Meta:
        model = FeedbackReport
        fields = ["campaign", "status", "department", "province"]


class TypicalCaseFilter(django_filters.FilterSet):
    campaign = IntegerFilter(
        field_name="report__campaign__year", label=_("campaign year, e.g. 2024")
    )
    key_arrangement = IntegerFilter(
        field_name="key_arrangement__number",
        label=_("number of the key arrangement (1-9 in 2024); combine with the campaign year"),
    )
    region = RegionScopeFilter(
        label=_(
            "region code: cases in that region and below "
            "(a province includes its cities and counties)"
        )
    )

    class Meta:
        model = TypicalCase
        fields = ["campaign", "key_arrangement", "region"]


class FeedbackMediaFilter(django_filters.FilterSet):
    case = IntegerFilter(field_name="case_id", label=_("typical case id: only that case's files"))
    report_only = django_filters.BooleanFilter(
        field_name="case",
        lookup_expr="isnull",
        label=_("true: only the files of the report itself, not of its cases"),
    )

    class Meta:
        model = FeedbackMedia
        fields = ["case", "report_only"]
