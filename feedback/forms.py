"""Forms of the department's feedback report in the staff workspace. They check and explain
input; `feedback.services` acts on it (and checks it once more)."""

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS
from django.forms.utils import ErrorDict
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from activities.enums import ActivityStatus
from activities.forms import RegionPickerMixin

from .models import FeedbackReport, TypicalCase
from .services import (
    CASE_EDITABLE_FIELDS,
    FEEDBACK_WORKFLOW,
    REPORT_EDITABLE_FIELDS,
    REPORT_FIGURES,
    reportable_activities,
)

# The circular's own words (2 August 2024), quoted where the report is explained.
CIRCULAR_ON_FEEDBACK = _(
    "The circular: departments and regions “summarise in time after the activities, and feed "
    "back the relevant activities, typical cases, pictures and videos”."
)


class _ReviewedForm(forms.ModelForm):
    """What the report form and the case form share: the version they were loaded at, the
    reviewer's comments next to the fields, the service's messages next to the fields."""

    version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def _set_review_comments(self, field_comments):
        for name, comment in (field_comments or {}).items():
            if name in self.fields:
                self.fields[name].review_comment = comment

    def _field_for(self, name: str) -> str:
        """The form field that shows messages about model field `name`."""
        return name if name in self.fields else NON_FIELD_ERRORS

    def add_service_errors(self, error) -> None:
        """Show a service's ValidationError next to the fields it names."""
        for name, messages in getattr(error, "message_dict", {"": error.messages}).items():
            target = self._field_for(name) if name else NON_FIELD_ERRORS
            for message in messages:
                self.add_error(None if target == NON_FIELD_ERRORS else target, message)

    def mark_missing(self, missing: dict) -> None:
        """Show, on a form not judged, what a submission still needs, field by field."""
        self._errors = ErrorDict()
        for name, message in missing.items():
            errors = self._errors.setdefault(self._field_for(name), self.error_class())
            errors.extend(message if isinstance(message, list | tuple) else [message])

    def error_fields(self) -> list[tuple[str, str]]:
        """The fields with messages, as (anchor, label), for the summary above the form."""
        found = {}
        for name in self.errors:
            if name == NON_FIELD_ERRORS:
                continue
            anchor = "region" if name.startswith("region") else name
            found[anchor] = _("Region") if anchor == "region" else self.fields[name].label
        return list(found.items())


class ActivityChoice(forms.ModelMultipleChoiceField):
    """The department's activities, each as its date and title (there may be hundreds)."""

    def label_from_instance(self, activity):
        day = date_format(timezone.localtime(activity.starts_at), "SHORT_DATE_FORMAT")
        label = f"{day} · {activity.title}"
        if activity.status == ActivityStatus.CANCELLED:
            label = _("%(label)s (cancelled)") % {"label": label}
        return label


