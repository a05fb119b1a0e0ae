"""Enterprises and their voluntary, free registrations (报名) for activities."""

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from activities.models import Activity, Region

from .enums import (
    NOTICE_ATTEMPTS,
    REGISTRATION_ACTIVE_STATES,
    EnterpriseSize,
    Industry,
    NoticeKind,
    NoticeState,
    RegistrationStatus,
)
from .validators import normalise_mobile, normalise_uscc, validate_cn_mobile, validate_uscc


def private_storage():
    """Evidence is served only through permission-checked views, never from a public URL."""
    from qualitymonth.storage import private_storage

    return private_storage()


# Check-in codes are typed at the door: no 0/O, 1/I/L look-alikes.
CHECK_IN_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def new_check_in_code() -> str:
    return "".join(secrets.choice(CHECK_IN_ALPHABET) for _ in range(8))


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
    attendee_count = models.PositiveSmallIntegerField(_("number of attendees"), default=1)
    contact_name = models.CharField(_("contact person"), max_length=100, blank=True)
    contact_mobile = models.CharField(
        _("contact mobile"), max_length=20, blank=True, validators=[validate_cn_mobile]
    )
    note = models.CharField(_("note to the organiser"), max_length=500, blank=True)
    check_in_code = models.CharField(
        _("check-in code"),
        max_length=12,
        unique=True,
        default=new_check_in_code,
        editable=False,
        help_text=_("Shown at the door (also as a QR code) to mark attendance."),
    )
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("registered by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    confirmed_at = models.DateTimeField(_("confirmed"), null=True, blank=True)
    withdrawn_at = models.DateTimeField(_("withdrawn"), null=True, blank=True)
    checked_in_at = models.DateTimeField(_("checked in"), null=True, blank=True)
    checked_in_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("checked in by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
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
            models.CheckConstraint(
                condition=Q(attendee_count__gte=1),
                name="registration_attendee_count_positive",
                violation_error_message=_("At least one person attends."),
            ),
        ]

    def __str__(self):
        return f"{self.enterprise} → {self.activity}"

    @property
    def is_active(self) -> bool:
        return self.status in REGISTRATION_ACTIVE_STATES


class Attendee(models.Model):
    """A person an enterprise sends to the activity."""

    registration = models.ForeignKey(
        Registration,
        verbose_name=_("registration"),
        on_delete=models.CASCADE,
        related_name="attendees",
    )
    name = models.CharField(_("name"), max_length=100)
    mobile = models.CharField(_("mobile"), max_length=20, validators=[validate_cn_mobile])

    class Meta:
        verbose_name = _("attendee")
        verbose_name_plural = _("attendees")
        ordering = ["registration", "id"]

    def __str__(self):
        return self.name


def notice_state_q(state: NoticeState) -> Q:
    """The notices in `state`, as a filter (for querysets and for counting several at once)."""
    if state == NoticeState.SENT:
        return Q(sent_at__isnull=False)
    if state == NoticeState.GIVEN_UP:
        return Q(sent_at__isnull=True, attempts__gte=NOTICE_ATTEMPTS)
    return Q(sent_at__isnull=True, attempts__lt=NOTICE_ATTEMPTS)


class RegistrationNoticeQuerySet(models.QuerySet):
    def in_state(self, state: NoticeState):
        return self.filter(notice_state_q(state))


class RegistrationNotice(models.Model):
    """News of a registration for its enterprise's representatives (confirmed, waiting, promoted,
    cancelled...), written in the same transaction as the change it reports and emailed
    afterwards (`registrations.services.notices_send`): an outbox. A commit that is not
    followed by its email (the process killed, the broker away) leaves the notice here, and it
    is sent on the next run."""

    registration = models.ForeignKey(
        Registration,
        verbose_name=_("registration"),
        on_delete=models.CASCADE,
        related_name="notices",
    )
    template = models.CharField(_("notice type"), max_length=40, choices=NoticeKind.choices)
    context = models.JSONField(_("details"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.CharField(_("last error"), max_length=300, blank=True)

    objects = RegistrationNoticeQuerySet.as_manager()

    class Meta:
        verbose_name = _("registration notice")
        verbose_name_plural = _("registration notices")
        indexes = [
            # What is still to send: a small part of a large table.
            models.Index(
                fields=["id"],
                condition=Q(sent_at__isnull=True),
                name="registration_notice_unsent",
            )
        ]

    def __str__(self):
        return _("%(notice)s, registration %(registration)s") % {
            "notice": self.get_template_display(),
            "registration": self.registration_id,
        }

    @property
    def state(self) -> NoticeState:
        if self.sent_at is not None:
            return NoticeState.SENT
        if self.attempts >= NOTICE_ATTEMPTS:
            return NoticeState.GIVEN_UP
        return NoticeState.WAITING


class FeeComplaintStatus(models.TextChoices):
    RECEIVED = "received", _("Received")
    INVESTIGATING = "investigating", _("Being investigated")
    CLOSED = "closed", _("Closed")


def new_complaint_reference() -> str:
    return "F" + "".join(secrets.choice(CHECK_IN_ALPHABET) for _ in range(9))


class FeeComplaint(models.Model):
    """A report that someone charges enterprises fees (or "hitchhiking" fees) in the campaign's
    name, which the circular forbids. Anyone may report; only administrators see who did."""

    reference = models.CharField(
        _("reference"), max_length=12, unique=True, default=new_complaint_reference, editable=False
    )
    activity = models.ForeignKey(
        Activity,
        verbose_name=_("activity"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="fee_complaints",
    )
    organiser = models.ForeignKey(
        "activities.Department",
        verbose_name=_("organiser"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="fee_complaints",
    )
    organiser_name = models.CharField(
        _("who charged the fee"),
        max_length=200,
        blank=True,
        help_text=_("The organisation or person, if it is not in the lists."),
    )
    description = models.TextField(_("what happened"))
    amount = models.CharField(_("amount charged"), max_length=100, blank=True)
    occurred_on = models.DateField(_("when"), null=True, blank=True)
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reported by (account)"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reporter_name = models.CharField(_("your name"), max_length=100, blank=True)
    reporter_contact = models.CharField(
        _("how to reach you"), max_length=200, blank=True, help_text=_("Telephone or email.")
    )
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=FeeComplaintStatus.choices,
        default=FeeComplaintStatus.RECEIVED,
        db_index=True,
    )
    outcome = models.TextField(_("outcome"), blank=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("handled by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("received"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("fee complaint")
        verbose_name_plural = _("fee complaints")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=FeeComplaintStatus.values),
                name="fee_complaint_status_valid",
                violation_error_message=_("Choose a valid status."),
            ),
            models.CheckConstraint(
                condition=~Q(status=FeeComplaintStatus.CLOSED) | ~Q(outcome=""),
                name="fee_complaint_closed_with_outcome",
                violation_error_message=_("A closed complaint states its outcome."),
            ),
        ]

    def __str__(self):
        return self.reference


class FeeComplaintEvidence(models.Model):
    """A file attached to a fee complaint (a receipt, an invoice, a screenshot)."""

    complaint = models.ForeignKey(
        FeeComplaint, verbose_name=_("complaint"), on_delete=models.CASCADE, related_name="evidence"
    )
    file = models.FileField(_("file"), upload_to="complaints/%Y/%m/", storage=private_storage)
    original_name = models.CharField(_("original file name"), max_length=255)
    content_type = models.CharField(_("type"), max_length=100)
    size = models.PositiveBigIntegerField(_("size (bytes)"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    created_at = models.DateTimeField(_("uploaded"), auto_now_add=True)

    class Meta:
        verbose_name = _("evidence file")
        verbose_name_plural = _("evidence files")
        ordering = ["complaint", "id"]

    def __str__(self):
        return self.original_name
