"""/api/v1/ endpoints for campaign reference data (read-only) and activities: reading, creating,
editing and moving them along the review workflow.

Every write calls a service in `activities.services`, which checks the permission and the rules;
the exception handler in `qualitymonth.api` turns its refusals into 400/403/409. An activity the
caller may not see is fetched through `activity_visible_to` and answers 404, never 403, so
guessing ids reveals nothing."""

from django.db.models import Prefetch
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import (
    mixins,
    pagination,
    permissions,
    renderers,
    serializers,
    status,
    viewsets,
)
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.rules import roles_of
from qualitymonth.api import StandardPagination
from qualitymonth.errors import DomainError
from qualitymonth.models import AuditLogEntry

from . import ical, services
from .filters import (
    ActivityFilter,
    CampaignFilter,
    ContentAreaFilter,
    DepartmentFilter,
    KeyArrangementFilter,
    RegionFilter,
    ReviewQueueFilter,
)
from .models import Activity, Campaign, ContentArea, Department, KeyArrangement, Region
from .selectors import activity_review_queue, activity_visible_to, department_list
from .serializers import (
    ActivityActionSerializer,
    ActivityApproveSerializer,
    ActivityCreateSerializer,
    ActivityHistorySerializer,
    ActivityReasonSerializer,
    ActivityReturnSerializer,
    ActivitySerializer,
    ActivityUpdateSerializer,
    CampaignSerializer,
    ContentAreaSerializer,
    DepartmentSerializer,
    ErrorSerializer,
    KeyArrangementSerializer,
    RegionSerializer,
    ReviewQueueItemSerializer,
)

REFERENCE_TAG = "reference data"
ACTIVITIES_TAG = "activities"


def _path_parameter(name: str, description, pattern: str) -> OpenApiParameter:
    return OpenApiParameter(
        name, OpenApiTypes.STR, OpenApiParameter.PATH, description=description, pattern=pattern
    )


class _ReferenceViewSet(viewsets.ReadOnlyModelViewSet):
    """Reference data is public: anyone may read it, nobody writes it through the API."""

    permission_classes = [permissions.AllowAny]


@extend_schema_view(
    list=extend_schema(
        tags=[REFERENCE_TAG],
        summary=_("List campaigns"),
        description=_(
            "Every year's Quality Month, newest first, with its theme, dates, status, content "
            "areas and key arrangements."
        ),
    ),
    retrieve=extend_schema(
        tags=[REFERENCE_TAG],
        summary=_("One campaign"),
        description=_("A campaign by its year."),
        parameters=[_path_parameter("year", _("The campaign's year, e.g. 2024."), r"^\d{4}$")],
    ),
)
class CampaignViewSet(_ReferenceViewSet):
    serializer_class = CampaignSerializer
    filterset_class = CampaignFilter
    lookup_field = "year"
    lookup_value_regex = r"\d{4}"

    def get_queryset(self):
        return Campaign.objects.order_by("-year").prefetch_related(
            Prefetch("content_areas", queryset=ContentArea.objects.order_by("number")),
            Prefetch("key_arrangements", queryset=KeyArrangement.objects.order_by("number")),
        )


@extend_schema_view(
    list=extend_schema(
        tags=[REFERENCE_TAG],
        summary=_("List key arrangements"),
        description=_(
            "The key arrangements (重点安排) of every campaign; filter by campaign year."
        ),
    ),
    retrieve=extend_schema(tags=[REFERENCE_TAG], summary=_("One key arrangement")),
)
class KeyArrangementViewSet(_ReferenceViewSet):
    serializer_class = KeyArrangementSerializer
    filterset_class = KeyArrangementFilter
    queryset = KeyArrangement.objects.select_related("campaign").order_by(
        "-campaign__year", "number"
    )


@extend_schema_view(
    list=extend_schema(
        tags=[REFERENCE_TAG],
        summary=_("List content areas"),
        description=_("The content areas (活动内容) of every campaign; filter by campaign year."),
    ),
    retrieve=extend_schema(tags=[REFERENCE_TAG], summary=_("One content area")),
)
class ContentAreaViewSet(_ReferenceViewSet):
    serializer_class = ContentAreaSerializer
    filterset_class = ContentAreaFilter
    queryset = ContentArea.objects.select_related("campaign").order_by("-campaign__year", "number")


