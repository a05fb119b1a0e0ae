"""API representations of campaign data.

Bilingual fields appear three times: ``name_zh`` and ``name_en`` as stored, and ``name`` in the
request's language (Accept-Language on /api/; Chinese when the English one is empty).
"""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from .models import Activity, Campaign, ContentArea, Department, KeyArrangement, Region


def _localized(help_text):
    return serializers.CharField(read_only=True, help_text=help_text)


STATUS_IN_WORDS = _("Status in words, in the request's language.")


def _display(source: str, help_text):
    return serializers.CharField(source=source, read_only=True, help_text=help_text)


# --- brief forms, nested in other objects ----------------------------------------------------

class HeadingBriefSerializer(serializers.Serializer):
    """A content area or key arrangement as other objects show it."""

    id = serializers.IntegerField(read_only=True)
    number = serializers.IntegerField(read_only=True)
    title = _localized(_("Title in the request's language."))


class RegionBriefSerializer(serializers.ModelSerializer):
    name = _localized(_("Name in the request's language."))

    class Meta:
        model = Region
        fields = ["code", "name", "level"]
        read_only_fields = fields


class DepartmentBriefSerializer(serializers.ModelSerializer):
    name = _localized(_("Name in the request's language."))
    short_name = _localized(_("Short name in the request's language (the name when none is set)."))

    class Meta:
        model = Department
        fields = ["id", "name", "short_name"]
        read_only_fields = fields


# --- reference data ----------------------------------------------------------------------------

class CampaignSerializer(serializers.ModelSerializer):
    name = _localized(_("Name in the request's language."))
    theme = _localized(_("Theme in the request's language."))
    status_display = _display("get_status_display", STATUS_IN_WORDS)
    content_areas = HeadingBriefSerializer(many=True, read_only=True)
    key_arrangements = HeadingBriefSerializer(many=True, read_only=True)

    class Meta:
        model = Campaign
        fields = [
            "year",
            "name",
            "name_zh",
            "name_en",
            "theme",
            "theme_zh",
            "theme_en",
            "month_start",
            "month_end",
            "feedback_deadline",
            "status",
            "status_display",
            "content_areas",
            "key_arrangements",
        ]
        read_only_fields = fields


class _HeadingSerializer(serializers.ModelSerializer):
    campaign = serializers.IntegerField(
        source="campaign.year", read_only=True, help_text=_("The campaign's year.")
    )
    title = _localized(_("Title in the request's language."))
    description = _localized(_("Description in the request's language."))

    class Meta:
        fields = [
            "id",
            "campaign",
            "number",
            "title",
            "title_zh",
            "title_en",
            "description",
            "description_zh",
            "description_en",
        ]
        read_only_fields = fields


class ContentAreaSerializer(_HeadingSerializer):
    class Meta(_HeadingSerializer.Meta):
        model = ContentArea


class KeyArrangementSerializer(_HeadingSerializer):
    class Meta(_HeadingSerializer.Meta):
        model = KeyArrangement


class RegionSerializer(serializers.ModelSerializer):
    name = _localized(_("Name in the request's language."))
    level_display = _display("get_level_display", _("Level in words, in the request's language."))
    parent = serializers.CharField(
        source="parent.code",
        read_only=True,
        allow_null=True,
        help_text=_("Code of the region above; null for provincial-level divisions."),
    )

    class Meta:
        model = Region
        fields = ["code", "name", "name_zh", "name_en", "level", "level_display", "parent"]
        read_only_fields = fields


class DepartmentSerializer(serializers.ModelSerializer):
    name = _localized(_("Name in the request's language."))
    short_name = _localized(_("Short name in the request's language (the name when none is set)."))
    level_display = _display("get_level_display", _("Level in words, in the request's language."))
    region = RegionBriefSerializer(
        read_only=True, allow_null=True, help_text=_("Null for national departments.")
    )
    parent = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True, help_text=_("Id of the department above, if any.")
    )

    class Meta:
        model = Department
        fields = [
            "id",
            "name",
            "name_zh",
            "name_en",
            "short_name",
            "short_name_zh",
            "short_name_en",
            "level",
            "level_display",
            "region",
            "parent",
            "is_lead",
        ]
        read_only_fields = fields


# --- activities --------------------------------------------------------------------------------

class ActivitySerializer(serializers.ModelSerializer):
    campaign = serializers.IntegerField(
        source="campaign.year", read_only=True, help_text=_("The campaign's year.")
    )
    key_arrangement = HeadingBriefSerializer(read_only=True)
    content_areas = HeadingBriefSerializer(many=True, read_only=True)
    organiser = DepartmentBriefSerializer(read_only=True)
    co_organisers = DepartmentBriefSerializer(many=True, read_only=True)
    region = RegionBriefSerializer(read_only=True)
    status_display = _display("get_status_display", STATUS_IN_WORDS)

    class Meta:
        model = Activity
        fields = [
            "id",
            "campaign",
            "key_arrangement",
            "content_areas",
            "organiser",
            "co_organisers",
            "title",
            "summary",
            "description",
            "region",
            "venue",
            "online_url",
            "starts_at",
            "ends_at",
            "signup_enabled",
            "capacity",
            "signup_opens_at",
            "signup_closes_at",
            "attendees_per_enterprise",
            "contact_name",
            "contact_phone",
            "contact_email",
            "no_fee_declared",
            "status",
            "status_display",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields
