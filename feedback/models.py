"""Feedback after the month: one report per department and campaign, its typical cases, their
pictures, videos and documents, resumable uploads and reminders.

States change only through ``feedback.services`` (the report's workflow is
``FEEDBACK_WORKFLOW`` on the shared review mechanism, ``qualitymonth/review.py``).
"""

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from .enums import MediaKind, MediaState, ReminderKind, ReportStatus, UploadState

# Figures a department reports; a national report may count in the tens of millions.
FIGURE_MAX = 2_000_000_000


def private_storage():
    # Unpublished reports' media is served only through permission-checked views.
    from qualitymonth.storage import private_storage

    return private_storage()


def _figure(label, help_text):
    return models.PositiveBigIntegerField(
        label,
        null=True,
        blank=True,
        help_text=help_text,
        validators=[MaxValueValidator(FIGURE_MAX)],
    )


class FeedbackReport(models.Model):
    """What a department reports after the month (总结报送): summary, figures, the activities it
    covers, typical cases and media."""

    campaign = models.ForeignKey(
        "activities.Campaign",
        on_delete=models.PROTECT,
        related_name="feedback_reports",
        verbose_name=_("campaign"),
    )
    department = models.ForeignKey(
        "activities.Department",
        on_delete=models.PROTECT,
        related_name="feedback_reports",
        verbose_name=_("department"),
    )
    summary = models.TextField(
        pgettext_lazy("feedback report", "summary"),
        blank=True,
        help_text=_("How the month went: what was done, what it achieved, what to improve."),
    )
    activities_held = _figure(_("activities held"), _("Number of activities held."))
    participants = _figure(_("participants"), _("People who took part, counted once each."))
    enterprises_involved = _figure(
        _("enterprises involved"), _("Enterprises that took part in the activities.")
    )
    media_reports = _figure(
        _("media reports"), _("Reports in newspapers, on television, radio and online.")
    )
    activities = models.ManyToManyField(
        "activities.Activity",
        blank=True,
        related_name="feedback_reports",
        verbose_name=_("activities covered"),
    )
    status = models.CharField(
        _("status"),
        max_length=12,
        choices=ReportStatus.choices,
        default=ReportStatus.DRAFT,
        editable=False,
    )
    version = models.PositiveIntegerField(
        _("version"),
        default=1,
        editable=False,
        help_text=_("Bumped on every change, so that a stale form or a second reviewer is caught."),
    )
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True, editable=False)
    deadline_extended_to = models.DateField(
        _("deadline extended to"),
        null=True,
        blank=True,
        help_text=_("A later deadline granted to this department."),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("feedback report")
        verbose_name_plural = _("feedback reports")
        ordering = ["campaign", "department"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "department"], name="feedback_one_report_per_department"
            ),
        ]
        indexes = [models.Index(fields=["campaign", "status"], name="feedback_report_status")]

    def __str__(self):
        return _("Feedback report of %(department)s, %(year)s") % {
            "department": self.department,
            "year": self.campaign.year if self.campaign_id else "",
        }

    @property
    def deadline(self):
        """The day by which the report must first be submitted (inclusive)."""
        return self.deadline_extended_to or self.campaign.feedback_deadline


