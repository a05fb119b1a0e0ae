"""Forms of the fee-complaint pages: the public report, the administrators' decision, and the
queue's filters. They check what was typed; the rules live in `complaints.py`."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from activities.enums import ActivityStatus, DepartmentLevel
from activities.models import Activity, Department

from . import complaints
from .models import FeeComplaint, FeeComplaintStatus


class MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.Field):
    """Several files in one input. Each is judged by `complaints.evidence_prepare`, which names
    the file in every message (an empty one too)."""

    widget = MultipleFileInput

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def to_python(self, data):
        if not data:
            return []
        if not isinstance(data, list | tuple):
            data = [data]
        return [item for item in data if item is not None]


class ChoicesFromList(forms.ModelChoiceField):
    """A choice among a queryset, offering only the rows given to `offer` (a handful found by a
    search, never every activity in the country); any row of the queryset is accepted."""

    def offer(self, rows, *, empty_label, grouped=False):
        choices = [("", empty_label)]
        if grouped:
            groups: dict[str, list] = {}
            for row in rows:
                groups.setdefault(row.get_level_display(), []).append(
                    (row.pk, self.label_from_instance(row))
                )
            choices.extend(groups.items())
        else:
            choices.extend((row.pk, self.label_from_instance(row)) for row in rows)
        self.widget.choices = choices


class ActivityChoiceField(ChoicesFromList):
    def label_from_instance(self, activity):
        when = date_format(timezone.localtime(activity.starts_at), "SHORT_DATE_FORMAT")
        label = f"{activity.title} · {activity.organiser.short_name} · {when}"
        if activity.status == ActivityStatus.CANCELLED:
            label += " · " + str(_("cancelled"))
        return label


class DepartmentChoiceField(ChoicesFromList):
    def label_from_instance(self, department):
        return department.name


class FeeComplaintForm(forms.Form):
    search = forms.CharField(
        label=_("Find the activity or organiser"),
        required=False,
        max_length=100,
        help_text=_("A few characters of the activity's title or of the organiser's name."),
    )
    activity = ActivityChoiceField(
        label=_("Activity"),
        queryset=Activity.objects.filter(status__in=complaints.PUBLIC_ACTIVITY_STATES),
        required=False,
    )
    organiser = DepartmentChoiceField(
        label=_("Organiser"),
        queryset=Department.objects.filter(is_active=True),
        required=False,
    )
    organiser_name = forms.CharField(
        label=_("Or type who charged the fee"),
        required=False,
        max_length=200,
        help_text=_(
            "A company, an association or a person, if they are not in the lists (for example "
            "someone who collected money “for Quality Month”)."
        ),
    )
    description = forms.CharField(
        label=_("What happened"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_(
            "Who asked for money, for what (a fee to take part, materials, a listing, an award, "
            "a “sponsorship”), and how you were asked to pay."
        ),
    )
    amount = forms.CharField(
        label=_("Amount charged"),
        required=False,
        max_length=100,
        help_text=_("For example “2,000 yuan per enterprise”."),
    )
    occurred_on = forms.DateField(
        label=_("When"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_("The day you were asked to pay, or paid."),
    )
    reporter_name = forms.CharField(label=_("Your name"), required=False, max_length=100)
    reporter_contact = forms.CharField(
        label=_("How to reach you"),
        required=False,
        max_length=200,
        help_text=_(
            "A telephone number or an email address. With an email address we confirm your "
            "report and tell you its outcome."
        ),
    )
    evidence = MultipleFileField(
        label=_("Evidence"),
        widget=MultipleFileInput(attrs={"accept": complaints.EVIDENCE_ACCEPT}),
    )

    def __init__(self, *args, activity=None, search: str = "", signed_in=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.duplicates: list[tuple[str, str]] = []
        self.fields["evidence"].help_text = _(
            "Optional: up to %(count)d files of at most %(size)d MB each: pictures (JPEG, PNG, "
            "WebP) or PDF documents, such as a receipt, an invoice, a payment request or a "
            "screenshot of a message."
        ) % {
            "count": complaints.MAX_EVIDENCE_FILES,
            "size": complaints.MAX_EVIDENCE_BYTES // (1024 * 1024),
        }
        if signed_in:
            self.fields["reporter_contact"].help_text = _(
                "A telephone number or an email address. We confirm your report and tell you its "
                "outcome at your account's email address, or at this one if it is an email "
                "address."
            )
        self._offer_choices(activity, search)

    def _value(self, name):
        return self.data.get(name) if self.is_bound else self.initial.get(name)

    def _offer_choices(self, activity, search):
        """The activities and organisers to choose from: the ones the search found, the chosen
        ones, and the national and provincial departments."""
        words = search or self._value("search") or ""
        activities = complaints.public_activities_matching(words)
        chosen = activity or complaints.public_activity_or_none(self._value("activity"))
        if chosen is not None and chosen not in activities:
            activities.insert(0, chosen)
        self.fields["activity"].offer(
            activities,
            empty_label=_("— none chosen —")
            if activities
            else _("— search above to list activities —"),
        )
        departments = list(
            Department.objects.filter(
                is_active=True, level__in=[DepartmentLevel.NATIONAL, DepartmentLevel.PROVINCIAL]
            )
            .select_related("region")
            .order_by("level", "region__code", "name_zh")
        )
        known = {d.pk for d in departments}
        found = [d for d in complaints.departments_matching(words) if d.pk not in known]
        picked = self._value("organiser")
        if picked and str(picked).isdigit() and int(picked) not in known:
            found += list(Department.objects.filter(pk=int(picked), is_active=True))
        rows = found + departments
        order = {level: n for n, level in enumerate(DepartmentLevel.values)}
        rows.sort(key=lambda d: order.get(d.level, 99))
        self.fields["organiser"].offer(rows, empty_label=_("— none chosen —"), grouped=True)
        self.found_activities = len(activities)
        self.found_departments = len(found)

    def clean_occurred_on(self):
        day = self.cleaned_data.get("occurred_on")
        if day and day > timezone.localdate():
            raise ValidationError(_("The day cannot be in the future."), code="future")
        return day

    def clean_evidence(self):
        files = self.cleaned_data.get("evidence") or []
        kept, self.duplicates = complaints.evidence_prepare(files)
        return [found.upload for found in kept]

    def clean(self):
        data = super().clean()
        named = data.get("activity") or data.get("organiser") or data.get("organiser_name")
        if not named and not (self.has_error("activity") or self.has_error("organiser")):
            self.add_error(
                "organiser_name",
                ValidationError(
                    _(
                        "Tell us who charged the fee: choose the activity or the organiser, or "
                        "type the name."
                    ),
                    code="who",
                ),
            )
        return data


class FeeComplaintDecisionForm(forms.Form):
    ACTIONS = {
        FeeComplaintStatus.INVESTIGATING: _("Start the investigation"),
        FeeComplaintStatus.CLOSED: _("Close with this outcome"),
    }

    action = forms.ChoiceField(choices=list(ACTIONS.items()))
    outcome = forms.CharField(
        label=_("Outcome"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_(
            "Required to close. What was found and done (for example: the fee was refunded, the "
            "case was passed to the market-regulation bureau). The reporter reads it."
        ),
    )
    comment = forms.CharField(
        label=_("Note for the record"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Why, for the other administrators. The reporter does not see it."),
    )

    def __init__(self, *args, complaint: FeeComplaint, **kwargs):
        super().__init__(*args, **kwargs)
        allowed = complaints.fee_complaint_actions(complaint)
        self.fields["action"].choices = [(k, v) for k, v in self.ACTIONS.items() if k in allowed]
        self.actions = [(k, v) for k, v in self.ACTIONS.items() if k in allowed]


AGE_CHOICES = [
    ("", _("Any time")),
    ("week", _("Received in the last 7 days")),
    ("7", _("Waiting more than 7 days")),
    ("30", _("Waiting more than 30 days")),
]


class FeeComplaintQueueFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[
            ("open", _("Open (received or being investigated)")),
            *FeeComplaintStatus.choices,
            ("all", _("All")),
        ],
    )
    age = forms.ChoiceField(label=_("Received"), required=False, choices=AGE_CHOICES)

    def filters(self) -> dict:
        """Keyword arguments for `complaints.fee_complaint_queue`; unknown values are ignored."""
        data = self.cleaned_data if self.is_valid() else {}
        status = data.get("status") or "open"
        age = data.get("age") or ""
        found = {"status": "" if status == "all" else status}
        if age == "week":
            found["received_after"] = complaints.received_since(7)
        elif age in ("7", "30"):
            found["received_before"] = complaints.received_since(int(age))
        return found

    @property
    def chosen_status(self) -> str:
        data = self.cleaned_data if self.is_valid() else {}
        return data.get("status") or "open"
