"""Campaign reference data (years, content areas, key arrangements, regions, departments) and
the activities departments organise under them.

Campaign data are rows, not enums: every year brings a new theme and new arrangements.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
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
                condition=Q(year__gte=1978) & Q(year__lte=2100),
                name="campaign_year_plausible",
                violation_error_message=_("The year must lie between 1978 and 2100."),
            ),
            models.CheckConstraint(
                condition=Q(month_end__gte=F("month_start")),
                name="campaign_month_end_after_start",
                violation_error_message=_("The month cannot end before it starts."),
            ),
            models.CheckConstraint(
                condition=Q(feedback_deadline__gte=F("month_end")),
                name="campaign_feedback_after_month",
                violation_error_message=_(
                    "The feedback deadline cannot fall before the month ends."
                ),
            ),
            models.CheckConstraint(
                condition=Q(status__in=CampaignStatus.values),
                name="campaign_status_valid",
                violation_error_message=_("Choose a valid campaign status."),
            ),
        ]

    def __str__(self):
        return self.name

    def clean(self):
        # The same rules as the constraints above, as messages on the field to correct.
        super().clean()
        errors = {}
        if self.month_start and self.month_end and self.month_end < self.month_start:
            errors["month_end"] = _("The month cannot end before it starts.")
        if self.month_end and self.feedback_deadline and self.feedback_deadline < self.month_end:
            errors["feedback_deadline"] = _(
                "The feedback deadline cannot fall before the month ends."
            )
        if errors:
            raise ValidationError(errors)

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
                fields=["campaign", "number"],
                name="content_area_unique_number",
                violation_error_message=_(
                    "This campaign already has a content area with this number."
                ),
            ),
            models.CheckConstraint(
                condition=Q(number__gte=1),
                name="content_area_number_positive",
                violation_error_message=_("Numbers start at 1."),
            ),
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
                fields=["campaign", "number"],
                name="key_arrangement_unique_number",
                violation_error_message=_(
                    "This campaign already has a key arrangement with this number."
                ),
            ),
            models.CheckConstraint(
                condition=Q(number__gte=1),
                name="key_arrangement_number_positive",
                violation_error_message=_("Numbers start at 1."),
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
            models.CheckConstraint(
                condition=Q(code__regex=r"^[1-9][0-9]{5}$"),
                name="region_code_six_digits",
                violation_error_message=_("A region code has six digits (GB/T 2260), e.g. 110000."),
            ),
            # Provinces are XX0000 and nothing else is: scope_prefix and every regional
            # permission rely on it.
            models.CheckConstraint(
                condition=(Q(level=RegionLevel.PROVINCE) & Q(code__endswith="0000"))
                | (~Q(level=RegionLevel.PROVINCE) & ~Q(code__endswith="0000")),
                name="region_code_matches_level",
                violation_error_message=_(
                    "A provincial code ends in 0000 (e.g. 440000); a city or county code does not."
                ),
            ),
            models.CheckConstraint(
                condition=(Q(level=RegionLevel.PROVINCE) & Q(parent__isnull=True))
                | (~Q(level=RegionLevel.PROVINCE) & Q(parent__isnull=False)),
                name="region_parent_matches_level",
                violation_error_message=_(
                    "A province has no parent region; a city or county has one."
                ),
            ),
            models.CheckConstraint(
                condition=Q(level__in=RegionLevel.values),
                name="region_level_valid",
                violation_error_message=_("Choose a valid region level."),
            ),
        ]

    def __str__(self):
        return self.name

    def clean(self):
        super().clean()
        errors = {}
        if self.level == RegionLevel.PROVINCE:
            if self.parent_id is not None:
                errors["parent"] = _("A province has no parent region.")
            if self.code and not self.code.endswith("0000"):
                errors["code"] = _("A provincial code ends in 0000, e.g. 440000.")
        elif self.level in (RegionLevel.CITY, RegionLevel.COUNTY):
            if self.code and self.code.endswith("0000"):
                errors["code"] = _("Only a provincial code ends in 0000.")
            if self.parent_id is None:
                errors["parent"] = _("A city or county lies in a parent region.")
            elif self.parent.level == RegionLevel.COUNTY or self.parent.level == self.level:
                errors["parent"] = _("The parent region must be of a higher level.")
            elif self.code and not self.parent.covers(self):
                errors["parent"] = _("The code %(code)s does not lie in %(parent)s.") % {
                    "code": self.code,
                    "parent": self.parent,
                }
        if errors:
            raise ValidationError(errors)

    @property
    def name(self) -> str:
        return localized(self, "name")

    @property
    def scope_prefix(self) -> str:
        """The code prefix every region under this one shares (GB/T 2260 is hierarchical).

        Taken from the code rather than the level: a county-level city directly under a province
        (419001 Jiyuan) is loaded as a city by common data sets, yet covers only itself.
        """
        if self.code.endswith("0000"):
            return self.code[:2]
        if self.code.endswith("00"):
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
                violation_error_message=_(
                    "A national department has no region; every other department has one."
                ),
            ),
            models.CheckConstraint(
                condition=Q(level__in=DepartmentLevel.values),
                name="department_level_valid",
                violation_error_message=_("Choose a valid department level."),
            ),
            models.CheckConstraint(
                condition=Q(is_lead=False) | Q(level=DepartmentLevel.NATIONAL),
                name="department_lead_is_national",
                violation_error_message=_("The lead department is a national department."),
            ),
            models.UniqueConstraint(
                fields=["is_lead"],
                condition=Q(is_lead=True),
                name="department_one_lead",
                violation_error_message=_("Another department already leads the campaign."),
            ),
            models.UniqueConstraint(
                fields=["name_zh"],
                condition=Q(region__isnull=True),
                name="department_national_name_unique",
                violation_error_message=_("A national department with this name already exists."),
            ),
            models.UniqueConstraint(
                fields=["region", "name_zh"],
                condition=Q(region__isnull=False),
                name="department_regional_name_unique",
                violation_error_message=_(
                    "A department with this name already exists in this region."
                ),
            ),
        ]

    def __str__(self):
        return self.name

    def clean(self):
        super().clean()
        errors = {}
        if self.level == DepartmentLevel.NATIONAL:
            if self.region_id is not None:
                errors["region"] = _("A national department has no region.")
        elif self.level in DepartmentLevel.values:
            expected = {
                DepartmentLevel.PROVINCIAL: RegionLevel.PROVINCE,
                DepartmentLevel.CITY: RegionLevel.CITY,
                DepartmentLevel.COUNTY: RegionLevel.COUNTY,
            }[self.level]
            if self.region_id is None:
                errors["region"] = _("Choose the region this department serves.")
            elif self.region.level != expected:
                errors["region"] = _("A %(level)s department serves a %(region_level)s.") % {
                    "level": self.get_level_display().lower(),
                    "region_level": RegionLevel(expected).label.lower(),
                }
        if self.is_lead and self.level != DepartmentLevel.NATIONAL:
            errors["is_lead"] = _("The lead department is a national department.")
        if errors:
            raise ValidationError(errors)

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
        validators=[MinValueValidator(1)],
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
    confirmed_count = models.PositiveIntegerField(
        _("confirmed enterprises"),
        default=0,
        editable=False,
        help_text=_("Kept by the sign-up service; never above the capacity."),
    )
    search_text = models.TextField(
        _("search text"),
        blank=True,
        editable=False,
        help_text=_("Characters and character pairs of the title and description, for search."),
    )
    version = models.PositiveIntegerField(
        _("version"),
        default=1,
        editable=False,
        help_text=_("Counts every change, so that two people cannot overwrite each other."),
    )
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True, editable=False)
    cancellation_reason = models.TextField(_("reason for cancelling"), blank=True)
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
            models.Index(fields=["status", "submitted_at"], name="activity_review_queue_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")),
                name="activity_ends_after_start",
                violation_error_message=_("An activity must end after it starts."),
            ),
            models.CheckConstraint(
                condition=Q(capacity__isnull=True) | Q(capacity__gt=0),
                name="activity_capacity_positive",
                violation_error_message=_("The capacity is at least 1, or empty for no limit."),
            ),
            models.CheckConstraint(
                condition=Q(capacity__isnull=True) | Q(confirmed_count__lte=F("capacity")),
                name="activity_confirmed_within_capacity",
                violation_error_message=_(
                    "The capacity cannot be below the number of confirmed enterprises."
                ),
            ),
            models.CheckConstraint(
                condition=Q(attendees_per_enterprise__gte=1),
                name="activity_attendee_limit_positive",
                violation_error_message=_("Each enterprise may send at least one attendee."),
            ),
            # Sign-up, when enabled, needs a window ...
            models.CheckConstraint(
                condition=Q(signup_enabled=False)
                | (Q(signup_opens_at__isnull=False) & Q(signup_closes_at__isnull=False)),
                name="activity_signup_window_required",
                violation_error_message=_(
                    "Enterprises sign up within a window: say when it opens and when it closes."
                ),
            ),
            # ... and any window given, used or not, opens before it closes and closes by the end.
            models.CheckConstraint(
                condition=Q(signup_opens_at__isnull=True)
                | Q(signup_closes_at__isnull=True)
                | Q(signup_closes_at__gt=F("signup_opens_at")),
                name="activity_signup_window_ordered",
                violation_error_message=_("Sign-up must open before it closes."),
            ),
            models.CheckConstraint(
                condition=Q(signup_closes_at__isnull=True) | Q(signup_closes_at__lte=F("ends_at")),
                name="activity_signup_closes_by_end",
                violation_error_message=_("Sign-up must close by the time the activity ends."),
            ),
            models.CheckConstraint(
                condition=Q(signup_opens_at__isnull=True) | Q(signup_opens_at__lt=F("ends_at")),
                name="activity_signup_opens_before_end",
                violation_error_message=_("Sign-up must open before the activity ends."),
            ),
            models.CheckConstraint(
                condition=~Q(venue="") | ~Q(online_url=""),
                name="activity_has_venue_or_link",
                violation_error_message=_("Give a venue, an online link, or both."),
            ),
            models.CheckConstraint(
                condition=Q(status=ActivityStatus.DRAFT) | Q(no_fee_declared=True),
                name="activity_no_fee_declared_beyond_draft",
                violation_error_message=_(
                    "Declare that enterprises are charged no fee before the activity leaves "
                    "the draft."
                ),
            ),
            models.CheckConstraint(
                condition=Q(status__in=ActivityStatus.values),
                name="activity_status_valid",
                violation_error_message=_("Choose a valid activity status."),
            ),
        ]

    def __str__(self):
        return self.title

    def clean(self):
        # The constraints above, as messages on the field to correct (forms and the admin).
        super().clean()
        errors = {}
        starts, ends = self.starts_at, self.ends_at
        opens, closes = self.signup_opens_at, self.signup_closes_at
        if starts and ends and ends <= starts:
            errors["ends_at"] = _("An activity must end after it starts.")
        if self.signup_enabled and opens is None:
            errors["signup_opens_at"] = _("Say when sign-up opens.")
        if self.signup_enabled and closes is None:
            errors["signup_closes_at"] = _("Say when sign-up closes.")
        if opens and closes and closes <= opens:
            errors["signup_closes_at"] = _("Sign-up must open before it closes.")
        elif closes and ends and closes > ends:
            errors["signup_closes_at"] = _("Sign-up must close by the time the activity ends.")
        elif opens and ends and opens >= ends:
            errors["signup_opens_at"] = _("Sign-up must open before the activity ends.")
        if self.capacity is not None and 0 < self.capacity < self.confirmed_count:
            errors["capacity"] = _(
                "The capacity cannot be below the number of confirmed enterprises."
            )
        if not self.venue and not self.online_url:
            errors["venue"] = _("Give a venue, an online link, or both.")
        if self.status != ActivityStatus.DRAFT and not self.no_fee_declared:
            errors["no_fee_declared"] = _(
                "Declare that enterprises are charged no fee before the activity leaves the draft."
            )
        if (
            self.key_arrangement_id is not None
            and self.campaign_id is not None
            and self.key_arrangement.campaign_id != self.campaign_id
        ):
            errors["key_arrangement"] = _("Choose a key arrangement of this activity's campaign.")
        if errors:
            raise ValidationError(errors)

    @property
    def is_published(self) -> bool:
        return self.status in ACTIVITY_PUBLISHED_STATES


class ActivityImportMode(models.TextChoices):
    ALL_OR_NOTHING = "all", _("Import nothing unless every row is valid")
    VALID_AS_DRAFTS = "valid", _("Import the valid rows, report the others")


class ActivityImportStatus(models.TextChoices):
    QUEUED = "queued", _("Waiting to start")
    RUNNING = "running", _("Checking and importing")
    INVALID = "invalid", _("Failed validation: nothing imported")
    DONE = "done", _("Done")
    ERROR = "error", _("Could not be read")


def _activity_import_path(job: "ActivityImport", filename: str) -> str:
    # The person's file name is kept in `original_name`; the stored name never comes from them.
    import uuid

    from django.utils import timezone

    return f"imports/activities/{timezone.now():%Y/%m}/{uuid.uuid4().hex}.xlsx"


class ActivityImport(models.Model):
    """One upload of a workbook of activities by a department's staff, checked and imported by a
    background task (activities/importing.py). Imported activities are drafts of the department."""

    campaign = models.ForeignKey(
        Campaign, verbose_name=_("campaign"), on_delete=models.PROTECT, related_name="imports"
    )
    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        on_delete=models.PROTECT,
        related_name="activity_imports",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    file = models.FileField(_("file"), upload_to=_activity_import_path, max_length=300)
    original_name = models.CharField(_("file name"), max_length=255)
    mode = models.CharField(
        _("mode"),
        max_length=10,
        choices=ActivityImportMode.choices,
        default=ActivityImportMode.ALL_OR_NOTHING,
    )
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=ActivityImportStatus.choices,
        default=ActivityImportStatus.QUEUED,
        db_index=True,
    )
    rows_total = models.PositiveIntegerField(_("rows"), default=0)
    rows_processed = models.PositiveIntegerField(_("rows checked"), default=0)
    error_count = models.PositiveIntegerField(_("errors"), default=0)
    errors = models.JSONField(
        _("errors found"),
        default=list,
        blank=True,
        help_text=_("Row, column and message of every error, in Chinese and English."),
    )
    notices = models.JSONField(
        _("notices"),
        default=list,
        blank=True,
        help_text=_("What the person should know about the file as a whole (Chinese and English)."),
    )
    failure = models.JSONField(
        _("why the file could not be read"),
        default=dict,
        blank=True,
        help_text=_("The message in Chinese and English, when the file could not be read at all."),
    )
    created_count = models.PositiveIntegerField(_("activities created"), default=0)
    created_at = models.DateTimeField(_("uploaded"), auto_now_add=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("activity import")
        verbose_name_plural = _("activity imports")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["department", "-created_at"], name="activity_import_dept_idx")
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(rows_processed__lte=F("rows_total")),
                name="activity_import_progress_within_total",
                violation_error_message=_("No more rows can be checked than the file holds."),
            ),
            models.CheckConstraint(
                condition=Q(status__in=ActivityImportStatus.values),
                name="activity_import_status_valid",
                violation_error_message=_("Choose a valid import status."),
            ),
            models.CheckConstraint(
                condition=Q(mode__in=ActivityImportMode.values),
                name="activity_import_mode_valid",
                violation_error_message=_("Choose a valid import mode."),
            ),
        ]

    def __str__(self):
        return self.original_name

    @property
    def is_finished(self) -> bool:
        return self.status not in (ActivityImportStatus.QUEUED, ActivityImportStatus.RUNNING)
