"""API representations of feedback reports, their typical cases and media.

Reading serializers show what a person may see; writing serializers only check the input's shape
and turn names people use (a key arrangement's number, a region's code) into rows. The rules are
the services' (`feedback.services`), whose refusals the exception handler turns into 400/403/409.
"""

from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from activities.models import Activity, Campaign, Department, Region
from activities.selectors import campaign_current
from activities.serializers import (
    STATUS_IN_WORDS,
    AuditEntrySerializer,
    DepartmentBriefSerializer,
    FieldChangeSerializer,
    HeadingBriefSerializer,
    HeadingNumberField,
    RegionBriefSerializer,
    ReviewDecisionSerializer,
)
from qualitymonth.api_serializers import ModelSerializer

from .enums import DepartmentFeedbackState
from .models import FeedbackMedia, FeedbackReport, TypicalCase
from .services import (
    CASE_EDITABLE_FIELDS,
    FEEDBACK_WORKFLOW,
    REPORT_EDITABLE_FIELDS,
    REPORT_FIGURES,
    REPORT_REVIEWED_FIELDS,
    report_may_edit,
)


def _display(source: str, help_text):
    return serializers.CharField(source=source, read_only=True, help_text=help_text)


# What a person can do to a report: edit it, or move it along the review workflow.
REPORT_ACTIONS = ("update", *FEEDBACK_WORKFLOW.transitions)
REPORT_VERSION_HELP = _(
    "The report's version after this change: send it with the next edit or action."
)


def report_allowed_actions(report: FeedbackReport, user) -> list[str]:
    """The actions `user` may take on `report` now, asking the same permissions and states the
    services check (so a client shows exactly the buttons that will work)."""
    actions = ["update"] if report_may_edit(report, user) else []
    actions.extend(t.name for t in FEEDBACK_WORKFLOW.allowed(report, user))
    return actions


# --- media ---------------------------------------------------------------------------------------

# The model's file fields by the name `feedback:media_file` serves them under.
MEDIA_VARIANTS = {
    "file": "original",
    "thumbnail": "thumbnail",
    "web_copy": "web",
    "poster": "poster",
}


def media_path(media: FeedbackMedia, variant: str = "file") -> str | None:
    """The path of the permission-checked view that serves a stored file (`variant`: the model's
    field: the file itself, its thumbnail, web-size copy or poster frame); None where there is no
    such file."""
    return media.url(MEDIA_VARIANTS[variant])


@extend_schema_field(serializers.URLField(allow_null=True))
class _MediaUrlField(serializers.Field):
    """The absolute URL of one variant of a stored file."""

    def __init__(self, variant: str, help_text):
        self.variant = variant
        super().__init__(read_only=True, source="*", help_text=help_text)

    def to_representation(self, media):
        path = media_path(media, self.variant)
        request = self.context.get("request")
        if path is None or request is None:
            return path
        return request.build_absolute_uri(path)


class FeedbackMediaSerializer(ModelSerializer):
    kind_display = _display("get_kind_display", _("Kind in words, in the request's language."))
    state_display = _display(
        "get_state_display", _("Processing state in words, in the request's language.")
    )
    case = serializers.PrimaryKeyRelatedField(
        read_only=True,
        allow_null=True,
        help_text=_("Id of the typical case it illustrates; null for the report's own files."),
    )
    url = _MediaUrlField(
        "file", _("Where to fetch the file (served only to those allowed to see it).")
    )
    thumbnail_url = _MediaUrlField(
        "thumbnail", _("A small picture (null until it is made, and for documents).")
    )
    web_url = _MediaUrlField(
        "web_copy", _("A picture at web size (null for videos and documents).")
    )
    poster_url = _MediaUrlField(
        "poster", _("A video's poster frame (null until it is made, or if none).")
    )

    class Meta:
        model = FeedbackMedia
        fields = [
            "id",
            "case",
            "kind",
            "kind_display",
            "format",
            "content_type",
            "original_name",
            "caption",
            "size",
            "sha256",
            "width",
            "height",
            "duration",
            "codec",
            "state",
            "state_display",
            "failure",
            "position",
            "url",
            "thumbnail_url",
            "web_url",
            "poster_url",
            "created_at",
        ]
        read_only_fields = fields


