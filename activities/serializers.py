"""API representations of campaign data.

Bilingual fields appear three times: ``name_zh`` and ``name_en`` as stored, and ``name`` in the
request's language (Accept-Language on /api/; Chinese when the English one is empty).
"""

from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from qualitymonth.api_serializers import ModelSerializer
from qualitymonth.models import ReviewDecisionKind

from .models import Activity, Campaign, ContentArea, Department, KeyArrangement, Region
from .selectors import campaign_current
from .services import (
    ACTIVITY_EDITABLE_FIELDS,
    ACTIVITY_REVIEWED_FIELDS,
    ACTIVITY_WORKFLOW,
    activity_may_edit,
)


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


class RegionBriefSerializer(ModelSerializer):
    name = _localized(_("Name in the request's language."))

    class Meta:
        model = Region
        fields = ["code", "name", "level"]
        read_only_fields = fields


class DepartmentBriefSerializer(ModelSerializer):
    name = _localized(_("Name in the request's language."))
    short_name = _localized(_("Short name in the request's language (the name when none is set)."))

    class Meta:
        model = Department
        fields = ["id", "name", "short_name"]
        read_only_fields = fields


# --- reference data ----------------------------------------------------------------------------


class CampaignSerializer(ModelSerializer):
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


class _HeadingSerializer(ModelSerializer):
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


class RegionSerializer(ModelSerializer):
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


class DepartmentSerializer(ModelSerializer):
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

# What a person can do to an activity: edit it, or move it along the review workflow.
ACTIVITY_ACTIONS = ("update", *ACTIVITY_WORKFLOW.transitions)


def activity_allowed_actions(activity: Activity, user) -> list[str]:
    """The actions `user` may take on `activity` now, asking the same permissions and states the
    services check (so a client shows exactly the buttons that will work)."""
    actions = ["update"] if activity_may_edit(activity, user) else []
    actions.extend(t.name for t in ACTIVITY_WORKFLOW.allowed(activity, user))
    return actions


@extend_schema_field({"type": "string", "anyOf": [{"format": "uri"}, {"maxLength": 0}]})
class BlankOrUrlField(serializers.CharField):
    """An optional link as it is read: a URL, or an empty string when none was given (which the
    plain "uri" format would not allow)."""


@extend_schema_field({"type": "string", "anyOf": [{"format": "email"}, {"maxLength": 0}]})
class BlankOrEmailField(serializers.CharField):
    """An optional email address as it is read: an address, or an empty string."""


class ActivitySerializer(ModelSerializer):
    campaign = serializers.IntegerField(
        source="campaign.year", read_only=True, help_text=_("The campaign's year.")
    )
    key_arrangement = HeadingBriefSerializer(read_only=True)
    content_areas = HeadingBriefSerializer(many=True, read_only=True)
    organiser = DepartmentBriefSerializer(read_only=True)
    co_organisers = DepartmentBriefSerializer(many=True, read_only=True)
    region = RegionBriefSerializer(read_only=True)
    status_display = _display("get_status_display", STATUS_IN_WORDS)
    version = serializers.IntegerField(
        read_only=True,
        help_text=_(
            "Counts every change. Send it back with an edit or a review action: if someone else "
            "changed the activity in between, the request is refused with 409."
        ),
    )
    online_url = BlankOrUrlField(read_only=True, label=_("online link"))
    contact_email = BlankOrEmailField(read_only=True, label=_("contact email"))
    allowed_actions = serializers.SerializerMethodField(
        help_text=_(
            "What the caller may do now: update (PATCH/PUT) or one of the actions at "
            "/api/v1/activities/{id}/<action>/."
        )
    )

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
            "version",
            "submitted_at",
            "cancellation_reason",
            "allowed_actions",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(
        serializers.ListField(child=serializers.ChoiceField(choices=ACTIVITY_ACTIONS))
    )
    def get_allowed_actions(self, activity) -> list[str]:
        request = self.context.get("request")
        if request is None:
            return []
        return activity_allowed_actions(activity, request.user)


class ReviewQueueItemSerializer(ActivitySerializer):
    reviewed_before = serializers.BooleanField(
        read_only=True,
        help_text=_("Whether a reviewer has decided on it before (it comes back revised)."),
    )

    class Meta(ActivitySerializer.Meta):
        fields = [*ActivitySerializer.Meta.fields, "reviewed_before"]
        read_only_fields = fields


# --- writing activities ------------------------------------------------------------------------


