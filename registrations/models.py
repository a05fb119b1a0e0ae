"""Enterprises and their voluntary, free registrations (报名) for activities."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from activities.models import Activity, Region

from .enums import REGISTRATION_ACTIVE_STATES, EnterpriseSize, Industry, RegistrationStatus
from .validators import normalise_mobile, normalise_uscc, validate_cn_mobile, validate_uscc


class CreditCodeField(models.CharField):
    """A Unified Social Credit Code, kept as its 18 capital characters however it was typed.

    People type codes in lower case or in groups ("9111 0000 6000 3734 1L"): the value is
    normalised when cleaned, saved and looked up, so the database constraints, the uniqueness
    check and searches all see one spelling.
    """

    def to_python(self, value):
        value = super().to_python(value)
        return normalise_uscc(value) if value else value

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return normalise_uscc(value) if isinstance(value, str) else value

    def pre_save(self, model_instance, add):
        value = getattr(model_instance, self.attname)
        if isinstance(value, str):
            value = normalise_uscc(value)
            setattr(model_instance, self.attname, value)
        return value

    def formfield(self, **kwargs):
        # Room for the spaces people type between groups; the model field checks the rest.
        return super().formfield(**{"max_length": 30, **kwargs})


class Enterprise(models.Model):
    """An enterprise (企业), identified by its Unified Social Credit Code."""

    name = models.CharField(_("name"), max_length=200)
    uscc = CreditCodeField(
        _("Unified Social Credit Code"),
        max_length=18,
        unique=True,
        validators=[validate_uscc],
        help_text=_("The 18-character code on the business licence (统一社会信用代码)."),
    )
    region = models.ForeignKey(
        Region, verbose_name=_("region"), on_delete=models.PROTECT, related_name="enterprises"
    )
    industry = models.CharField(
        _("industry (GB/T 4754 section)"), max_length=1, choices=Industry.choices
    )
    size = models.CharField(_("size"), max_length=10, choices=EnterpriseSize.choices)
    address = models.CharField(_("address"), max_length=300, blank=True)
    contact_name = models.CharField(_("contact person"), max_length=100)
    mobile = models.CharField(_("mobile"), max_length=20, validators=[validate_cn_mobile])
    email = models.EmailField(_("email"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("enterprise")
        verbose_name_plural = _("enterprises")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(uscc__regex=r"^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$"),
                name="enterprise_uscc_shape",
                violation_error_message=_(
                    "A Unified Social Credit Code has 18 digits and capital letters (no I, O, S, "
                    "V or Z), characters 3 to 8 being a region code."
                ),
            ),
            models.CheckConstraint(
                condition=Q(industry__in=Industry.values),
                name="enterprise_industry_valid",
                violation_error_message=_("Choose a section of GB/T 4754."),
            ),
            models.CheckConstraint(
                condition=Q(size__in=EnterpriseSize.values),
                name="enterprise_size_valid",
                violation_error_message=_("Choose a valid enterprise size."),
            ),
        ]

    def __str__(self):
        return self.name

    def clean(self):
        super().clean()
        if self.mobile:
            self.mobile = normalise_mobile(self.mobile)


class Registration(models.Model):
    """An enterprise's sign-up for an activity. Free of charge and withdrawable."""

    activity = models.ForeignKey(
        Activity,
        verbose_name=_("activity"),
        on_delete=models.PROTECT,
        related_name="registrations",
    )
    enterprise = models.ForeignKey(
        Enterprise,
        verbose_name=_("enterprise"),
        on_delete=models.PROTECT,
        related_name="registrations",
    )
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=RegistrationStatus.choices,
        default=RegistrationStatus.CONFIRMED,
    )
    created_at = models.DateTimeField(_("registered"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("registration")
        verbose_name_plural = _("registrations")
        ordering = ["activity", "created_at", "id"]
        indexes = [
            models.Index(
                fields=["activity", "status", "created_at"], name="registration_queue_idx"
            ),
            models.Index(fields=["enterprise", "status"], name="registration_enterprise_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["activity", "enterprise"],
                condition=Q(status__in=REGISTRATION_ACTIVE_STATES),
                name="registration_one_active_per_enterprise",
                violation_error_message=_(
                    "This enterprise is already registered for this activity."
                ),
            ),
            models.CheckConstraint(
                condition=Q(status__in=RegistrationStatus.values),
                name="registration_status_valid",
                violation_error_message=_("Choose a valid registration status."),
            ),
        ]

    def __str__(self):
        return f"{self.enterprise} → {self.activity}"

    @property
    def is_active(self) -> bool:
        return self.status in REGISTRATION_ACTIVE_STATES
