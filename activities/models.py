"""Campaign reference data (years, content areas, key arrangements, regions, departments) and
the activities departments organise under them.

Campaign data are rows, not enums: every year brings a new theme and new arrangements.
"""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from qualitymonth.i18n import localized

from .enums import (
    ACTIVITY_PUBLISHED_STATES,
    ActivityStatus,
    CampaignStatus,
    DepartmentLevel,
    RegionLevel,
)


class Campaign(models.Model):
    """One year's Quality Month (质量月活动（年度）)."""

    year = models.PositiveSmallIntegerField(
        _("year"),
        unique=True,
        validators=[MinValueValidator(1978), MaxValueValidator(2100)],
        help_text=_("The national Quality Month has been held every September since 1978."),
    )
    name_zh = models.CharField(_("name (Chinese)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)
    theme_zh = models.CharField(_("theme (Chinese)"), max_length=200)
    theme_en = models.CharField(_("theme (English)"), max_length=300, blank=True)
    month_start = models.DateField(_("month starts"))
    month_end = models.DateField(_("month ends"))
    feedback_deadline = models.DateField(
        _("feedback deadline"),
        help_text=_("Departments and regions submit their feedback reports by this day."),
    )
    status = models.CharField(
        _("status"), max_length=20, choices=CampaignStatus.choices, default=CampaignStatus.PREPARING
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["-year"]
        constraints = [
            models.CheckConstraint(
                condition=Q(year__gte=1978) & Q(year__lte=2100), name="campaign_year_plausible"
            ),
            models.CheckConstraint(
                condition=Q(month_end__gte=F("month_start")), name="campaign_month_end_after_start"
            ),
            models.CheckConstraint(
                condition=Q(feedback_deadline__gte=F("month_end")),
                name="campaign_feedback_after_month",
            ),
            models.CheckConstraint(
                condition=Q(status__in=CampaignStatus.values), name="campaign_status_valid"
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def name(self) -> str:
        return localized(self, "name")

    @property
    def theme(self) -> str:
        return localized(self, "theme")


class _CampaignHeading(models.Model):
    """What content areas and key arrangements share: a numbered, bilingual heading of one year."""

    number = models.PositiveSmallIntegerField(_("number"), validators=[MinValueValidator(1)])
    title_zh = models.CharField(_("title (Chinese)"), max_length=200)
    title_en = models.CharField(_("title (English)"), max_length=300, blank=True)
    description_zh = models.TextField(_("description (Chinese)"), blank=True)
    description_en = models.TextField(_("description (English)"), blank=True)

    class Meta:
        abstract = True
        ordering = ["campaign", "number"]

    def __str__(self):
        return f"{self.number}. {self.title}"

    @property
    def title(self) -> str:
        return localized(self, "title")

    @property
    def description(self) -> str:
        return localized(self, "description")


class ContentArea(_CampaignHeading):
    """One of the circular's content areas (活动内容)."""

    campaign = models.ForeignKey(
        Campaign,
        verbose_name=_("campaign"),
        on_delete=models.CASCADE,
        related_name="content_areas",
    )

    class Meta(_CampaignHeading.Meta):
        verbose_name = _("content area")
        verbose_name_plural = _("content areas")
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "number"], name="content_area_unique_number"
            ),
            models.CheckConstraint(condition=Q(number__gte=1), name="content_area_number_positive"),
        ]


class KeyArrangement(_CampaignHeading):
    """One of the circular's key arrangements (重点安排)."""

    campaign = models.ForeignKey(
        Campaign,
        verbose_name=_("campaign"),
        on_delete=models.CASCADE,
        related_name="key_arrangements",
    )

    class Meta(_CampaignHeading.Meta):
        verbose_name = _("key arrangement")
        verbose_name_plural = _("key arrangements")
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "number"], name="key_arrangement_unique_number"
            ),
            models.CheckConstraint(
                condition=Q(number__gte=1), name="key_arrangement_number_positive"
            ),
        ]


region_code_validator = RegexValidator(
    r"^[1-9][0-9]{5}$", _("A region code has six digits (GB/T 2260), e.g. 110000.")
)


