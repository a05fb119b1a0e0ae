"""Forms of the enterprise's sign-up pages: the sign-up (contact and attendees) and withdrawal.

They check what a person typed (shapes, lengths, mobiles); the sign-up rules themselves (window,
capacity, one registration per enterprise, the attendee limit) live in `services.py`.
"""

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from .models import Attendee, Registration
from .validators import normalise_mobile, validate_cn_mobile


def _mobile_field(label, *, required: bool) -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=20,
        required=required,
        validators=[validate_cn_mobile],
        widget=forms.TextInput(
            attrs={"inputmode": "tel", "autocomplete": "tel", "placeholder": "13800138000"}
        ),
    )


class SignUpForm(forms.Form):
    """The contact person for this registration, and a note to the organiser."""

    contact_name = forms.CharField(
        label=_("Contact person"),
        max_length=Registration._meta.get_field("contact_name").max_length,
        help_text=_("Whom the organiser calls about this registration."),
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    contact_mobile = _mobile_field(_("Contact mobile"), required=True)
    note = forms.CharField(
        label=_("Note to the organiser"),
        max_length=Registration._meta.get_field("note").max_length,
        required=False,
        help_text=_("Optional: anything the organiser should know, e.g. accessibility needs."),
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def clean_contact_mobile(self):
        return normalise_mobile(self.cleaned_data["contact_mobile"])


class AttendeeForm(forms.Form):
    """One person the enterprise sends. A row left empty is ignored; a row half filled is not."""

    name = forms.CharField(
        label=_("Name"),
        max_length=Attendee._meta.get_field("name").max_length,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    mobile = _mobile_field(_("Mobile"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Validate every row, even one left as it was shown: the formset decides what is empty.
        self.empty_permitted = False
        self.use_required_attribute = False

    def clean_mobile(self):
        mobile = self.cleaned_data["mobile"]
        return normalise_mobile(mobile) if mobile else mobile

    def clean(self):
        cleaned = super().clean()
        name, mobile = (cleaned.get("name") or "").strip(), cleaned.get("mobile")
        if name and not mobile and "mobile" not in self.errors:
            self.add_error("mobile", _("Give this attendee's mobile number."))
        if mobile and not name:
            self.add_error("name", _("Give this attendee's name."))
        cleaned["name"] = name
        return cleaned


class BaseAttendeeFormSet(forms.BaseFormSet):
    def clean(self):
        super().clean()
        if any(self.errors):
            return
        attendees = self.attendees()
        if not attendees:
            raise forms.ValidationError(
                _("Name at least one attendee, with a mobile number."), code="no_attendees"
            )
        if len(attendees) > self.max_num:
            raise forms.ValidationError(
                ngettext_lazy(
                    "Each enterprise may send at most %(limit)d person to this activity.",
                    "Each enterprise may send at most %(limit)d people to this activity.",
                    "limit",
                )
                % {"limit": self.max_num},
                code="too_many_attendees",
            )

    def attendees(self) -> list[dict]:
        """The rows filled in, as the sign-up service takes them."""
        return [
            {"name": form.cleaned_data["name"], "mobile": form.cleaned_data["mobile"]}
            for form in self.forms
            if form.cleaned_data.get("name")
        ]


def attendee_formset_class(limit: int) -> type[BaseAttendeeFormSet]:
    """A formset of `limit` rows (the activity's attendees per enterprise). Rows posted beyond
    it (the limit fell while the form was open) are kept and shown, and refused if filled."""
    return forms.formset_factory(
        AttendeeForm, formset=BaseAttendeeFormSet, extra=limit, max_num=limit
    )


class WithdrawForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason (optional)"),
        required=False,
        max_length=500,
        help_text=_("The organiser sees it. Withdrawing is always free."),
        widget=forms.Textarea(attrs={"rows": 3}),
    )
