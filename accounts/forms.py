"""Forms of the accounts pages. They validate input; the services in `services.py` act on it."""

from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib.auth.forms import (
    AuthenticationForm,
    PasswordResetForm,
    SetPasswordMixin,
)
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from activities.enums import RegionLevel
from activities.models import Department, Region
from activities.reference_data import MUNICIPALITY_PREFIXES
from qualitymonth.notifications import absolute_url, notify
from registrations.models import Enterprise
from registrations.validators import normalise_mobile, normalise_uscc

from .models import User
from .tokens import link_lifetime_days, password_reset_token_generator, uidb64


def axes_username(request, credentials=None) -> str:
    """The login name django-axes counts failures under (AXES_USERNAME_CALLABLE).

    The address in lower case, so changing its letter case buys no further attempts. Axes
    passes the credentials of `authenticate` (keyed by USERNAME_FIELD, "email") when it checks,
    but only the request (whose form field is "username") when it records a failure: both
    must give the same name.
    """
    value = ""
    if credentials:
        value = credentials.get(User.USERNAME_FIELD) or credentials.get("username") or ""
    if not value and request is not None:
        value = request.POST.get("username", "")
    return str(value).strip().lower()


def _current_language() -> str:
    codes = {code for code, _name in settings.LANGUAGES}
    language = translation.get_language()
    return language if language in codes else settings.LANGUAGE_CODE


class EmailAuthenticationForm(AuthenticationForm):
    """Sign in with email address and password."""

    username = forms.EmailField(
        label=_("Email"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
    )

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _(
            "The email address or the password is wrong. Note that the password is case-sensitive."
        ),
        "inactive": _("This account is deactivated. Ask an administrator if you need it again."),
    }


class PortalPasswordResetForm(PasswordResetForm):
    """Django's reset form, mailing through `notify` in the person's own language.

    Invited staff who never set a password may reset it too (the link proves the mailbox is
    theirs, which is all an invitation proves).
    """

    def get_users(self, email):
        return User.objects.filter(email__iexact=email.strip(), is_active=True)

    def send_mail(
        self,
        subject_template_name,
        email_template_name,
        context,
        from_email,
        to_email,
        html_email_template_name=None,
    ):
        user = context["user"]
        notify(
            user,
            "password_reset",
            {
                "reset_url": absolute_url(
                    "accounts:password_reset_confirm",
                    uidb64(user),
                    password_reset_token_generator.make_token(user),
                ),
                "days": link_lifetime_days(),
            },
        )