class Region(models.Model):
    """An administrative division (行政区划) by its GB/T 2260 code."""

    code = models.CharField(
        _("code"), max_length=6, unique=True, validators=[region_code_validator]
    )
    name_zh = models.CharField(_("name (Chinese)"), max_length=100)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)
    level = models.CharField(_("level"), max_length=10, choices=RegionLevel.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent region"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )

    class Meta:
        verbose_name = _("region")
        verbose_name_plural = _("regions")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=Q(code__regex=r"^[1-9][0-9]{5}$"), name="region_code_six_digits"),
            models.CheckConstraint(
                condition=(Q(level=RegionLevel.PROVINCE) & Q(parent__isnull=True))
                | (~Q(level=RegionLevel.PROVINCE) & Q(parent__isnull=False)),
                name="region_parent_matches_level",
            ),
            models.CheckConstraint(
                condition=Q(level__in=RegionLevel.values), name="region_level_valid"
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def name(self) -> str:
        return localized(self, "name")

    @property
    def scope_prefix(self) -> str:
        """The code prefix every region under this one shares (GB/T 2260 is hierarchical)."""
        if self.level == RegionLevel.PROVINCE:
            return self.code[:2]
        if self.level == RegionLevel.CITY:
            return self.code[:4]
        return self.code

    def covers(self, other: "Region | None") -> bool:
        """Whether `other` is this region or lies below it."""
        return other is not None and other.code.startswith(self.scope_prefix)


class Department(models.Model):
    """A department or regional bureau (部门（单位）) that organises activities."""

    name_zh = models.CharField(_("name (Chinese)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=300, blank=True)
    short_name_zh = models.CharField(_("short name (Chinese)"), max_length=50, blank=True)
    short_name_en = models.CharField(_("short name (English)"), max_length=50, blank=True)
    level = models.CharField(_("level"), max_length=12, choices=DepartmentLevel.choices)
    region = models.ForeignKey(
        Region,
        verbose_name=_("region"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="departments",
        help_text=_("Empty for national departments."),
    )
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    is_lead = models.BooleanField(
        _("lead department"),
        default=False,
        help_text=_("The department that leads the campaign (SAMR)."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        ordering = ["level", "region__code", "name_zh"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(level=DepartmentLevel.NATIONAL) & Q(region__isnull=True))
                | (~Q(level=DepartmentLevel.NATIONAL) & Q(region__isnull=False)),
                name="department_region_matches_level",
            ),
            models.UniqueConstraint(
                fields=["is_lead"], condition=Q(is_lead=True), name="department_one_lead"
            ),
            models.UniqueConstraint(
                fields=["name_zh"],
                condition=Q(region__isnull=True),
                name="department_national_name_unique",
            ),
            models.UniqueConstraint(
                fields=["region", "name_zh"],
                condition=Q(region__isnull=False),
                name="department_regional_name_unique",
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def name(self) -> str:
        return localized(self, "name")

    @property
    def short_name(self) -> str:
        return localized(self, "short_name") or self.name


class Activity(models.Model):
    """An activity (活动) a department organises during the campaign.

    There is deliberately no fee field: enterprises take part free of charge, and the organiser
    declares so (`no_fee_declared`) before an activity can leave the draft state.
    """

    campaign = models.ForeignKey(
        Campaign, verbose_name=_("campaign"), on_delete=models.PROTECT, related_name="activities"
    )
    key_arrangement = models.ForeignKey(
        KeyArrangement,
        verbose_name=_("key arrangement"),
        on_delete=models.PROTECT,
        related_name="activities",
    )
    content_areas = models.ManyToManyField(
        ContentArea, verbose_name=_("content areas"), related_name="activities", blank=True
    )
    organiser = models.ForeignKey(
        Department,
        verbose_name=_("organiser"),
        on_delete=models.PROTECT,
        related_name="organised_activities",
    )
    co_organisers = models.ManyToManyField(
        Department,
        verbose_name=_("co-organisers"),
        related_name="co_organised_activities",
        blank=True,
    )
    title = models.CharField(_("title"), max_length=200)
    summary = models.CharField(_("summary"), max_length=500, blank=True)
    description = models.TextField(_("description"), blank=True)
    region = models.ForeignKey(
        Region, verbose_name=_("region"), on_delete=models.PROTECT, related_name="activities"
    )
    venue = models.CharField(_("venue"), max_length=300, blank=True)
    online_url = models.URLField(_("online link"), max_length=500, blank=True)
    starts_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"))
    signup_enabled = models.BooleanField(_("enterprises may sign up"), default=False)
    capacity = models.PositiveIntegerField(
        _("capacity (enterprises)"),
        null=True,
        blank=True,
        help_text=_("How many enterprises can be registered. Empty means no limit."),
    )
    signup_opens_at = models.DateTimeField(_("sign-up opens"), null=True, blank=True)
    signup_closes_at = models.DateTimeField(_("sign-up closes"), null=True, blank=True)
    attendees_per_enterprise = models.PositiveSmallIntegerField(
        _("attendees per enterprise"), default=2, validators=[MinValueValidator(1)]
    )
    contact_name = models.CharField(_("contact person"), max_length=100, blank=True)
    contact_phone = models.CharField(_("contact telephone"), max_length=40, blank=True)
    contact_email = models.EmailField(_("contact email"), blank=True)
    no_fee_declared = models.BooleanField(
        _("no fee is charged"),
        default=False,
        help_text=_(
            "The organiser declares that enterprises are charged no fee of any kind, "
            "directly or indirectly, for taking part."
        ),
    )
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=ActivityStatus.choices,
        default=ActivityStatus.DRAFT,
        db_index=True,
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("activity")
        verbose_name_plural = _("activities")
        ordering = ["starts_at", "id"]
        indexes = [
            models.Index(fields=["campaign", "status", "starts_at"], name="activity_listing_idx"),
            models.Index(fields=["organiser", "status"], name="activity_organiser_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="activity_ends_after_start"
            ),
            models.CheckConstraint(
                condition=Q(capacity__isnull=True) | Q(capacity__gt=0),
                name="activity_capacity_positive",
            ),
            models.CheckConstraint(
                condition=Q(attendees_per_enterprise__gte=1),
                name="activity_attendee_limit_positive",
            ),
            # Sign-up needs a window that opens before it closes and closes by the activity's end.
            models.CheckConstraint(
                condition=Q(signup_enabled=False)
                | (
                    Q(signup_opens_at__isnull=False)
                    & Q(signup_closes_at__isnull=False)
                    & Q(signup_closes_at__gt=F("signup_opens_at"))
                    & Q(signup_closes_at__lte=F("ends_at"))
                ),
                name="activity_signup_window_sensible",
            ),
            models.CheckConstraint(
                condition=~Q(venue="") | ~Q(online_url=""), name="activity_has_venue_or_link"
            ),
            models.CheckConstraint(
                condition=Q(status=ActivityStatus.DRAFT) | Q(no_fee_declared=True),
                name="activity_no_fee_declared_beyond_draft",
            ),
            models.CheckConstraint(
                condition=Q(status__in=ActivityStatus.values), name="activity_status_valid"
            ),
        ]

    def __str__(self):
        return self.title

    @property
    def is_published(self) -> bool:
        return self.status in ACTIVITY_PUBLISHED_STATES