class ReportForm(_ReviewedForm):
    """The report's summary, figures and the activities it covers.

    Per-field notes for the page: ``field.review_comment`` (what the reviewer asked when
    returning the report) and ``field.conflict_note`` (the value someone else saved meanwhile).
    """

    class Meta:
        model = FeedbackReport
        fields = [*REPORT_EDITABLE_FIELDS, "activities"]
        field_classes = {"activities": ActivityChoice}
        widgets = {
            "summary": forms.Textarea(attrs={"rows": 10}),
            "activities": forms.CheckboxSelectMultiple(attrs={"class": "activity-choice"}),
            **{
                name: forms.NumberInput(attrs={"min": 0, "inputmode": "numeric", "step": 1})
                for name in REPORT_FIGURES
            },
        }
        help_texts = {
            "summary": _(
                "How the month went: what was done, what it achieved, what to improve. You may "
                "attach the summary as a document below instead."
            ),
            "activities": _(
                "Your department's published activities of this campaign (and those cancelled "
                "after publication). Tick those the report covers."
            ),
        }

    def __init__(self, *args, report: FeedbackReport, field_comments=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.report = report
        activities = self.fields["activities"]
        activities.queryset = reportable_activities(report).order_by("starts_at", "pk")
        activities.required = False
        # Read once: the page asks how many there are before drawing them.
        activities.choices = [
            (a.pk, activities.label_from_instance(a)) for a in activities.queryset
        ]
        self.activity_count = len(activities.choices)
        for name in ("summary", *REPORT_FIGURES):
            self.fields[name].needed_to_submit = True
        self._set_review_comments(field_comments)

    def service_arguments(self) -> dict:
        data = self.cleaned_data
        return {
            "activities": list(data["activities"]),
            **{name: data[name] for name in REPORT_EDITABLE_FIELDS},
        }

    def note_conflict(self, current: FeedbackReport) -> None:
        """After someone else saved `current` meanwhile: note, under each field where it differs
        from what this person typed, the value now saved."""
        for name in (*REPORT_EDITABLE_FIELDS, "activities"):
            if name == "activities":
                chosen = self.cleaned_data.get("activities") or []
                mine = "; ".join(f"{a.title} (#{a.pk})" for a in sorted(chosen, key=lambda a: a.pk))
            else:
                value = self.cleaned_data.get(name)
                mine = "" if value is None else str(value).strip()
            saved = FEEDBACK_WORKFLOW.describe(current, name)
            if str(mine) != str(saved):
                self.fields[name].conflict_note = saved or _("(empty)")


class CaseForm(RegionPickerMixin, _ReviewedForm):
    """A typical case: title, key arrangement, region (three selects: province, city, county,
    that work without JavaScript and are filled as one chooses by `region-picker.js`), text and
    the department's consent to publication."""

    region_province = forms.CharField(label=_("Province"), required=False, widget=forms.Select)
    region_city = forms.CharField(label=_("City"), required=False, widget=forms.Select)
    region_county = forms.CharField(
        label=_("County or district"), required=False, widget=forms.Select
    )
    # Never rendered: set by clean() from the three selects above.
    region = forms.Field(required=False, widget=forms.HiddenInput)

    region_missing_message = _("Choose the province where the case took place.")

    class Meta:
        model = TypicalCase
        fields = list(CASE_EDITABLE_FIELDS)
        widgets = {
            "key_arrangement": forms.RadioSelect,
            "body": forms.Textarea(attrs={"rows": 12}),
        }
        labels = {
            "publication_consent": _(
                "Our department consents to publishing this case, with its pictures and videos, "
                "on the portal's public “typical cases” page."
            ),
        }
        help_texts = {
            "title": _(
                "A short name that says what happened, e.g. “County bureau helps 30 food "
                "enterprises pass HACCP certification”."
            ),
            "key_arrangement": _(
                "The key arrangement (重点安排) of this year's circular the case belongs to."
            ),
            "body": _(
                "What was done, by whom, and what came of it: figures, quotes, what others can "
                "learn from it."
            ),
            "publication_consent": _(
                "Reviewers choose cases of accepted reports for publication, and only those with "
                "this consent. Make sure the people and enterprises shown in the pictures and "
                "videos agree. You can change this until the report is submitted."
            ),
        }

    def __init__(self, *args, campaign, field_comments=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.campaign = campaign
        arrangement = self.fields["key_arrangement"]
        arrangement.queryset = campaign.key_arrangements.order_by("number")
        arrangement.empty_label = None
        self._set_up_region_picker()
        self._set_review_comments(field_comments)

    def clean(self):
        cleaned = super().clean()
        cleaned["region"] = self._clean_region(cleaned)
        return cleaned

    def service_arguments(self) -> dict:
        return {name: self.cleaned_data[name] for name in CASE_EDITABLE_FIELDS}

    def note_conflict(self, current: TypicalCase | None) -> None:
        """After someone else saved the case meanwhile: note the saved value under each field
        where it differs from what this person typed."""
        if current is None:
            return
        for name in CASE_EDITABLE_FIELDS:
            mine = self.cleaned_data.get(name)
            saved = getattr(current, name)
            if mine != saved and str(mine or "").strip() != str(saved or "").strip():
                if name == "publication_consent":
                    saved = _("yes") if saved else _("no")
                self.fields[name].conflict_note = saved or _("(empty)")


class DepartmentChoiceForm(forms.Form):
    """Administrators open a department's report (a GET form)."""

    department = forms.ModelChoiceField(label=_("Department"), queryset=None)

    def __init__(self, *args, departments, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = departments
        from activities.forms import _grouped_departments

        self.fields["department"].choices = [
            ("", _("Choose a department")),
            *_grouped_departments(departments.order_by("level", "name_zh")),
        ]
