from django.db import models
from django.utils.translation import gettext_lazy as _


class Industry(models.TextChoices):
    """The 20 sections (门类) of GB/T 4754-2017, the industrial classification of the economy."""

    A = "A", _("Agriculture, forestry, animal husbandry and fishery")
    B = "B", _("Mining")
    C = "C", _("Manufacturing")
    D = "D", _("Production and supply of electricity, heat, gas and water")
    E = "E", _("Construction")
    F = "F", _("Wholesale and retail trade")
    G = "G", _("Transport, storage and postal services")
    H = "H", _("Accommodation and catering")
    I = "I", _("Information transmission, software and information technology services")  # noqa: E741
    J = "J", _("Finance")
    K = "K", _("Real estate")
    L = "L", _("Leasing and business services")
    M = "M", _("Scientific research and technical services")
    N = "N", _("Management of water conservancy, environment and public facilities")
    O = "O", _("Resident services, repair and other services")  # noqa: E741
    P = "P", _("Education")
    Q = "Q", _("Health and social work")
    R = "R", _("Culture, sports and entertainment")
    S = "S", _("Public administration, social security and social organisations")
    T = "T", _("International organisations")


class EnterpriseSize(models.TextChoices):
    """Enterprise size classes of the NBS classification (统计上大中小微型企业划分办法)."""

    LARGE = "large", _("Large")
    MEDIUM = "medium", _("Medium")
    SMALL = "small", _("Small")
    MICRO = "micro", _("Micro")


class RegistrationStatus(models.TextChoices):
    CONFIRMED = "confirmed", _("Confirmed")
    WAITING = "waiting", _("On the waiting list")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    CANCELLED = "cancelled", _("Cancelled with the activity")


# An enterprise holds at most one registration in these states per activity.
REGISTRATION_ACTIVE_STATES = (RegistrationStatus.CONFIRMED, RegistrationStatus.WAITING)


class NoticeKind(models.TextChoices):
    """What a registration notice tells the enterprise's representatives; each value names its
    email's templates (``templates/emails/<value>_subject.txt`` and ``_body.txt``)."""

    CONFIRMED = "registration_confirmed", _("Registration confirmed")
    WAITING = "registration_waiting", _("Put on the waiting list")
    PROMOTED = "registration_promoted", _("Confirmed from the waiting list")
    WITHDRAWN = "registration_withdrawn", _("Registration withdrawn")
    CANCELLED = "registration_cancelled", _("Activity cancelled")


# A notice whose email failed this often is left (with its last error) for someone to look at.
NOTICE_ATTEMPTS = 5


class NoticeState(models.TextChoices):
    """Where a registration notice stands, from when it was sent and how often it was tried."""

    WAITING = "waiting", _("Waiting to be sent")
    GIVEN_UP = "given_up", _("Given up after failed attempts")
    SENT = "sent", _("Sent")