class TypicalCase(models.Model):
    """A typical case (典型案例) of a report, with its own pictures and videos."""

    report = models.ForeignKey(
        FeedbackReport, on_delete=models.CASCADE, related_name="cases", verbose_name=_("report")
    )
    title = models.CharField(_("title"), max_length=200)
    key_arrangement = models.ForeignKey(
        "activities.KeyArrangement",
        on_delete=models.PROTECT,
        related_name="typical_cases",
        verbose_name=_("key arrangement"),
    )
    region = models.ForeignKey(
        "activities.Region",
        on_delete=models.PROTECT,
        related_name="typical_cases",
        verbose_name=_("region"),
    )
    body = models.TextField(_("text"), help_text=_("What was done, by whom, and what came of it."))
    publication_consent = models.BooleanField(
        _("the department consents to publication"),
        default=False,
        help_text=_("Reviewers may publish the case, with its pictures and videos, on the portal."),
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    published_at = models.DateTimeField(_("published"), null=True, blank=True, editable=False)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
        verbose_name=_("published by"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("typical case")
        verbose_name_plural = _("typical cases")
        ordering = ["report", "position", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(published_at__isnull=True) | Q(publication_consent=True),
                name="feedback_case_published_with_consent",
                violation_error_message=_(
                    "A case is published only with the department's consent."
                ),
            ),
        ]
        indexes = [
            models.Index(
                fields=["-published_at"],
                name="feedback_case_published",
                condition=Q(published_at__isnull=False),
            )
        ]

    def __str__(self):
        return self.title

    @property
    def is_published(self) -> bool:
        return self.published_at is not None


def _media_path(instance, filename):
    return filename  # services pass a random name made by media_checks.random_storage_name


class FeedbackMedia(models.Model):
    """A picture, video or document of a report (or of one of its typical cases).

    The file was checked by its content before it was stored (see ``media_checks``); pictures
    are stored re-encoded without EXIF. Thumbnails, web-size copies, video probing and poster
    frames are made in the background (``state``)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    report = models.ForeignKey(
        FeedbackReport, on_delete=models.CASCADE, related_name="media", verbose_name=_("report")
    )
    case = models.ForeignKey(
        TypicalCase,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="media",
        verbose_name=_("typical case"),
    )
    kind = models.CharField(_("kind"), max_length=10, choices=MediaKind.choices)
    format = models.CharField(_("format"), max_length=10)
    content_type = models.CharField(_("content type"), max_length=100)
    original_name = models.CharField(_("file name"), max_length=255)
    caption = models.CharField(_("caption"), max_length=200, blank=True)
    file = models.FileField(
        _("file"), storage=private_storage, upload_to=_media_path, max_length=300
    )
    size = models.PositiveBigIntegerField(_("size (bytes)"))
    sha256 = models.CharField(_("SHA-256 checksum"), max_length=64)
    width = models.PositiveIntegerField(_("width"), null=True, blank=True)
    height = models.PositiveIntegerField(_("height"), null=True, blank=True)
    duration = models.FloatField(_("duration (seconds)"), null=True, blank=True)
    codec = models.CharField(_("codec"), max_length=50, blank=True)
    probed = models.BooleanField(
        _("probed"), default=False, help_text=_("Checked with ffprobe (installed on the server).")
    )
    thumbnail = models.FileField(
        _("thumbnail"), storage=private_storage, upload_to=_media_path, max_length=300, blank=True
    )
    web_copy = models.FileField(
        _("web-size copy"),
        storage=private_storage,
        upload_to=_media_path,
        max_length=300,
        blank=True,
    )
    poster = models.FileField(
        _("poster frame"),
        storage=private_storage,
        upload_to=_media_path,
        max_length=300,
        blank=True,
    )
    state = models.CharField(
        _("state"), max_length=12, choices=MediaState.choices, default=MediaState.PROCESSING
    )
    failure = models.TextField(_("why it could not be processed"), blank=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("uploaded by"),
    )
    created_at = models.DateTimeField(_("uploaded"), auto_now_add=True)

    class Meta:
        verbose_name = _("picture, video or document")
        verbose_name_plural = _("pictures, videos and documents")
        ordering = ["report", "case", "position", "created_at"]
        constraints = [
            # The same file twice in one report is recognised by its checksum.
            models.UniqueConstraint(
                fields=["report", "sha256"], name="feedback_media_once_per_report"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=MediaKind.values), name="feedback_media_kind_known"
            ),
            models.CheckConstraint(
                condition=Q(case__isnull=True) | ~Q(kind=MediaKind.DOCUMENT),
                name="feedback_documents_belong_to_the_report",
                violation_error_message=_("Documents belong to the report, not to a case."),
            ),
        ]

    def __str__(self):
        return self.original_name

    # The variants `feedback:media_file` serves, by the file field behind each.
    VARIANT_FIELDS = {
        "original": "file",
        "thumbnail": "thumbnail",
        "web": "web_copy",
        "poster": "poster",
    }

    def stored_file(self, variant: str):
        """The stored file of `variant` (original, thumbnail, web, poster), or None. A picture
        small enough to need no web-size copy is its own (it was stored re-encoded)."""
        field = self.VARIANT_FIELDS.get(variant)
        if field is None:
            return None
        stored = getattr(self, field)
        if not stored and variant == "web" and self.kind == MediaKind.PICTURE:
            stored = self.file
        return stored or None

    def url(self, variant: str = "original") -> str | None:
        """The address of the permission-checked view that serves `variant`; None where this
        file has no such variant."""
        from django.urls import reverse

        if self.stored_file(variant) is None:
            return None
        if variant == "original":
            return reverse("feedback:media_file", args=[self.pk])
        return reverse("feedback:media_file", args=[self.pk, variant])


class FeedbackUpload(models.Model):
    """A resumable upload in progress: the bytes received so far wait in a partial file under
    ``FEEDBACK_UPLOAD_DIR`` until the last chunk arrives, then become a ``FeedbackMedia``."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    report = models.ForeignKey(
        FeedbackReport, on_delete=models.CASCADE, related_name="uploads", verbose_name=_("report")
    )
    case = models.ForeignKey(
        TypicalCase,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="uploads",
        verbose_name=_("typical case"),
    )
    original_name = models.CharField(_("file name"), max_length=255)
    size = models.PositiveBigIntegerField(_("size (bytes)"))
    received = models.PositiveBigIntegerField(_("bytes received"), default=0)
    state = models.CharField(
        _("state"), max_length=12, choices=UploadState.choices, default=UploadState.UPLOADING
    )
    refusal = models.TextField(_("why it was refused"), blank=True)
    media = models.OneToOneField(
        FeedbackMedia,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="upload",
        verbose_name=_("stored file"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("uploaded by"),
    )
    created_at = models.DateTimeField(_("started"), auto_now_add=True)
    updated_at = models.DateTimeField(_("last chunk"), auto_now=True)

    class Meta:
        verbose_name = _("upload")
        verbose_name_plural = _("uploads")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(received__lte=models.F("size")), name="feedback_upload_within_size"
            ),
        ]
        indexes = [models.Index(fields=["state", "updated_at"], name="feedback_upload_stale")]

    def __str__(self):
        return self.original_name


