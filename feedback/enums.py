from django.db import models
from django.utils.translation import gettext_lazy as _


class ReportStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted for review")
    RETURNED = "returned", _("Returned for revision")
    ACCEPTED = "accepted", _("Accepted")


# Named groups of states, so rules read as the campaign speaks.
REPORT_EDITABLE_STATES = (ReportStatus.DRAFT, ReportStatus.RETURNED)
REPORT_DONE_STATES = (ReportStatus.SUBMITTED, ReportStatus.ACCEPTED)


class MediaKind(models.TextChoices):
    PICTURE = "picture", _("Picture")
    VIDEO = "video", _("Video")
    DOCUMENT = "document", _("Document")


class MediaState(models.TextChoices):
    PROCESSING = "processing", _("Being processed")
    READY = "ready", _("Ready")
    FAILED = "failed", _("Could not be processed")


class UploadState(models.TextChoices):
    UPLOADING = "uploading", _("Uploading")
    COMPLETE = "complete", _("Complete")
    REFUSED = "refused", _("Refused")
    ABANDONED = "abandoned", _("Abandoned")


class ReminderKind(models.TextChoices):
    MANUAL = "manual", _("Sent by hand")
    AUTOMATIC = "automatic", _("Sent automatically before the deadline")


class DepartmentFeedbackState(models.TextChoices):
    """Where a department stands with its report (for overdue tracking); no row has it."""

    NOT_STARTED = "not_started", _("Not started")
    DRAFT = "draft", _("Draft")
    RETURNED = "returned", _("Returned for revision")
    SUBMITTED = "submitted", _("Submitted for review")
    ACCEPTED = "accepted", _("Accepted")
