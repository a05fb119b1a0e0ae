"""Enterprises and their voluntary, free registrations (报名) for activities."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from activities.models import Activity, Region

from .enums import REGISTRATION_ACTIVE_STATES, EnterpriseSize, Industry, RegistrationStatus
from .validators import validate_cn_mobile, validate_uscc


class Enterprise(models.Model):
    """An enterprise (企业), identified by its Unified Social Credit Code."""

    name = models.CharField(_("name"), max_length=200)
    uscc = models.CharField(
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
    mobile = models.CharField(
        _("mobile"), max_length=20, validators=[validate_cn_mobile]
    )
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
            ),
            models.CheckConstraint(
                condition=Q(industry__in=Industry.values), name="enterprise_industry_valid"
            ),
            models.CheckConstraint(
                condition=Q(size__in=EnterpriseSize.values), name="enterprise_size_valid"
            ),
        ]

    def __str__(self):
        return self.name


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
            models.Index(fields=["activity", "status", "created_at"], name="registration_queue_idx"),
            models.Index(fields=["enterprise", "status"], name="registration_enterprise_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["activity", "enterprise"],
                condition=Q(status__in=REGISTRATION_ACTIVE_STATES),
                name="registration_one_active_per_enterprise",
                violation_error_message=_("This enterprise is already registered for this activity."),
            ),
            models.CheckConstraint(
                condition=Q(status__in=RegistrationStatus.values), name="registration_status_valid"
            ),
        ]

    def __str__(self):
        return f"{self.enterprise} → {self.activity}"

    @property
    def is_active(self) -> bool:
        return self.status in REGISTRATION_ACTIVE_STATES