class FeedbackMediaChangeSerializer(FeedbackMediaSerializer):
    """A file as a change left it, with the report's new version."""

    report_version = serializers.IntegerField(
        source="report.version", read_only=True, help_text=REPORT_VERSION_HELP
    )

    class Meta(FeedbackMediaSerializer.Meta):
        fields = [*FeedbackMediaSerializer.Meta.fields, "report_version"]
        read_only_fields = fields


class MediaUploadSerializer(serializers.Serializer):
    file = serializers.FileField(
        allow_empty_file=True,  # the service refuses an empty file, naming it
        help_text=_(
            "One picture (JPEG, PNG, WebP, HEIC), video (MP4, MOV, WebM) or document (PDF, "
            "DOCX, XLSX), sent as multipart/form-data. Its content is checked, not its name. "
            "Large videos: use the resumable upload instead."
        ),
    )
    case = serializers.IntegerField(
        required=False,
        allow_null=True,
        help_text=_("Id of one of the report's typical cases the picture or video belongs to."),
    )
    caption = serializers.CharField(
        required=False, allow_blank=True, max_length=200, default="", help_text=_("A caption.")
    )

    def validate_case(self, value):
        if value is None:
            return None
        case = self.context["report"].cases.filter(pk=value).first()
        if case is None:
            raise serializers.ValidationError(
                _("The report has no typical case %(id)s.") % {"id": value}
            )
        return case


class MediaCaptionSerializer(serializers.Serializer):
    caption = serializers.CharField(allow_blank=True, max_length=200, help_text=_("A caption."))


# --- typical cases -------------------------------------------------------------------------------