class SignupAccountForm(SetPasswordMixin, forms.Form):
    """The person's part of the enterprise sign-up."""

    email = forms.EmailField(
        label=_("Email"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        help_text=_("You sign in with this address. We send a link to it to verify it."),
    )
    full_name = forms.CharField(
        label=_("Full name"), max_length=100, widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    preferred_language = forms.ChoiceField(
        label=_("Preferred language"),
        choices=settings.LANGUAGES,
        help_text=_("Emails to you are written in this language."),
    )
    password1, password2 = SetPasswordMixin.create_password_fields()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["preferred_language"].initial = _current_language()

    def clean_email(self):
        email = User.objects.normalize_email(self.cleaned_data["email"]).strip().lower()
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError(
                _(
                    "An account with this email address exists already. Sign in, or reset "
                    "the password if you forgot it."
                ),
                code="email_taken",
            )
        return email

    def clean(self):
        cleaned = super().clean()
        self.validate_passwords()
        self.validate_password_for_user(
            User(email=cleaned.get("email") or "", full_name=cleaned.get("full_name") or "")
        )
        return cleaned


class RegionChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.name


def offered_regions():
    """The places an enterprise can be registered in: each province, its cities and the
    county-level places directly under it; for the four municipalities, whose cities are
    GB/T 2260's pseudo-cities (市辖区, 县), their districts and counties instead."""
    municipal = Q()
    for prefix in MUNICIPALITY_PREFIXES:
        municipal |= Q(code__startswith=prefix)
    return Region.objects.filter(
        Q(level=RegionLevel.PROVINCE)
        | (Q(level=RegionLevel.CITY) & ~municipal)
        | (Q(level=RegionLevel.COUNTY) & (municipal | Q(parent__level=RegionLevel.PROVINCE)))
    ).order_by("code")


def grouped_region_choices(regions) -> list:
    """One group per province, offering the province itself and the places under it."""
    below: dict[str, list[Region]] = {}
    for region in regions:
        if region.level != RegionLevel.PROVINCE:
            below.setdefault(region.code[:2], []).append(region)
    choices: list = [("", "---------")]
    for province in regions:
        if province.level != RegionLevel.PROVINCE:
            continue
        options = [(province.pk, _("%(province)s (province-wide)") % {"province": province.name})]
        options += [(region.pk, region.name) for region in below.get(province.code[:2], [])]
        choices.append((province.name, options))
    return choices


class EnterpriseDetailsForm(forms.ModelForm):
    """The enterprise a person claims to represent.

    The credit code may already be on the portal: that makes a claim waiting for approval, not
    an error, so uniqueness is not checked here.
    """

    region = RegionChoiceField(
        label=_("Region"),
        queryset=Region.objects.none(),
        help_text=_("Choose the province, then the city where the enterprise is registered."),
    )

    class Meta:
        model = Enterprise
        fields = [
            "uscc",
            "name",
            "region",
            "industry",
            "size",
            "address",
            "contact_name",
            "mobile",
            "email",
        ]
        labels = {"name": _("Enterprise name"), "email": _("Enterprise email")}
        help_texts = {
            "name": _("As on the business licence."),
            "mobile": _("The contact person's mobile number."),
        }
        widgets = {
            "uscc": forms.TextInput(attrs={"autocapitalize": "characters", "spellcheck": "false"}),
            "mobile": forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["region"]
        field.queryset = offered_regions()
        field.choices = grouped_region_choices(list(field.queryset))

    def clean_uscc(self):
        return normalise_uscc(self.cleaned_data["uscc"])

    def clean_mobile(self):
        return normalise_mobile(self.cleaned_data["mobile"].strip())

    def validate_unique(self):
        """Skipped: a known credit code makes a claim, not an error. (The model's field
        validators and check constraints still run, in `full_clean`.)"""


class ProfileForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["full_name", "phone", "preferred_language"]
        widgets = {
            "full_name": forms.TextInput(attrs={"autocomplete": "name"}),
            "phone": forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
        }


class InvitationForm(forms.Form):
    """Whom to invite, in which roles. Departments and provinces come as selects."""

    email = forms.EmailField(label=_("Email"), max_length=254)
    full_name = forms.CharField(label=_("Full name"), max_length=100)
    preferred_language = forms.ChoiceField(
        label=_("Preferred language"),
        choices=settings.LANGUAGES,
        help_text=_("The invitation and every later email are written in this language."),
    )
    department = forms.ModelChoiceField(
        label=_("Department staff of"),
        queryset=Department.objects.none(),
        required=False,
        empty_label=_("— not department staff —"),
        help_text=_("Staff register and keep current their department's activities."),
    )
    reviewer = forms.ChoiceField(
        label=_("Reviewer"),
        required=False,
        help_text=_(
            "Reviewers approve activities and feedback: national ones everywhere, provincial "
            "ones in their province."
        ),
    )
    platform_admin = forms.BooleanField(
        label=_("Platform administrator"),
        required=False,
        help_text=_("Administrators manage everything, including accounts and reference data."),
    )

    NATIONAL = "national"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["preferred_language"].initial = settings.LANGUAGE_CODE
        self.fields["department"].queryset = Department.objects.filter(is_active=True).order_by(
            "level", "region__code", "name_zh"
        )
        self.fields["department"].label_from_instance = lambda d: d.name
        provinces = Region.objects.filter(level=RegionLevel.PROVINCE).order_by("code")
        self.fields["reviewer"].choices = [
            ("", _("— not a reviewer —")),
            (self.NATIONAL, _("National reviewer")),
            (
                _("Provincial reviewer for"),
                [(str(region.pk), region.name) for region in provinces],
            ),
        ]

    def clean_email(self):
        return User.objects.normalize_email(self.cleaned_data["email"]).strip().lower()

    def clean(self):
        cleaned = super().clean()
        reviewer = cleaned.get("reviewer") or ""
        cleaned["reviewer_region"] = None
        if reviewer and reviewer != self.NATIONAL:
            cleaned["reviewer_region"] = Region.objects.filter(
                pk=reviewer, level=RegionLevel.PROVINCE
            ).first()
            if cleaned["reviewer_region"] is None:
                self.add_error("reviewer", _("Choose a province from the list."))
        if not (cleaned.get("department") or reviewer or cleaned.get("platform_admin")):
            raise forms.ValidationError(
                _("Choose at least one role: department staff, reviewer or administrator."),
                code="no_role",
            )
        return cleaned


class RejectionForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("The claimant reads this in the email that tells them."),
    )


class TokenCreateForm(forms.Form):
    LIFETIMES = {"30": 30, "90": 90, "365": 365, "never": None}

    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        help_text=_("What the token is for, e.g. “statistics export script”."),
    )
    lifetime = forms.ChoiceField(
        label=_("Expires"),
        choices=[
            ("30", _("in 30 days")),
            ("90", _("in 90 days")),
            ("365", _("in a year")),
            ("never", _("never")),
        ],
        initial="90",
    )

    def expires_at(self):
        days = self.LIFETIMES[self.cleaned_data["lifetime"]]
        return None if days is None else timezone.now() + timedelta(days=days)


class VerificationResendForm(forms.Form):
    email = forms.EmailField(
        label=_("Email"), max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