class FeedbackReminder(models.Model):
    """A reminder to a department to submit its report (sent by hand or automatically)."""

    campaign = models.ForeignKey(
        "activities.Campaign",
        on_delete=models.CASCADE,
        related_name="feedback_reminders",
        verbose_name=_("campaign"),
    )
    department = models.ForeignKey(
        "activities.Department",
        on_delete=models.CASCADE,
        related_name="feedback_reminders",
        verbose_name=_("department"),
    )
    kind = models.CharField(_("kind"), max_length=10, choices=ReminderKind.choices)
    # For automatic reminders: how many days before the deadline (so each is sent once).
    days_before = models.SmallIntegerField(_("days before the deadline"), null=True, blank=True)
    recipients = models.PositiveIntegerField(_("people emailed"), default=0)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("sent by"),
    )
    sent_at = models.DateTimeField(_("sent"), auto_now_add=True)

    class Meta:
        verbose_name = _("reminder")
        verbose_name_plural = _("reminders")
        ordering = ["-sent_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "department", "days_before"],
                condition=Q(kind=ReminderKind.AUTOMATIC),
                name="feedback_automatic_reminder_once",
            ),
        ]
        indexes = [
            models.Index(
                fields=["campaign", "department", "-sent_at"], name="feedback_reminder_last"
            )
        ]

    def __str__(self):
        return f"{self.department} {self.sent_at:%Y-%m-%d}"
