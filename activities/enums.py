from django.db import models
from django.utils.translation import gettext_lazy as _


class CampaignStatus(models.TextChoices):
    PREPARING = "preparing", _("Preparing")
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")


class RegionLevel(models.TextChoices):
    PROVINCE = "province", _("Province")
    CITY = "city", _("City")
    COUNTY = "county", _("County")


class DepartmentLevel(models.TextChoices):
    NATIONAL = "national", _("National")
    PROVINCIAL = "provincial", _("Provincial")
    CITY = "city", _("City")
    COUNTY = "county", _("County")


class ActivityStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted for review")
    RETURNED = "returned", _("Returned for revision")
    APPROVED = "approved", _("Approved (published)")
    REJECTED = "rejected", _("Rejected")
    CANCELLED = "cancelled", _("Cancelled")


# Named groups of states, so rules read as the campaign speaks.
ACTIVITY_PUBLISHED_STATES = (ActivityStatus.APPROVED,)
ACTIVITY_EDITABLE_STATES = (ActivityStatus.DRAFT, ActivityStatus.RETURNED)
# Shown to the public: published activities, and those cancelled after publication (marked so,
# so that enterprises and calendar subscribers learn of the cancellation).
ACTIVITY_PUBLIC_STATES = (*ACTIVITY_PUBLISHED_STATES, ActivityStatus.CANCELLED)