class HeadingNumberField(serializers.IntegerField):
    """A content area or key arrangement by its number (the campaign says which one)."""

    def to_representation(self, value):
        return super().to_representation(getattr(value, "number", value))


class HeadingNumbersField(serializers.ListField):
    child = HeadingNumberField(min_value=1)

    def to_representation(self, data):
        if hasattr(data, "all"):  # a related manager, when the browsable API shows a form
            data = data.order_by("number")
        return super().to_representation(data)


class _ActivityWriteSerializer(ModelSerializer):
    """What an organiser fills in. The key arrangement and content areas are named by their
    number in the activity's campaign, the region by its code, departments by their id. The portal
    checks the rules (dates in order, the sign-up window, a venue or a link, ...) and answers
    messages per field: {"field": ["message"]}."""

    key_arrangement = HeadingNumberField(
        min_value=1,
        help_text=_("Number of the key arrangement in the activity's campaign (1-9 in 2024)."),
    )
    content_areas = HeadingNumbersField(
        required=False,
        help_text=_(
            "Numbers of the content areas in the activity's campaign (1-5 in 2024). At least one "
            "is needed to submit."
        ),
    )
    co_organisers = serializers.PrimaryKeyRelatedField(
        many=True,
        required=False,
        queryset=Department.objects.filter(is_active=True),
        help_text=_("Ids of co-organising departments; they see the activity but cannot edit it."),
    )
    region = serializers.SlugRelatedField(
        slug_field="code",
        queryset=Region.objects.all(),
        help_text=_("Code (GB/T 2260) of the region where the activity takes place."),
    )

    class Meta:
        model = Activity
        fields = [*ACTIVITY_EDITABLE_FIELDS, "content_areas", "co_organisers"]

    def campaign_of(self, attrs) -> Campaign:
        raise NotImplementedError

    def validate(self, attrs):
        campaign = self.campaign_of(attrs)
        if "key_arrangement" in attrs:
            number = attrs["key_arrangement"]
            found = campaign.key_arrangements.filter(number=number).first()
            if found is None:
                raise serializers.ValidationError(
                    {
                        "key_arrangement": _(
                            "The %(year)d campaign has no key arrangement %(number)d."
                        )
                        % {"year": campaign.year, "number": number}
                    }
                )
            attrs["key_arrangement"] = found
        if "content_areas" in attrs:
            numbers = set(attrs["content_areas"])
            found = list(campaign.content_areas.filter(number__in=numbers).order_by("number"))
            unknown = sorted(numbers - {area.number for area in found})
            if unknown:
                raise serializers.ValidationError(
                    {
                        "content_areas": _("The %(year)d campaign has no content area %(numbers)s.")
                        % {"year": campaign.year, "numbers": ", ".join(map(str, unknown))}
                    }
                )
            attrs["content_areas"] = found
        return attrs


class ActivityCreateSerializer(_ActivityWriteSerializer):
    campaign = serializers.IntegerField(
        required=False,
        help_text=_("The campaign's year; the current campaign when omitted."),
    )
    organiser = serializers.PrimaryKeyRelatedField(
        required=False,
        queryset=Department.objects.filter(is_active=True),
        help_text=_(
            "Id of the organising department. Staff always organise for their own department "
            "(omit it); administrators name one."
        ),
    )

    class Meta(_ActivityWriteSerializer.Meta):
        fields = ["campaign", "organiser", *_ActivityWriteSerializer.Meta.fields]

    def campaign_of(self, attrs) -> Campaign:
        year = attrs.get("campaign")
        campaign = (
            campaign_current() if year is None else Campaign.objects.filter(year=year).first()
        )
        if campaign is None:
            message = (
                _("There is no campaign yet.")
                if year is None
                else _("There is no campaign for %(year)d.") % {"year": year}
            )
            raise serializers.ValidationError({"campaign": message})
        attrs["campaign"] = campaign
        return campaign


class ActivityUpdateSerializer(_ActivityWriteSerializer):
    version = serializers.IntegerField(
        min_value=1,
        help_text=_(
            "The version you last read; required, with PATCH too. If the activity changed "
            "since, nothing is saved and the answer is 409: read it again and redo your change."
        ),
    )

    class Meta(_ActivityWriteSerializer.Meta):
        fields = ["version", *_ActivityWriteSerializer.Meta.fields]

    def campaign_of(self, attrs) -> Campaign:
        return self.instance.campaign

    def validate(self, attrs):
        # Required with PATCH too: an edit without it could silently overwrite someone else's.
        if "version" not in attrs:
            raise serializers.ValidationError(
                {"version": [self.fields["version"].error_messages["required"]]}
            )
        return super().validate(attrs)