@extend_schema_view(
    list=extend_schema(
        tags=[REFERENCE_TAG],
        summary=_("List regions"),
        description=_(
            "Administrative divisions by their GB/T 2260 code: provinces, cities and counties. "
            "Paginated; filter by level, parent or search with q."
        ),
    ),
    retrieve=extend_schema(
        tags=[REFERENCE_TAG],
        summary=_("One region"),
        description=_("A region by its code."),
        parameters=[
            _path_parameter("code", _("Six-digit GB/T 2260 code, e.g. 440000."), r"^\d{6}$")
        ],
    ),
)
class RegionViewSet(_ReferenceViewSet):
    serializer_class = RegionSerializer
    filterset_class = RegionFilter
    queryset = Region.objects.select_related("parent").order_by("code")
    lookup_field = "code"
    lookup_value_regex = r"\d{6}"


@extend_schema_view(
    list=extend_schema(
        tags=[REFERENCE_TAG],
        summary=_("List departments"),
        description=_(
            "The departments and regional bureaus that organise activities (active ones only)."
        ),
    ),
    retrieve=extend_schema(tags=[REFERENCE_TAG], summary=_("One department")),
)
class DepartmentViewSet(_ReferenceViewSet):
    serializer_class = DepartmentSerializer
    filterset_class = DepartmentFilter

    def get_queryset(self):
        return department_list()


class ICalendarRenderer(renderers.BaseRenderer):
    """text/calendar for the .ics endpoint. Its errors (a dict) are written as JSON."""

    media_type = "text/calendar"
    format = "ics"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, bytes | str):
            return data
        return renderers.JSONRenderer().render(data)


class _ActivityCursor(pagination.CursorPagination):
    ordering = ("starts_at", "id")
    page_size = StandardPagination.page_size
    page_size_query_param = StandardPagination.page_size_query_param
    max_page_size = StandardPagination.max_page_size

    def decode_cursor(self, request):
        if not request.query_params.get(self.cursor_query_param):  # "?cursor=": the first page
            return None
        return super().decode_cursor(request)


class ActivityPagination(StandardPagination):
    """Page numbers with a total count by default. With ``cursor`` in the query string (empty
    for the first page), pages follow a cursor by start time instead: no count, and the
    thousandth page costs what the first does. The answer keeps its shape ("count" is null)."""

    cursor_query_param = "cursor"

    def paginate_queryset(self, queryset, request, view=None):
        self.cursor = None
        if self.cursor_query_param in request.query_params:
            self.cursor = _ActivityCursor()
            return self.cursor.paginate_queryset(queryset, request, view)
        return super().paginate_queryset(queryset, request, view)

    def get_paginated_response(self, data):
        if self.cursor is None:
            return super().get_paginated_response(data)
        return Response(
            {
                "count": None,
                "next": self.cursor.get_next_link(),
                "previous": self.cursor.get_previous_link(),
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema):
        answer = super().get_paginated_response_schema(schema)
        answer["properties"]["count"]["nullable"] = True
        answer["properties"]["count"]["description"] = str(
            _("The number of matches; null when reading by cursor.")
        )
        return answer

    def get_schema_operation_parameters(self, view):
        return [
            *super().get_schema_operation_parameters(view),
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": str(
                    _(
                        "Read by cursor, in order of start time: empty for the first page, then "
                        "follow the next and previous links. Stays fast however deep one reads."
                    )
                ),
                "schema": {"type": "string"},
            },
        ]


# --- activities ---------------------------------------------------------------------------------

UNAUTHENTICATED = OpenApiResponse(ErrorSerializer, description=_("Not signed in."))
INVALID = OpenApiResponse(
    OpenApiTypes.OBJECT,
    description=_(
        "Invalid input, or refused by a rule: messages per field in the request's language, "
        'e.g. {"ends_at": ["An activity must end after it starts."]}; messages about no single '
        'field under "non_field_errors". A rule refusing the whole action answers '
        '{"detail": ..., "code": ...}.'
    ),
)
FORBIDDEN = OpenApiResponse(
    ErrorSerializer,
    description=_(
        "The caller may not do this: e.g. a co-organiser, who sees the activity but may not "
        "change it, or a reviewer registering an activity."
    ),
)
NOT_FOUND = OpenApiResponse(
    ErrorSerializer,
    description=_("No such activity, or one the caller may not see (another department's draft)."),
)
CONFLICT = OpenApiResponse(
    ErrorSerializer,
    description=_(
        "Nothing was done: the version sent is not the current one, or the activity is no "
        "longer in a state this action starts from, because someone acted meanwhile. The "
        'message names who acted and when ("already handled by ..."), with code "conflict" or '
        '"illegal_transition". Read the activity again.'
    ),
)