class ReportCaseSerializer(ModelSerializer):
    """A typical case as its report's readers see it."""

    key_arrangement = HeadingBriefSerializer(read_only=True)
    region = RegionBriefSerializer(read_only=True)
    is_published = serializers.BooleanField(
        read_only=True, help_text=_("Whether it is on the public showcase.")
    )
    media = FeedbackMediaSerializer(
        many=True, read_only=True, help_text=_("Its pictures and videos.")
    )

    class Meta:
        model = TypicalCase
        fields = [
            "id",
            "title",
            "key_arrangement",
            "region",
            "body",
            "publication_consent",
            "position",
            "is_published",
            "published_at",
            "media",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class ReportCaseChangeSerializer(ReportCaseSerializer):
    report_version = serializers.IntegerField(
        source="report.version", read_only=True, help_text=REPORT_VERSION_HELP
    )

    class Meta(ReportCaseSerializer.Meta):
        fields = [*ReportCaseSerializer.Meta.fields, "report_version"]
        read_only_fields = fields


class PublishedCaseSerializer(ModelSerializer):
    """A typical case on the public showcase."""

    campaign = serializers.IntegerField(
        source="report.campaign.year", read_only=True, help_text=_("The campaign's year.")
    )
    department = DepartmentBriefSerializer(source="report.department", read_only=True)
    key_arrangement = HeadingBriefSerializer(read_only=True)
    region = RegionBriefSerializer(read_only=True)
    media = FeedbackMediaSerializer(
        many=True, read_only=True, help_text=_("Its pictures and videos.")
    )

    class Meta:
        model = TypicalCase
        fields = [
            "id",
            "campaign",
            "department",
            "title",
            "key_arrangement",
            "region",
            "body",
            "published_at",
            "media",
        ]
        read_only_fields = fields


CASE_VERSION_HELP = _(
    "The report's version you last read; required. A case changes the report: if it changed "
    "since, nothing is saved and the answer is 409."
)


class _ReportVersionSerializer(serializers.Serializer):
    version = serializers.IntegerField(min_value=1, help_text=CASE_VERSION_HELP)


class _CaseWriteSerializer(ModelSerializer):
    """The key arrangement is named by its number in the report's campaign, the region by its
    code."""

    version = serializers.IntegerField(min_value=1, help_text=CASE_VERSION_HELP)
    key_arrangement = HeadingNumberField(
        min_value=1,
        help_text=_("Number of the key arrangement in the report's campaign (1-9 in 2024)."),
    )
    region = serializers.SlugRelatedField(
        slug_field="code",
        queryset=Region.objects.all(),
        help_text=_("Code (GB/T 2260) of the region where the case took place."),
    )

    class Meta:
        model = TypicalCase
        fields = ["version", *CASE_EDITABLE_FIELDS]

    def validate(self, attrs):
        if "version" not in attrs:  # required with PATCH too
            raise serializers.ValidationError(
                {"version": [self.fields["version"].error_messages["required"]]}
            )
        if "key_arrangement" in attrs:
            campaign = self.context["report"].campaign
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
        return attrs


class CaseCreateSerializer(_CaseWriteSerializer):
    pass


class CaseUpdateSerializer(_CaseWriteSerializer):
    pass


class CaseDeleteSerializer(_ReportVersionSerializer):
    """Sent as the body of DELETE, or as ?version= in the query string."""


# --- reports -------------------------------------------------------------------------------------


class ActivityBriefSerializer(ModelSerializer):
    class Meta:
        model = Activity
        fields = ["id", "title"]
        read_only_fields = fields


class ReportDepartmentSerializer(DepartmentBriefSerializer):
    region = RegionBriefSerializer(
        read_only=True, allow_null=True, help_text=_("Null for national departments.")
    )

    class Meta(DepartmentBriefSerializer.Meta):
        fields = [*DepartmentBriefSerializer.Meta.fields, "region"]
        read_only_fields = fields


class FeedbackReportListSerializer(ModelSerializer):
    """A report in a list: its state and figures; its cases and files are counted."""

    campaign = serializers.IntegerField(
        source="campaign.year", read_only=True, help_text=_("The campaign's year.")
    )
    department = ReportDepartmentSerializer(read_only=True)
    status_display = _display("get_status_display", STATUS_IN_WORDS)
    version = serializers.IntegerField(
        read_only=True,
        help_text=_(
            "Counts every change (to the report, its cases or its files). Send it back with an "
            "edit or an action: if someone else changed the report in between, the request is "
            "refused with 409."
        ),
    )
    deadline = serializers.DateField(
        read_only=True,
        help_text=_("The day by which it must first be submitted (an extension, if granted)."),
    )
    case_count = serializers.IntegerField(read_only=True, help_text=_("Its typical cases."))
    media_count = serializers.IntegerField(
        read_only=True, help_text=_("Its pictures, videos and documents, its cases' included.")
    )
    editable = serializers.SerializerMethodField(
        help_text=_("Whether the caller may change it now (its fields, cases and files).")
    )
    allowed_actions = serializers.SerializerMethodField(
        help_text=_(
            "What the caller may do now: update (PATCH) or one of the actions at "
            "/api/v1/feedback-reports/{id}/<action>/."
        )
    )

    class Meta:
        model = FeedbackReport
        fields = [
            "id",
            "campaign",
            "department",
            "status",
            "status_display",
            "version",
            "submitted_at",
            "deadline",
            "deadline_extended_to",
            "activities_held",
            "participants",
            "enterprises_involved",
            "media_reports",
            "case_count",
            "media_count",
            "editable",
            "allowed_actions",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def _user(self):
        request = self.context.get("request")
        return request.user if request is not None else None

    def get_editable(self, report) -> bool:
        user = self._user()
        return user is not None and report_may_edit(report, user)

    @extend_schema_field(
        serializers.ListField(child=serializers.ChoiceField(choices=REPORT_ACTIONS))
    )
    def get_allowed_actions(self, report) -> list[str]:
        user = self._user()
        return [] if user is None else report_allowed_actions(report, user)


class FeedbackReportSerializer(FeedbackReportListSerializer):
    """A report with everything in it."""

    activities = ActivityBriefSerializer(
        many=True, read_only=True, help_text=_("The department's activities it covers.")
    )
    cases = ReportCaseSerializer(many=True, read_only=True, help_text=_("Its typical cases."))
    media = serializers.SerializerMethodField(
        help_text=_("The report's own pictures, videos and documents (its cases' are with them).")
    )

    class Meta(FeedbackReportListSerializer.Meta):
        fields = [
            *[f for f in FeedbackReportListSerializer.Meta.fields if f not in ("updated_at",)],
            "summary",
            "activities",
            "cases",
            "media",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(FeedbackMediaSerializer(many=True))
    def get_media(self, report) -> list[dict]:
        own = [m for m in report.media.all() if m.case_id is None]
        return FeedbackMediaSerializer(own, many=True, context=self.context).data


def _campaign_of_year(year: int) -> Campaign:
    campaign = Campaign.objects.filter(year=year).first()
    if campaign is None:
        raise serializers.ValidationError(_("There is no campaign for %(year)d.") % {"year": year})
    return campaign


def _current_campaign_unless_given(attrs: dict) -> dict:
    if attrs.get("campaign") is None:
        campaign = campaign_current()
        if campaign is None:
            raise serializers.ValidationError({"campaign": _("There is no campaign yet.")})
        attrs["campaign"] = campaign
    return attrs


class _CampaignYearMixin:
    """A `campaign` field holding a year becomes that campaign (the current one when omitted)."""

    def validate_campaign(self, year):
        return _campaign_of_year(year)

    def validate(self, attrs):
        return _current_campaign_unless_given(super().validate(attrs))


class ReportStartSerializer(_CampaignYearMixin, serializers.Serializer):
    campaign = serializers.IntegerField(
        required=False, help_text=_("The campaign's year; the current campaign when omitted.")
    )
    department = serializers.PrimaryKeyRelatedField(
        required=False,
        queryset=Department.objects.filter(is_active=True),
        help_text=_(
            "Id of the reporting department. Staff always report for their own department "
            "(omit it); administrators name one."
        ),
    )


class ReportUpdateSerializer(ModelSerializer):
    version = serializers.IntegerField(
        min_value=1,
        help_text=_(
            "The version you last read; required. If the report changed since, nothing is saved "
            "and the answer is 409: read it again and redo your change."
        ),
    )
    activities = serializers.PrimaryKeyRelatedField(
        many=True,
        required=False,
        queryset=Activity.objects.all(),
        help_text=_(
            "Ids of the activities it covers: the department's own published activities of the "
            "report's campaign. Replaces the list."
        ),
    )

    class Meta:
        model = FeedbackReport
        fields = ["version", *REPORT_EDITABLE_FIELDS, "activities"]
        # DRF words a bad big integer as "A valid biginteger is required." and has no Chinese
        # for it: the figures say what they want in the reader's language.
        extra_kwargs = {
            name: {"error_messages": {"invalid": _("Enter a whole number, e.g. 50.")}}
            for name in REPORT_FIGURES
        }

    def validate(self, attrs):
        if "version" not in attrs:
            raise serializers.ValidationError(
                {"version": [self.fields["version"].error_messages["required"]]}
            )
        return attrs


# --- the review workflow -------------------------------------------------------------------------


class ReportActionSerializer(serializers.Serializer):
    """Submit or withdraw."""

    version = serializers.IntegerField(
        min_value=1,
        required=False,
        help_text=_(
            "The version you last read (recommended). If the report changed since, nothing "
            "happens and the answer is 409."
        ),
    )


class ReportAcceptSerializer(ReportActionSerializer):
    comment = serializers.CharField(
        required=False, allow_blank=True, default="", help_text=_("An optional note.")
    )


class ReportReturnSerializer(ReportActionSerializer):
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
            _("Comments on single parts of the report, by name:"),
            ", ".join(REPORT_REVIEWED_FIELDS),
        ),
    )


class ReportReopenSerializer(ReportActionSerializer):
    comment = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text=_("Required: why the accepted report must be corrected."),
    )


