"""Forms of the reviewers' pages: the queue's filters and the review of one activity.

They only read and check what was typed; whether a review is allowed, which comments it needs
and whether someone else acted first is decided by the services (activities/services.py).
"""

from django import forms
from django.utils.translation import gettext_lazy as _

from qualitymonth.review_forms import WorkflowReviewForm, waiting_field

from .models import Campaign, Department, KeyArrangement, Region
from .services import ACTIVITY_WORKFLOW


class KeyArrangementChoiceField(forms.ModelChoiceField):
    def __init__(self, *args, campaign: Campaign | None = None, **kwargs):
        self.campaign = campaign
        super().__init__(*args, **kwargs)

    def label_from_instance(self, obj):
        label = f"{obj.number}. {obj.title}"
        if self.campaign is None or obj.campaign_id != self.campaign.pk:
            return f"{obj.campaign.year} · {label}"
        return label


class RegionChoiceField(forms.ModelChoiceField):
    """Provinces with their cities indented beneath them, picked by GB/T 2260 code."""

    def label_from_instance(self, obj):
        return obj.name if obj.parent_id is None else f"\u2003{obj.name}"


class ReviewQueueFilterForm(forms.Form):
    """The queue's filters (a GET form). Choices are limited to what the queue holds, and the
    key arrangements of the current campaign."""

    key_arrangement = KeyArrangementChoiceField(
        label=_("Key arrangement"),
        queryset=KeyArrangement.objects.none(),
        required=False,
        empty_label=_("All key arrangements"),
    )
    organiser = forms.ModelChoiceField(
        label=_("Organiser"),
        queryset=Department.objects.none(),
        required=False,
        empty_label=_("All departments"),
    )
    region = RegionChoiceField(
        label=_("Region"),
        queryset=Region.objects.none(),
        to_field_name="code",
        required=False,
        empty_label=_("All regions"),
    )
    waiting = waiting_field()

    def __init__(self, *args, queue, campaign: Campaign | None, **kwargs):
        super().__init__(*args, **kwargs)
        arrangements = KeyArrangement.objects.filter(pk__in=queue.values("key_arrangement_id"))
        if campaign is not None:
            arrangements = arrangements | KeyArrangement.objects.filter(campaign=campaign)
        field = self.fields["key_arrangement"]
        field.campaign = campaign
        field.queryset = arrangements.select_related("campaign").order_by(
            "-campaign__year", "number"
        )
        self.fields["organiser"].queryset = Department.objects.filter(
            pk__in=queue.values("organiser_id")
        ).order_by("level", "region__code", "name_zh")
        # The provinces and cities the waiting activities lie in (county codes roll up).
        codes = set(queue.order_by().values_list("region__code", flat=True).distinct())
        wanted = {code[:2] + "0000" for code in codes} | {
            code[:4] + "00" for code in codes if not code.endswith("0000")
        }
        self.fields["region"].queryset = Region.objects.filter(code__in=wanted).order_by("code")

    def filters(self) -> dict:
        """The valid filters as arguments of `activity_review_queue` (invalid ones are ignored
        and shown as errors on their field)."""
        if not self.is_bound:
            return {}
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {
            "key_arrangement": data.get("key_arrangement"),
            "organiser": data.get("organiser"),
            "region": data.get("region"),
            "waiting_days": data.get("waiting"),
        }

    @property
    def active(self) -> bool:
        return any(value for value in self.filters().values())


class ReviewAction:
    APPROVE = "approve"
    RETURN = "return"
    REJECT = "reject"
    ALL = (APPROVE, RETURN, REJECT)


class ActivityReviewForm(WorkflowReviewForm):
    """One review: the action comes from the button pressed."""

    action = forms.ChoiceField(
        choices=[
            (ReviewAction.APPROVE, _("Approve and publish")),
            (ReviewAction.RETURN, _("Return for revision")),
            (ReviewAction.REJECT, _("Reject")),
        ],
        error_messages={"required": _("Choose to approve, return or reject the activity.")},
    )
    comment = forms.CharField(
        label=_("Comment"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_(
            "Optional when approving; required to return for revision (or give comments on "
            "fields below) and to reject, as the reason. The organiser's staff read it."
        ),
    )

    workflow = ACTIVITY_WORKFLOW
    actions_without_field_comments = (ReviewAction.APPROVE, ReviewAction.REJECT)
    field_comments_need_return = _(
        "Comments on fields go with “Return for revision”. Return the activity, "
        "or move what matters into the comment and clear the comments on fields."
    )