def _write_responses() -> dict:
    return {
        200: ActivitySerializer,
        400: INVALID,
        401: UNAUTHENTICATED,
        403: FORBIDDEN,
        404: NOT_FOUND,
        409: CONFLICT,
    }


def _workflow_action(summary, description, request):
    return extend_schema(
        tags=[ACTIVITIES_TAG],
        summary=summary,
        description=description,
        request=request,
        responses=_write_responses(),
    )


def _with_related(queryset):
    return queryset.select_related(
        "campaign", "key_arrangement", "organiser", "region"
    ).prefetch_related(
        Prefetch("content_areas", queryset=ContentArea.objects.order_by("number")),
        Prefetch("co_organisers", queryset=Department.objects.order_by("name_zh")),
    )


@extend_schema_view(
    list=extend_schema(
        tags=[ACTIVITIES_TAG],
        summary=_("List activities"),
        description=_(
            "Activities the caller may see: everyone sees published ones; department staff also "
            "their own department's, reviewers those of their region, national reviewers and "
            "administrators all. With mine=true, only those the caller's department organises or "
            "co-organises (the staff workspace)."
        ),
    ),
    retrieve=extend_schema(
        tags=[ACTIVITIES_TAG],
        summary=_("One activity"),
        description=_("An activity the caller may not see answers 404, as if it did not exist."),
    ),
    create=extend_schema(
        tags=[ACTIVITIES_TAG],
        summary=_("Register an activity"),
        description=_(
            "Creates a draft organised by the caller's department (administrators name the "
            "organiser) in the current campaign unless another year is given. Nothing is "
            "published until it is submitted and approved. Department staff and administrators "
            "only."
        ),
        request=ActivityCreateSerializer,
        responses={201: ActivitySerializer, 400: INVALID, 401: UNAUTHENTICATED, 403: FORBIDDEN},
    ),
    update=extend_schema(
        tags=[ACTIVITIES_TAG],
        summary=_("Replace an activity's details"),
        description=_(
            "Drafts and activities returned for revision only, by their organiser's staff or "
            "an administrator. Send the version you read: if the activity changed since, "
            "nothing is saved (409)."
        ),
        request=ActivityUpdateSerializer,
        responses=_write_responses(),
    ),
    partial_update=extend_schema(
        tags=[ACTIVITIES_TAG],
        summary=_("Change some of an activity's details"),
        description=_(
            "As PUT, sending only the fields to change, and always the version you read."
        ),
        request=ActivityUpdateSerializer,
        responses=_write_responses(),
    ),
)
class ActivityViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = ActivitySerializer
    filterset_class = ActivityFilter
    pagination_class = ActivityPagination
    permission_classes = [permissions.IsAuthenticatedOrReadOnly]
    lookup_value_regex = r"\d+"  # /activities/abc/… is a 404, never a query with a bad id
    # The input each write takes (the browsable API's forms); every write answers the activity.
    input_serializers = {
        "create": ActivityCreateSerializer,
        "update": ActivityUpdateSerializer,
        "partial_update": ActivityUpdateSerializer,
        "submit": ActivityActionSerializer,
        "withdraw": ActivityActionSerializer,
        "approve": ActivityApproveSerializer,
        "return_for_revision": ActivityReturnSerializer,
        "reject": ActivityReasonSerializer,
        "cancel": ActivityReasonSerializer,
        "history": ActivityHistorySerializer,
    }

    def get_queryset(self):
        return _with_related(activity_visible_to(self.request.user)).order_by("starts_at", "id")

    def get_serializer_class(self):
        return self.input_serializers.get(self.action, ActivitySerializer)

    def _present(self, activity, status_code: int = status.HTTP_200_OK) -> Response:
        """The activity as the caller now sees it (fresh from the database, so its content
        areas, co-organisers and allowed actions are current)."""
        current = self.get_queryset().filter(pk=activity.pk).first() or activity
        data = ActivitySerializer(current, context=self.get_serializer_context()).data
        return Response(data, status=status_code)

    def _input(self, *args, **kwargs) -> dict:
        serializer = self.get_serializer(*args, **kwargs)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    # --- create and edit -------------------------------------------------------------------

    def create(self, request, *args, **kwargs):
        if not request.user.has_perm("activities.add_activity"):
            self.permission_denied(
                request,
                message=_("Only department staff and administrators register activities."),
            )
        fields = self._input(data=request.data)
        campaign = fields.pop("campaign")
        organiser = fields.pop("organiser", None) or self._own_department()
        activity = services.activity_create(
            actor=request.user,
            campaign=campaign,
            organiser=organiser,
            content_areas=fields.pop("content_areas", ()),
            co_organisers=fields.pop("co_organisers", ()),
            **fields,
        )
        return self._present(activity, status.HTTP_201_CREATED)

    def _own_department(self) -> Department:
        department_id = roles_of(self.request.user).department_id
        if department_id is None:  # an administrator who belongs to no department
            raise serializers.ValidationError({"organiser": [_("Name the organising department.")]})
        return Department.objects.get(pk=department_id)

    def update(self, request, *args, **kwargs):
        activity = self.get_object()
        # Refuse before reading the input, so that a co-organiser learns that they may not edit
        # rather than what their input lacked. The service checks the same permission again.
        if not request.user.has_perm("activities.change_activity", activity):
            self.permission_denied(request, message=_("You may not change this activity."))
        fields = self._input(activity, data=request.data, partial=kwargs.get("partial", False))
        services.activity_update(
            activity,
            actor=request.user,
            expected_version=fields.pop("version"),
            content_areas=fields.pop("content_areas", None),
            co_organisers=fields.pop("co_organisers", None),
            **fields,
        )
        return self._present(activity)

    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)

    # --- the review workflow -----------------------------------------------------------------

    def _move(self, request, service, *, renames: dict[str, str] | None = None) -> Response:
        """Read the action's input, call `service` on the activity, answer the activity."""
        activity = self.get_object()
        data = self._input(data=request.data)
        expected_version = data.pop("version", None)
        try:
            service(activity, actor=request.user, expected_version=expected_version, **data)
        except DomainError as refusal:
            # The services call a rejection's or cancellation's reason a comment; the API's
            # clients sent a "reason" and look for the message there.
            if renames and refusal.field in renames:
                refusal.field = renames[refusal.field]
            raise
        return self._present(activity)

    @_workflow_action(
        _("Submit an activity for review"),
        _(
            "A draft, or an activity returned for revision, goes to the reviewers of its "
            "region, who are told by email. Refused with messages per field while something a "
            "submission needs is missing (the no-fee declaration, a summary, a content area, a "
            "public contact). The organiser's staff or an administrator."
        ),
        ActivityActionSerializer,
    )
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        return self._move(request, services.activity_submit)

    @_workflow_action(
        _("Withdraw a submission"),
        _(
            "Takes a submitted activity back before it is reviewed; it becomes a draft again. "
            "The organiser's staff or an administrator."
        ),
        ActivityActionSerializer,
    )
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        return self._move(request, services.activity_withdraw)

    @_workflow_action(
        _("Approve an activity"),
        _(
            "Publishes a submitted activity; the organiser's staff are told by email. Reviewers "
            "of the activity's region (national reviewers: all) and administrators. A second "
            "reviewer acting on the same submission gets 409, naming who decided first."
        ),
        ActivityApproveSerializer,
    )
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        return self._move(request, services.activity_approve)

    @_workflow_action(
        _("Return an activity for revision"),
        _(
            "Sends a submitted activity back to its organiser with a comment, overall and/or "
            "per field (at least one is required). The organiser edits and submits it again; "
            "the history then shows the reviewer what changed since."
        ),
        ActivityReturnSerializer,
    )
    @action(detail=True, methods=["post"], url_path="return", url_name="return")
    def return_for_revision(self, request, pk=None):
        return self._move(request, services.activity_return)

    @_workflow_action(
        _("Reject an activity"),
        _("Rejects a submitted activity for good, with the reason (required)."),
        ActivityReasonSerializer,
    )
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        return self._move(request, services.activity_reject, renames={"comment": "reason"})

    @_workflow_action(
        _("Cancel an activity"),
        _(
            "Cancels an approved activity, with the reason (required), which is kept on the "
            "activity for the enterprises that signed up. The organiser's staff or an "
            "administrator."
        ),
        ActivityReasonSerializer,
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        return self._move(request, services.activity_cancel, renames={"comment": "reason"})

    @extend_schema(
        tags=[ACTIVITIES_TAG],
        summary=_("An activity's history"),
        description=_(
            "Everything done to the activity (audit log) and the reviewers' decisions with their "
            "comments, newest first, and what changed since the last review. For its organisers "
            "and co-organisers, the reviewers of its region and administrators."
        ),
        responses={
            200: ActivityHistorySerializer,
            403: FORBIDDEN,
            404: NOT_FOUND,
        },
    )
    @action(detail=True, methods=["get"])
    def history(self, request, pk=None):
        activity = self.get_object()
        if not request.user.has_perm("activities.view_activity_history", activity):
            self.permission_denied(
                request,
                message=_(
                    "The history of an activity is shown to its organisers, its reviewers and "
                    "administrators."
                ),
            )
        workflow = services.ACTIVITY_WORKFLOW
        history = {
            "entries": AuditLogEntry.objects.for_object(activity).select_related("actor"),
            "decisions": workflow.decisions(activity),
            "changes_since_last_review": workflow.changes_since_last_review(activity),
        }
        return Response(
            ActivityHistorySerializer(history, context=self.get_serializer_context()).data
        )

    @extend_schema(
        tags=[ACTIVITIES_TAG],
        summary=_("An activity as an iCalendar file"),
        description=_(
            "The published (or cancelled) activity as an RFC 5545 .ics file with one VEVENT, "
            "to add to a calendar; a cancelled one has STATUS:CANCELLED. Any other activity "
            "answers 404. Feeds to subscribe to, with every activity of the current campaign: "
            "/calendar/activities.ics, per key arrangement /calendar/arrangements/{number}.ics "
            "and per region /calendar/regions/{code}.ics."
        ),
        responses={
            (200, "text/calendar"): OpenApiResponse(
                OpenApiTypes.STR, description=_("The .ics file (text/calendar; charset=utf-8).")
            ),
            (404, "application/json"): NOT_FOUND,
        },
    )
    @action(
        detail=True,
        methods=["get"],
        url_path="ical",
        url_name="ical",
        renderer_classes=[ICalendarRenderer],
    )
    def ical_file(self, request, pk=None):
        activity = (
            ical.activities_public()
            .select_related("organiser", "region__parent__parent")
            .filter(pk=pk)
            .first()
        )
        if activity is None:
            return Response(
                {"detail": str(_("No such published activity."))},
                status=status.HTTP_404_NOT_FOUND,
                content_type="application/json",
            )
        return ical.ics_response(
            [activity], request=request, name=activity.title, filename=f"activity-{activity.pk}.ics"
        )


@extend_schema_view(
    list=extend_schema(
        tags=[ACTIVITIES_TAG],
        summary=_("Review queue"),
        description=_(
            "Submitted activities waiting for the caller's review, the longest waiting first: "
            "all of them for national reviewers and administrators, those in their region and "
            "below for provincial reviewers. Decide with the approve, return and reject actions "
            "of /api/v1/activities/{id}/."
        ),
        responses={200: ReviewQueueItemSerializer(many=True), 403: FORBIDDEN},
    ),
)
class ReviewQueueViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = ReviewQueueItemSerializer
    filterset_class = ReviewQueueFilter
    permission_classes = [permissions.IsAuthenticated]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no caller
            return Activity.objects.none()
        return _with_related(activity_review_queue(self.request.user))

    def list(self, request, *args, **kwargs):
        if not request.user.has_perm("activities.view_review_queue"):
            self.permission_denied(request, message=_("Only reviewers have a review queue."))
        return super().list(request, *args, **kwargs)


def register(router):
    """Add this app's endpoints to /api/v1/."""
    router.register("campaigns", CampaignViewSet, basename="campaign")
    router.register("key-arrangements", KeyArrangementViewSet, basename="key-arrangement")
    router.register("content-areas", ContentAreaViewSet, basename="content-area")
    router.register("regions", RegionViewSet, basename="region")
    router.register("departments", DepartmentViewSet, basename="department")
    router.register("activities", ActivityViewSet, basename="activity")
    router.register("review-queue", ReviewQueueViewSet, basename="review-queue")