# --- the review workflow ------------------------------------------------------------------------


class ActivityActionSerializer(serializers.Serializer):
    """Submit or withdraw."""

    version = serializers.IntegerField(
        min_value=1,
        required=False,
        help_text=_(
            "The version you last read (recommended). If the activity changed since, nothing "
            "happens and the answer is 409."
        ),
    )


class ActivityApproveSerializer(ActivityActionSerializer):
    comment = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text=_("An optional note for the organiser."),
    )


class ActivityReturnSerializer(ActivityActionSerializer):
    comment = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text=_("What to revise. A comment or at least one comment per field is required."),
    )
    field_comments = serializers.DictField(
        child=serializers.CharField(allow_blank=True),
        required=False,
        default=dict,
        help_text=format_lazy(
            "{} {}.",
            _("Comments on single fields, by field name:"),
            ", ".join(ACTIVITY_REVIEWED_FIELDS),
        ),
    )


class ActivityReasonSerializer(ActivityActionSerializer):
    """Reject or cancel."""

    reason = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text=_("Required: the organiser (and, for a cancellation, the enterprises) read it."),
    )


# --- history ------------------------------------------------------------------------------------


def _person(user, recorded: str = "") -> str:
    if user is None:
        return recorded or str(_("system"))
    return user.get_full_name()


class AuditEntrySerializer(serializers.Serializer):
    time = serializers.DateTimeField(source="created_at", read_only=True)
    action = serializers.CharField(
        read_only=True,
        help_text=_(
            "A dotted code: activities.activity.created, .changed, or the state it moved to "
            "(.submitted, .draft after a withdrawal, .approved, .returned, .rejected, .cancelled)."
        ),
    )
    actor = serializers.SerializerMethodField(help_text=_("Who did it."))
    changes = serializers.JSONField(
        read_only=True, help_text=_("Changed fields as {field: [before, after]}.")
    )
    comment = serializers.CharField(read_only=True)

    def get_actor(self, entry) -> str:
        return _person(entry.actor, entry.actor_repr)


class FieldCommentSerializer(serializers.Serializer):
    field = serializers.CharField(read_only=True)
    label = serializers.CharField(
        read_only=True, help_text=_("The field's name in the request's language.")
    )
    comment = serializers.CharField(read_only=True)


class ReviewDecisionSerializer(serializers.Serializer):
    time = serializers.DateTimeField(source="created_at", read_only=True)
    decision = serializers.ChoiceField(choices=ReviewDecisionKind.choices, read_only=True)
    decision_display = _display(
        "get_decision_display", _("Decision in words, in the request's language.")
    )
    reviewer = serializers.SerializerMethodField(help_text=_("Who decided."))
    comment = serializers.CharField(read_only=True)
    field_comments = serializers.SerializerMethodField()

    def get_reviewer(self, decision) -> str:
        return _person(decision.reviewer)

    @extend_schema_field(FieldCommentSerializer(many=True))
    def get_field_comments(self, decision) -> list[dict]:
        labels = ACTIVITY_WORKFLOW.field_labels
        return [
            {"field": name, "label": str(labels.get(name, name)), "comment": comment}
            for name, comment in decision.field_comments.items()
        ]


class FieldChangeSerializer(serializers.Serializer):
    field = serializers.CharField(read_only=True)
    label = serializers.CharField(
        read_only=True, help_text=_("The field's name in the request's language.")
    )
    before = serializers.CharField(read_only=True, help_text=_("As the last review saw it."))
    after = serializers.CharField(read_only=True, help_text=_("As it is now."))


class ActivityHistorySerializer(serializers.Serializer):
    entries = AuditEntrySerializer(
        many=True, read_only=True, help_text=_("Everything done to the activity, newest first.")
    )
    decisions = ReviewDecisionSerializer(
        many=True, read_only=True, help_text=_("The reviewers' decisions, newest first.")
    )
    changes_since_last_review = FieldChangeSerializer(
        many=True,
        read_only=True,
        help_text=_("Field by field, what the organiser changed since the last review decision."),
    )


class ErrorSerializer(serializers.Serializer):
    """A refusal: 403, 404, 409, or a 400 from a business rule."""

    detail = serializers.CharField(help_text=_("What went wrong, in the request's language."))
    code = serializers.CharField(
        required=False,
        help_text=_("A stable code, e.g. conflict, illegal_transition, permission_denied."),
    )
