"""People and their roles.

Roles (one person may hold several):
- platform administrator: ``User.is_superuser``;
- reviewer: a `ReviewerAssignment`, national (no region) or provincial (a region and all below);
- department staff: a `DepartmentMembership` (one department per person);
- enterprise representative: an approved `EnterpriseRepresentative` (one enterprise per person).
"""

import hashlib

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from activities.models import Department, Region
from registrations.models import Enterprise

from .enums import RepresentationStatus


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra_fields):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email, password=None, **extra_fields):
        extra_fields.update(is_staff=True, is_superuser=True)
        extra_fields.setdefault("email_verified_at", timezone.now())
        return self._create_user(email, password, **extra_fields)

    def get_by_natural_key(self, username):
        return self.get(email__iexact=username)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in with an email address."""

    email = models.EmailField(_("email address"), unique=True)
    full_name = models.CharField(_("full name"), max_length=100, blank=True)
    phone = models.CharField(_("telephone"), max_length=40, blank=True)
    preferred_language = models.CharField(
        _("preferred language"),
        max_length=10,
        choices=settings.LANGUAGES,
        default=settings.LANGUAGE_CODE,
        help_text=_("Emails to this person are written in this language."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    is_staff = models.BooleanField(
        _("may use the site administration"),
        default=False,
        help_text=_("Platform administrators use the site administration."),
    )
    email_verified_at = models.DateTimeField(_("email verified"), null=True, blank=True)
    date_joined = models.DateTimeField(_("joined"), default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["email"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_unique_ci"),
        ]

    def __str__(self):
        return self.full_name or self.email

    def clean(self):
        super().clean()
        self.email = self.__class__.objects.normalize_email(self.email).lower()

    def get_full_name(self):
        return self.full_name or self.email

    def get_short_name(self):
        return self.full_name or self.email.split("@")[0]

    @property
    def is_platform_admin(self) -> bool:
        return self.is_active and self.is_superuser


class DepartmentMembership(models.Model):
    """Makes a person staff of one department (部门工作人员)."""

    user = models.OneToOneField(
        User,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="department_membership",
    )
    department = models.ForeignKey(
        Department, verbose_name=_("department"), on_delete=models.PROTECT, related_name="members"
    )
    granted_by = models.ForeignKey(
        User,
        verbose_name=_("granted by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    granted_at = models.DateTimeField(_("granted"), auto_now_add=True)

    class Meta:
        verbose_name = _("department membership")
        verbose_name_plural = _("department memberships")

    def __str__(self):
        return f"{self.user} @ {self.department}"


class ReviewerAssignment(models.Model):
    """Makes a person a reviewer: national without a region, provincial for a region and below."""

    user = models.OneToOneField(
        User,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="reviewer_assignment",
    )
    region = models.ForeignKey(
        Region,
        verbose_name=_("region"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reviewers",
        help_text=_("Empty for a national reviewer."),
    )
    granted_by = models.ForeignKey(
        User,
        verbose_name=_("granted by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    granted_at = models.DateTimeField(_("granted"), auto_now_add=True)

    class Meta:
        verbose_name = _("reviewer assignment")
        verbose_name_plural = _("reviewer assignments")

    def __str__(self):
        return f"{self.user} ({self.region or _('national')})"

    @property
    def is_national(self) -> bool:
        return self.region_id is None


class EnterpriseRepresentative(models.Model):
    """A person's claim to represent an enterprise, and its outcome.

    The first verified representative of a credit code holds it; later claims wait for that
    representative's (or an administrator's) decision.
    """

    user = models.ForeignKey(
        User,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="enterprise_representations",
    )
    enterprise = models.ForeignKey(
        Enterprise,
        verbose_name=_("enterprise"),
        on_delete=models.CASCADE,
        related_name="representatives",
    )
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=RepresentationStatus.choices,
        default=RepresentationStatus.PENDING,
    )
    decided_by = models.ForeignKey(
        User,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    reason = models.TextField(
        _("reason"),
        blank=True,
        help_text=_("Why a claim was rejected or a representative removed; the claimant sees it."),
    )
    created_at = models.DateTimeField(_("claimed"), auto_now_add=True)

    class Meta:
        verbose_name = _("enterprise representative")
        verbose_name_plural = _("enterprise representatives")
        ordering = ["enterprise", "created_at"]
        constraints = [
            # One enterprise per person: at most one claim pending or approved.
            models.UniqueConstraint(
                fields=["user"],
                condition=Q(status__in=["pending", "approved"]),
                name="representative_one_enterprise_per_user",
            ),
            models.CheckConstraint(
                condition=Q(status__in=RepresentationStatus.values),
                name="representative_status_valid",
            ),
        ]

    def __str__(self):
        return f"{self.user} → {self.enterprise} ({self.get_status_display()})"


class EnterpriseSignup(models.Model):
    """The enterprise a person typed when signing up, kept until they verify their email address.

    No `Enterprise` and no claim exist before verification: the typed details wait here, so an
    unverified first claimant can never lock a credit code. On verification they become a claim
    (`accounts.services.enterprise_claim_submit`) and this row is deleted.
    """

    user = models.OneToOneField(
        User,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="enterprise_signup",
    )
    uscc = models.CharField(_("Unified Social Credit Code"), max_length=18, db_index=True)
    details = models.JSONField(_("enterprise details as typed"), default=dict)
    created_at = models.DateTimeField(_("signed up"), auto_now_add=True)

    class Meta:
        verbose_name = _("enterprise sign-up awaiting verification")
        verbose_name_plural = _("enterprise sign-ups awaiting verification")
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.user} → {self.details.get('name', '')} ({self.uscc})"


class PersonalToken(models.Model):
    """A personal API token. Only a hash is stored; the key is shown once when it is made."""

    user = models.ForeignKey(
        User, verbose_name=_("user"), on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=12, db_index=True)
    key_hash = models.CharField(_("key hash"), max_length=64, unique=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        verbose_name = _("personal API token")
        verbose_name_plural = _("personal API tokens")
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def hash_key(key: str) -> str:
        # Keys are 32 random bytes: a fast hash is enough, nothing to brute-force.
        return hashlib.sha256(key.encode()).hexdigest()

    @property
    def is_usable(self) -> bool:
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or self.expires_at > timezone.now()
