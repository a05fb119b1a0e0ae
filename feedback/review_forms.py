"""Forms of the reviewers' feedback pages: the queue's and the overview's filters, the review of
one report, reminders and a later deadline.

They only read and check what was typed; whether a review, a reminder or an extension is allowed
is decided by the services (feedback/services.py).
"""

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.rules import roles_of
from activities.enums import RegionLevel
from activities.models import Campaign, Region
from qualitymonth.review_forms import WorkflowReviewForm, waiting_field

from .enums import DepartmentFeedbackState
from .services import FEEDBACK_WORKFLOW


class CampaignChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.name or str(obj.year)


class RegionChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.name


def _provinces_for(user):
    """The provinces a person oversees: all for administrators and national reviewers, else the
    province of their region."""
    region = roles_of(user).reviewer_region
    provinces = Region.objects.filter(level=RegionLevel.PROVINCE)
    if region is not None and not roles_of(user).is_admin:
        provinces = provinces.filter(code=region.code[:2] + "0000")
    return provinces.order_by("code")


class _RegionFilterForm(forms.Form):
    """Province, then city: the city list holds the chosen province's cities (without JavaScript
    the form is sent once to fill it)."""

    province = RegionChoiceField(
        label=_("Province"),
        queryset=Region.objects.none(),
        to_field_name="code",
        required=False,
        empty_label=_("All provinces"),
    )
    city = RegionChoiceField(
        label=_("City"),
        queryset=Region.objects.none(),
        to_field_name="code",
        required=False,
        empty_label=_("All cities"),
    )

    def _setup_regions(self, user):
        self.user = user
        self.fields["province"].queryset = _provinces_for(user)
        province_code = (self.data.get(self.add_prefix("province")) or "").strip()
        cities = Region.objects.none()
        if province_code:
            cities = Region.objects.filter(level=RegionLevel.CITY, parent__code=province_code)
            roles = roles_of(user)
            own = roles.reviewer_region
            if own is not None and own.level != RegionLevel.PROVINCE and not roles.is_admin:
                cities = cities.filter(code__startswith=own.code[:4])
        self.fields["city"].queryset = cities.order_by("code")

    def region(self) -> Region | None:
        """The narrowest region chosen (a city only within the chosen province)."""
        data = getattr(self, "cleaned_data", {})
        city, province = data.get("city"), data.get("province")
        if city is not None and province is not None and province.covers(city):
            return city
        return province


class ReportQueueFilterForm(_RegionFilterForm):
    """The queue's filters (a GET form)."""

    campaign = CampaignChoiceField(
        label=_("Campaign"),
        queryset=Campaign.objects.order_by("-year"),
        to_field_name="year",
        required=False,
        empty_label=_("All campaigns"),
    )
    waiting = waiting_field()

    field_order = ["campaign", "province", "city", "waiting"]

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self._setup_regions(user)

    def filters(self) -> dict:
        """The valid filters (invalid ones are ignored and shown as errors on their field)."""
        if not self.is_bound:
            return {}
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {
            "campaign": data.get("campaign"),
            "region": self.region(),
            "waiting_days": data.get("waiting"),
        }

    @property
    def active(self) -> bool:
        return any(value for value in self.filters().values())


class OverviewFilterForm(_RegionFilterForm):
    """The overview's filters (a GET form); the campaign defaults to the current one."""

    campaign = CampaignChoiceField(
        label=_("Campaign"),
        queryset=Campaign.objects.order_by("-year"),
        to_field_name="year",
        required=False,
        empty_label=None,
    )
    state = forms.ChoiceField(
        label=_("State of the report"),
        choices=[("", _("Any state")), *DepartmentFeedbackState.choices],
        required=False,
    )
    overdue = forms.BooleanField(label=_("Only overdue"), required=False)

    field_order = ["campaign", "province", "city", "state", "overdue"]

    def __init__(self, *args, user, campaign: Campaign | None, **kwargs):
        super().__init__(*args, **kwargs)
        self.default_campaign = campaign
        self._setup_regions(user)
        if campaign is not None:
            self.fields["campaign"].initial = campaign.year

    def filters(self) -> dict:
        data = {}
        if self.is_bound:
            self.is_valid()
            data = getattr(self, "cleaned_data", {})
        return {
            "campaign": data.get("campaign") or self.default_campaign,
            "region": self.region() if data else None,
            "state": data.get("state") or None,
            "overdue": bool(data.get("overdue")),
        }

    @property
    def active(self) -> bool:
        found = self.filters()
        return bool(found["region"] or found["state"] or found["overdue"])


class ReviewAction:
    ACCEPT = "accept"
    RETURN = "return"
    REOPEN = "reopen"
    ALL = (ACCEPT, RETURN, REOPEN)


class ReportReviewForm(WorkflowReviewForm):
    """One review of a report: the action comes from the button pressed."""

    action = forms.ChoiceField(
        choices=[
            (ReviewAction.ACCEPT, _("Accept")),
            (ReviewAction.RETURN, _("Return for revision")),
            (ReviewAction.REOPEN, _("Reopen for correction")),
        ],
        error_messages={"required": _("Choose to accept or return the report.")},
    )

    workflow = FEEDBACK_WORKFLOW
    actions_without_field_comments = (ReviewAction.ACCEPT, ReviewAction.REOPEN)
    field_comments_need_return = _(
        "Comments on fields go with “Return for revision”. Return the report, or "
        "move what matters into the comment and clear the comments on fields."
    )


class DeadlineExtensionForm(forms.Form):
    """A later deadline for one department (administrators)."""

    until = forms.DateField(
        label=_("New deadline"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": _("Enter a date such as 2024-11-15.")},
    )
    reason = forms.CharField(
        label=_("Reason"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Kept in the report's history."),
        error_messages={"required": _("Please give a reason.")},
    )