# --- history and what is missing -----------------------------------------------------------------


class ReportAuditEntrySerializer(AuditEntrySerializer):
    action = serializers.CharField(
        read_only=True,
        help_text=_(
            "A dotted code: feedback.report.created, .changed, or the state it moved to "
            "(.submitted, .draft after a withdrawal, .accepted, .returned); "
            "feedback.case.* and feedback.media.* for its cases and files."
        ),
    )
    object = serializers.CharField(
        source="object_repr", read_only=True, help_text=_("What was acted on, by name.")
    )


class ReportDecisionSerializer(ReviewDecisionSerializer):
    def get_field_comments(self, decision) -> list[dict]:
        labels = FEEDBACK_WORKFLOW.field_labels
        return [
            {"field": name, "label": str(labels.get(name, name)), "comment": comment}
            for name, comment in decision.field_comments.items()
        ]


class ReportHistorySerializer(serializers.Serializer):
    entries = ReportAuditEntrySerializer(
        many=True,
        read_only=True,
        help_text=_("Everything done to the report, its cases and files, newest first."),
    )
    decisions = ReportDecisionSerializer(
        many=True, read_only=True, help_text=_("The reviewers' decisions, newest first.")
    )
    changes_since_last_review = FieldChangeSerializer(
        many=True,
        read_only=True,
        help_text=_("Part by part, what the department changed since the last review decision."),
    )


