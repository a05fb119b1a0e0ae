"""API representations of enterprises and their registrations."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from activities.enums import ActivityStatus
from activities.serializers import RegionBriefSerializer

from .models import Enterprise, Registration


def _display(source: str):
    return serializers.CharField(
        source=source, read_only=True, help_text=_("In words, in the request's language.")
    )


class EnterpriseSerializer(serializers.ModelSerializer):
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


class EnterpriseBriefSerializer(serializers.ModelSerializer):
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


class RegistrationSerializer(serializers.ModelSerializer):
    activity = RegisteredActivitySerializer(read_only=True)
    enterprise = EnterpriseBriefSerializer(read_only=True)
    status_display = _display("get_status_display")
    is_active = serializers.BooleanField(
        read_only=True,
        help_text=_("Confirmed or on the waiting list (not withdrawn or cancelled)."),
    )

    class Meta:
        model = Registration
        fields = [
            "id",
            "activity",
            "enterprise",
            "status",
            "status_display",
            "is_active",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields
