"""API representations of enterprises and their registrations."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.rules import roles_of
from activities.enums import ActivityStatus
from activities.serializers import RegionBriefSerializer
from qualitymonth.api_serializers import ModelSerializer

from .exports import mask_mobile
from .models import Attendee, Enterprise, Registration


def _display(source: str):
    return serializers.CharField(
        source=source, read_only=True, help_text=_("In words, in the request's language.")
    )


class EnterpriseSerializer(ModelSerializer):
    region = RegionBriefSerializer(read_only=True)
    industry_display = _display("get_industry_display")
    size_display = _display("get_size_display")

    class Meta:
        model = Enterprise
        fields = [
            "id",
            "name",
            "uscc",
            "region",
            "industry",
            "industry_display",
            "size",
            "size_display",
            "address",
            "contact_name",
            "mobile",
            "email",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def to_representation(self, enterprise):
        """The contact's mobile and email in full for the enterprise's representatives and
        administrators; masked for the reviewers of its region (138****8000, w***@example.cn)."""
        data = super().to_representation(enterprise)
        request = self.context.get("request")
        user = getattr(request, "user", None)
        if user is None or not user.has_perm("registrations.view_enterprise_contacts", enterprise):
            data["mobile"] = mask_mobile(data.get("mobile") or "")
            data["email"] = mask_email(data.get("email") or "")
        return data


def mask_email(email: str) -> str:
    """w***@example.cn: the domain says which organisation, not whom to write to."""
    local, at, domain = email.partition("@")
    return f"{local[:1]}***@{domain}" if at else ("***" if email else email)


class EnterpriseBriefSerializer(ModelSerializer):
    class Meta:
        model = Enterprise
        fields = ["id", "name", "uscc"]
        read_only_fields = fields


class RegisteredActivitySerializer(serializers.Serializer):
    """The activity as a registration shows it."""

    id = serializers.IntegerField(read_only=True)
    campaign = serializers.IntegerField(
        source="campaign.year", read_only=True, help_text=_("The campaign's year.")
    )
    title = serializers.CharField(read_only=True)
    starts_at = serializers.DateTimeField(read_only=True)
    ends_at = serializers.DateTimeField(read_only=True)
    region = RegionBriefSerializer(read_only=True)
    status = serializers.ChoiceField(choices=ActivityStatus.choices, read_only=True)


class AttendeeSerializer(ModelSerializer):
    class Meta:
        model = Attendee
        fields = ["name", "mobile"]
        extra_kwargs = {
            "name": {"help_text": _("The person's name.")},
            "mobile": {
                "help_text": _("A mainland mobile number, e.g. 13800138000."),
                "validators": [],  # the sign-up service checks it, with a message per attendee
            },
        }


# Shown only to those the enterprise gave them to: its representatives, the staff of the
# organiser and the co-organisers, and administrators (`registrations.view_registrant_contacts`,
# as on the registrants pages); null for everyone else, reviewers included.
PRIVATE_FIELDS = ("attendees", "contact_name", "contact_mobile", "note")


class RegistrationSerializer(ModelSerializer):
    activity = RegisteredActivitySerializer(read_only=True)
    enterprise = EnterpriseBriefSerializer(read_only=True)
    status_display = _display("get_status_display")
    is_active = serializers.BooleanField(
        read_only=True,
        help_text=_("Confirmed or on the waiting list (not withdrawn or cancelled)."),
    )
    waiting_position = serializers.IntegerField(
        read_only=True,
        allow_null=True,
        help_text=_("The place on the activity's waiting list (1 is next); null unless waiting."),
    )
    check_in_code = serializers.SerializerMethodField(
        help_text=_(
            "Shown at the door (also as a QR code) once confirmed. Only the enterprise's "
            "representatives see it; null for everyone else."
        )
    )
    attendees = AttendeeSerializer(
        many=True,
        read_only=True,
        allow_null=True,
        help_text=_("Who attends. Null for callers not given the registrants' contacts."),
    )
    contact_name = serializers.CharField(read_only=True, allow_null=True)
    contact_mobile = serializers.CharField(read_only=True, allow_null=True)
    note = serializers.CharField(read_only=True, allow_null=True)

    class Meta:
        model = Registration
        fields = [
            "id",
            "activity",
            "enterprise",
            "status",
            "status_display",
            "is_active",
            "waiting_position",
            "check_in_code",
            "attendee_count",
            "attendees",
            "contact_name",
            "contact_mobile",
            "note",
            "confirmed_at",
            "withdrawn_at",
            "checked_in_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def _user(self):
        request = self.context.get("request")
        return getattr(request, "user", None)

    def _represents(self, registration: Registration) -> bool:
        return roles_of(self._user()).enterprise_id == registration.enterprise_id

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_check_in_code(self, registration: Registration) -> str | None:
        return registration.check_in_code if self._represents(registration) else None

    def to_representation(self, registration):
        data = super().to_representation(registration)
        if not getattr(registration, "waiting_position", None):
            data["waiting_position"] = None
        user = self._user()
        if not (
            self._represents(registration)
            or (
                user is not None
                and user.has_perm("registrations.view_registrant_contacts", registration.activity)
            )
        ):
            for name in PRIVATE_FIELDS:
                data[name] = None
        return data


class RegistrationCreateSerializer(serializers.Serializer):
    """What an enterprise's representative sends to sign the enterprise up."""

    # The id only: the sign-up reads the activity in its one statement, and refuses one the
    # caller may not see as not found.
    activity = serializers.IntegerField(min_value=1, help_text=_("The id of the activity."))
    attendees = AttendeeSerializer(
        many=True,
        help_text=_(
            "Who attends: 1 to the activity's attendees per enterprise, each with a name and a "
            "mainland mobile number."
        ),
    )
    contact_name = serializers.CharField(
        max_length=100,
        required=False,
        help_text=_("Whom the organiser calls. The enterprise's contact person if left out."),
    )
    contact_mobile = serializers.CharField(
        max_length=20,
        required=False,
        help_text=_("The contact's mobile. The enterprise's mobile if left out."),
    )
    note = serializers.CharField(
        max_length=500,
        required=False,
        allow_blank=True,
        default="",
        help_text=_("Anything the organiser should know."),
    )


class RegistrationWithdrawSerializer(serializers.Serializer):
    reason = serializers.CharField(
        max_length=500,
        required=False,
        allow_blank=True,
        default="",
        help_text=_(
            "Why. Optional for the enterprise; the organiser's staff and administrators must say "
            "why, and the enterprise is told."
        ),
    )