class ReportMissingSerializer(serializers.Serializer):
    complete = serializers.BooleanField(
        read_only=True, help_text=_("Whether nothing stops a submission.")
    )
    missing = serializers.DictField(
        child=serializers.CharField(),
        read_only=True,
        help_text=_("What is still missing, per field, in the request's language."),
    )


# --- overdue tracking and reminders --------------------------------------------------------------


class OverviewQuerySerializer(_CampaignYearMixin, serializers.Serializer):
    campaign = serializers.IntegerField(
        required=False, help_text=_("The campaign's year; the current campaign when omitted.")
    )
    region = serializers.SlugRelatedField(
        slug_field="code",
        queryset=Region.objects.all(),
        required=False,
        help_text=_("Region code: departments in that region and below."),
    )
    state = serializers.ChoiceField(
        choices=DepartmentFeedbackState.choices,
        required=False,
        help_text=_("Only departments whose report is in this state."),
    )


class DepartmentFeedbackSerializer(serializers.Serializer):
    department = ReportDepartmentSerializer(read_only=True)
    state = serializers.ChoiceField(choices=DepartmentFeedbackState.choices, read_only=True)
    state_display = _display("state_label", _("State in words, in the request's language."))
    report = serializers.IntegerField(
        source="report_id", read_only=True, allow_null=True, help_text=_("The report's id.")
    )
    submitted_at = serializers.DateTimeField(read_only=True, allow_null=True)
    deadline = serializers.DateField(read_only=True)
    overdue = serializers.BooleanField(
        read_only=True, help_text=_("Not submitted and the deadline has passed.")
    )
    staff_count = serializers.IntegerField(
        read_only=True, help_text=_("Active staff a reminder reaches.")
    )
    last_reminder_at = serializers.DateTimeField(read_only=True, allow_null=True)
    reminder_count = serializers.IntegerField(read_only=True)


class ReminderRequestSerializer(_CampaignYearMixin, serializers.Serializer):
    campaign = serializers.IntegerField(
        required=False, help_text=_("The campaign's year; the current campaign when omitted.")
    )
    departments = serializers.PrimaryKeyRelatedField(
        many=True,
        allow_empty=False,
        queryset=Department.objects.filter(is_active=True),
        help_text=_("Ids of the departments to remind."),
    )


class ReminderResultSerializer(serializers.Serializer):
    department = DepartmentBriefSerializer(read_only=True)
    sent = serializers.BooleanField(read_only=True)
    recipients = serializers.IntegerField(
        read_only=True, allow_null=True, help_text=_("People emailed (null when not sent).")
    )
    detail = serializers.CharField(
        read_only=True,
        allow_null=True,
        help_text=_("Why it was not sent, in the request's language."),
    )
    code = serializers.CharField(
        read_only=True,
        allow_null=True,
        help_text=_("Why it was not sent: already_submitted or permission_denied."),
    )


class ReminderResultsSerializer(serializers.Serializer):
    results = ReminderResultSerializer(many=True, read_only=True)
