"""Forms of the staff workspace. They check and explain input; the services in `services.py`
act on it (and check it once more: the model's rules and constraints are the last word)."""

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS
from django.forms.utils import ErrorDict
from django.utils.translation import gettext_lazy as _

from .enums import ActivityStatus, DepartmentLevel, RegionLevel
from .models import Activity, Campaign, Department, Region
from .selectors import department_list
from .services import ACTIVITY_EDITABLE_FIELDS, ACTIVITY_WORKFLOW

DATETIME_LOCAL = "%Y-%m-%dT%H:%M"
REGION_LEVELS = ("province", "city", "county")

# The circular's own words (2 August 2024), quoted under the declaration.
CIRCULAR_ON_FEES = _(
    "The circular: “adhere to the principle of voluntary participation and strictly prohibit "
    "the apportionment of fees and hitchhiking fees to enterprises in the name of activities.”"
)


class DateTimeLocalInput(forms.DateTimeInput):
    """The browser's date and time picker; the value is Beijing time (the portal's time zone)."""

    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs, format=DATETIME_LOCAL)


def _grouped_departments(departments) -> list:
    """Departments grouped by level (national first), for a long list people scan."""
    groups: dict[str, list] = {}
    for department in departments:
        groups.setdefault(department.level, []).append((department.pk, department.name))
    return [
        (level.label, groups[level.value]) for level in DepartmentLevel if level.value in groups
    ]


class RegionPickerMixin:
    """The region picked from the tree: three selects (province, city, county) that work without
    JavaScript, refreshed by a button, and that `region-picker.js` fills as one chooses. The form
    declares the fields ``region_province``, ``region_city``, ``region_county`` and a hidden
    ``region``; it calls ``_set_up_region_picker()`` in ``__init__`` and sets ``region`` from
    ``_clean_region(cleaned)`` in ``clean()``. Used by the activity and the typical case forms."""

    region_missing_message = _("Choose the province where the activity takes place.")

    def _picked_codes(self) -> dict[str, str]:
        if self.is_bound:
            return {
                level: (self.data.get(self.add_prefix(f"region_{level}")) or "").strip()
                for level in REGION_LEVELS
            }
        codes = {level: self.initial.get(f"region_{level}") or "" for level in REGION_LEVELS}
        if not codes["province"]:
            region = self.initial.get("region")
            if not isinstance(region, Region):
                # A ModelForm's initial holds the instance's region as its primary key.
                region = self.instance.region if self.instance.region_id else None
            if region is not None:
                codes = _codes_of(region)
                for level, code in codes.items():
                    self.initial[f"region_{level}"] = code
        return codes

    def _set_up_region_picker(self) -> None:
        codes = self._picked_codes()
        provinces = Region.objects.filter(level=RegionLevel.PROVINCE).order_by("code")
        below = {
            parent: list(Region.objects.filter(parent__code=parent).order_by("code"))
            for parent in (codes["province"], codes["city"])
            if parent
        }
        self.fields["region_province"].widget.choices = [
            ("", _("Choose a province")),
            *((p.code, p.name) for p in provinces),
        ]
        self.fields["region_city"].widget.choices = [
            ("", _("The whole province")),
            *((c.code, c.name) for c in below.get(codes["province"], [])),
        ]
        self.fields["region_county"].widget.choices = [
            ("", _("The whole city")),
            *((c.code, c.name) for c in below.get(codes["city"], [])),
        ]
        for level in REGION_LEVELS:
            self.fields[f"region_{level}"].widget.attrs["data-region-level"] = level

    def _clean_region(self, cleaned: dict) -> Region | None:
        codes = {level: cleaned.get(f"region_{level}") or "" for level in REGION_LEVELS}
        if not codes["province"]:
            self.add_error("region", self.region_missing_message)
            return None
        found = {
            r.code: r for r in Region.objects.filter(code__in=[c for c in codes.values() if c])
        }
        province = found.get(codes["province"])
        if province is None or province.level != RegionLevel.PROVINCE:
            self.add_error("region", _("Choose a province from the list."))
            return None
        region = province
        if codes["city"]:
            city = found.get(codes["city"])
            if city is None or city.parent_id != province.pk:
                self.add_error(
                    "region",
                    _(
                        "The city chosen does not lie in %(province)s: choose the city again "
                        "(press “Update the lists” after changing the province)."
                    )
                    % {"province": province.name},
                )
                return None
            region = city
            if codes["county"]:
                county = found.get(codes["county"])
                if county is None or county.parent_id != city.pk:
                    self.add_error(
                        "region",
                        _(
                            "The county chosen does not lie in %(city)s: choose the county again "
                            "(press “Update the lists” after changing the city)."
                        )
                        % {"city": city.name},
                    )
                    return None
                region = county
        return region


class ActivityForm(RegionPickerMixin, forms.ModelForm):
    """Create or edit an activity. Explains every field; knows the campaign's headings; picks the
    region from the tree (province, city, county: three selects that work without JavaScript,
    refreshed by a button; `region-picker.js` fills them as one chooses).

    Extra per-field notes for the page: ``field.review_comment`` (what the reviewer asked when
    returning the activity) and ``field.conflict_note`` (the value someone else saved meanwhile).
    """

    region_province = forms.CharField(label=_("Province"), required=False, widget=forms.Select)
    region_city = forms.CharField(label=_("City"), required=False, widget=forms.Select)
    region_county = forms.CharField(
        label=_("County or district"), required=False, widget=forms.Select
    )
    # Never rendered: set by clean() from the three selects above.
    region = forms.Field(required=False, widget=forms.HiddenInput)
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)
    online_url = forms.URLField(
        label=_("Online link"),
        max_length=500,
        required=False,
        assume_scheme="https",
        widget=forms.URLInput(attrs={"placeholder": "https://"}),
        help_text=_(
            "A link to the live stream or online meeting, if any. Give a venue, a link or both."
        ),
    )

    class Meta:
        model = Activity
        fields = [
            "title",
            "summary",
            "description",
            "key_arrangement",
            "content_areas",
            "co_organisers",
            "region",
            "venue",
            "online_url",
            "starts_at",
            "ends_at",
            "signup_enabled",
            "capacity",
            "signup_opens_at",
            "signup_closes_at",
            "attendees_per_enterprise",
            "contact_name",
            "contact_phone",
            "contact_email",
            "no_fee_declared",
        ]
        widgets = {
            "summary": forms.Textarea(attrs={"rows": 2, "maxlength": 500}),
            "description": forms.Textarea(attrs={"rows": 6}),
            "key_arrangement": forms.RadioSelect,
            "content_areas": forms.CheckboxSelectMultiple,
            "co_organisers": forms.CheckboxSelectMultiple(attrs={"class": "department-choice"}),
            "starts_at": DateTimeLocalInput,
            "ends_at": DateTimeLocalInput,
            "signup_opens_at": DateTimeLocalInput,
            "signup_closes_at": DateTimeLocalInput,
            "capacity": forms.NumberInput(attrs={"min": 1}),
            "attendees_per_enterprise": forms.NumberInput(attrs={"min": 1}),
            "contact_phone": forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}),
            "contact_email": forms.EmailInput(attrs={"autocomplete": "off"}),
        }
        labels = {
            "no_fee_declared": _(
                "We declare that enterprises take part voluntarily and that no fee of any kind is "
                "charged to them, directly, by apportionment or by “hitchhiking”, in the name of "
                "this activity."
            ),
        }
        help_texts = {
            "title": _(
                "A short name enterprises recognise, e.g. “Quality Month opening ceremony in "
                "Hangzhou”."
            ),
            "summary": _(
                "One or two sentences shown in lists and search results. Needed to submit."
            ),
            "description": _(
                "What happens, for whom, the programme, and what participants take away."
            ),
            "key_arrangement": _(
                "The key arrangement (重点安排) of this year's circular the activity belongs to."
            ),
            "content_areas": _(
                "The content areas (活动内容) the activity serves. Choose at least one before "
                "submitting."
            ),
            "co_organisers": _(
                "Other departments organising the activity with yours. They see it in their "
                "workspace, read-only. Optional."
            ),
            "venue": _("Address and room. Leave empty for an activity held only online."),
            "starts_at": _("Date and time in Beijing time."),
            "ends_at": _("Must be after the start."),
            "signup_enabled": _(
                "Enterprises sign up on the portal, voluntarily and free of charge. Leave it off "
                "for activities without registration (e.g. publicity open to everyone)."
            ),
            "capacity": _("How many enterprises can be registered. Empty means no limit."),
            "signup_opens_at": _("When enterprises can start signing up."),
            "signup_closes_at": _(
                "When sign-up ends; at the latest when the activity ends. Usually a day before it "
                "starts."
            ),
            "attendees_per_enterprise": _("How many people each enterprise may send."),
            "contact_name": _(
                "Shown publicly, so enterprises know whom to ask. A name with a telephone number "
                "or an email is needed to submit."
            ),
            "contact_phone": _("A landline with area code or a mobile number."),
            "contact_email": _("Optional if a telephone number is given."),
            "no_fee_declared": CIRCULAR_ON_FEES,
        }

    def __init__(
        self,
        *args,
        campaign: Campaign,
        choose_organiser: bool = False,
        organiser: Department | None = None,
        field_comments: dict[str, str] | None = None,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.campaign = campaign
        self.fields["key_arrangement"].queryset = campaign.key_arrangements.order_by("number")
        self.fields["key_arrangement"].empty_label = None
        self.fields["content_areas"].queryset = campaign.content_areas.order_by("number")
        co_organisers = self.fields["co_organisers"]
        departments = department_list()
        if organiser is not None and not choose_organiser:
            departments = departments.exclude(pk=organiser.pk)
        co_organisers.queryset = departments
        co_organisers.choices = _grouped_departments(departments.order_by("level", "name_zh"))
        if choose_organiser:
            # Administrators register activities on a department's behalf.
            self.fields = {
                "organiser": forms.ModelChoiceField(
                    label=_("Organiser"),
                    queryset=department_list(),
                    initial=organiser.pk if organiser is not None else None,
                    help_text=_("The department that organises the activity and answers for it."),
                ),
                **self.fields,
            }
            self.fields["organiser"].choices = [
                ("", "---------"),
                *_grouped_departments(department_list().order_by("level", "name_zh")),
            ]
        self.fields["region"].required = False
        for name in ("starts_at", "ends_at", "signup_opens_at", "signup_closes_at"):
            self.fields[name].widget.attrs.setdefault("step", 60)
        self._set_up_region_picker()
        # Not needed for a draft, but before submitting (activity_missing_for_submission).
        for name in ("summary", "content_areas", "contact_name", "no_fee_declared"):
            self.fields[name].needed_to_submit = True
        for name, comment in (field_comments or {}).items():
            target = self._field_for(name)
            if target in self.fields:
                self.fields[target].review_comment = comment

    # --- validation ----------------------------------------------------------------------------

    def clean(self):
        cleaned = super().clean()
        cleaned["region"] = self._clean_region(cleaned)
        return cleaned

    def service_arguments(self) -> dict:
        """What the services `activity_create` and `activity_update` take, from the cleaned data."""
        data = self.cleaned_data
        return {
            "content_areas": list(data["content_areas"]),
            "co_organisers": list(data["co_organisers"]),
            **{name: data[name] for name in ACTIVITY_EDITABLE_FIELDS},
        }

    def _field_for(self, name: str) -> str:
        """The form field that shows messages about model field `name`."""
        return name if name in self.fields else NON_FIELD_ERRORS

    def add_service_errors(self, error) -> None:
        """Show a service's ValidationError next to the fields it names."""
        for name, messages in getattr(error, "message_dict", {"": error.messages}).items():
            target = self._field_for(name) if name else NON_FIELD_ERRORS
            for message in messages:
                self.add_error(None if target == NON_FIELD_ERRORS else target, message)

    def mark_missing(self, missing: dict[str, str]) -> None:
        """Show, on a form that was not posted, what a submission still needs, field by field."""
        self._errors = ErrorDict()
        for name, message in missing.items():
            self._errors.setdefault(self._field_for(name), self.error_class()).append(message)

    def note_conflict(self, current: Activity) -> None:
        """After someone else saved `current` meanwhile: note, under each field where it differs
        from what this person typed, the value now saved."""
        typed = self.instance  # the ModelForm wrote the typed values onto it while validating
        for name in ACTIVITY_WORKFLOW.reviewed_fields:
            if name not in self.fields:
                continue
            if name in ("content_areas", "co_organisers"):
                chosen = self.cleaned_data.get(name) or []
                mine = "; ".join(str(o) for o in sorted(chosen, key=lambda o: o.pk))
            else:
                mine = ACTIVITY_WORKFLOW.describe(typed, name)
            saved = ACTIVITY_WORKFLOW.describe(current, name)
            if str(mine) != str(saved):
                self.fields[name].conflict_note = saved or _("(empty)")


def _codes_of(region: Region) -> dict[str, str]:
    """The picker's three codes for `region` (its province, city and county, as far as it goes)."""
    chain = [region]
    while chain[-1].parent_id is not None and len(chain) < 3:
        chain.append(chain[-1].parent)
    chain.reverse()
    codes = dict.fromkeys(REGION_LEVELS, "")
    for level, place in zip(REGION_LEVELS, chain, strict=False):
        codes[level] = place.code
    return codes


class WorkspaceFilterForm(forms.Form):
    """The filters of "My activities" (a GET form): campaigns by year, key arrangements by number,
    departments (administrators only) by id. Choices come from lists loaded once, so the page
    costs the same few queries whatever is chosen."""

    department = forms.TypedChoiceField(label=_("Department"), coerce=int, required=False)
    campaign = forms.TypedChoiceField(label=_("Campaign"), coerce=int, required=False)
    key_arrangement = forms.TypedChoiceField(label=_("Key arrangement"), coerce=int, required=False)
    status = forms.ChoiceField(
        label=_("Status"),
        choices=[("", _("Every status")), *ActivityStatus.choices],
        required=False,
    )

    def __init__(self, data, *, campaigns, campaign, departments=None):
        super().__init__(data)
        self.campaigns = {c.year: c for c in campaigns}
        self.fields["campaign"].choices = [(c.year, c.name) for c in campaigns]
        self.arrangements = (
            {a.number: a for a in campaign.key_arrangements.order_by("number")}
            if campaign is not None
            else {}
        )
        self.fields["key_arrangement"].choices = [
            ("", _("All key arrangements")),
            *((number, str(a)) for number, a in self.arrangements.items()),
        ]
        if departments is None:
            del self.fields["department"]
        else:
            self.departments = {d.pk: d for d in departments}
            self.fields["department"].choices = [
                ("", _("All departments")),
                *_grouped_departments(departments),
            ]

    def clean_department(self):
        return self.departments.get(self.cleaned_data["department"])

    def clean_campaign(self):
        return self.campaigns.get(self.cleaned_data["campaign"])

    def clean_key_arrangement(self):
        return self.arrangements.get(self.cleaned_data["key_arrangement"])


class CancelForm(forms.Form):
    """Cancelling a published activity asks why; the organiser's enterprises will read it."""

    reason = forms.CharField(
        label=_("Reason for cancelling"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "Kept on the activity and told to the enterprises registered for it, e.g. “Postponed "
            "to October because of the typhoon warning; a new date follows.”"
        ),
    )
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)
