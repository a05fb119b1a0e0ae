"""/api/v1/ endpoints for feedback after the month: the department's report, its typical cases and
files, the review workflow, overdue tracking with reminders, and the public typical cases.

Every write calls a service in `feedback.services`, which checks the permission and the rules; the
exception handler in `qualitymonth.api` turns its refusals into 400/403/409. A report the caller
may not see is fetched through `reports_visible_to` and answers 404, never 403, so guessing ids
reveals nothing. (Resumable chunked uploads are web endpoints of `feedback.upload_views`.)"""

import os
import tempfile

from django.conf import settings
from django.db.models import Count, OuterRef, Prefetch, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, parsers, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.rules import roles_of
from activities.models import Activity, Department
from activities.serializers import ErrorSerializer
from qualitymonth.api import StandardPagination
from qualitymonth.errors import DomainError, NotAllowed
from qualitymonth.models import AuditLogEntry

from . import services
from .filters import FeedbackMediaFilter, FeedbackReportFilter, TypicalCaseFilter
from .limits import UploadThrottle
from .media_checks import MediaRefused
from .models import FeedbackMedia, FeedbackReport, TypicalCase
from .selectors import cases_published, feedback_overview, reports_visible_to
from .serializers import (
    CaseCreateSerializer,
    CaseDeleteSerializer,
    CaseUpdateSerializer,
    DepartmentFeedbackSerializer,
    FeedbackMediaChangeSerializer,
    FeedbackMediaSerializer,
    FeedbackReportListSerializer,
    FeedbackReportSerializer,
    MediaCaptionSerializer,
    MediaUploadSerializer,
    OverviewQuerySerializer,
    PublishedCaseSerializer,
    ReminderRequestSerializer,
    ReminderResultsSerializer,
    ReportAcceptSerializer,
    ReportActionSerializer,
    ReportCaseChangeSerializer,
    ReportCaseSerializer,
    ReportHistorySerializer,
    ReportMissingSerializer,
    ReportReopenSerializer,
    ReportReturnSerializer,
    ReportStartSerializer,
    ReportUpdateSerializer,
)

TAG = "feedback reports"

UNAUTHENTICATED = OpenApiResponse(ErrorSerializer, description=_("Not signed in."))
INVALID = OpenApiResponse(
    OpenApiTypes.OBJECT,
    description=_(
        "Invalid input, or refused by a rule: messages per field in the request's language, "
        'e.g. {"participants": ["Give this figure (0 if there is none)."]}. A rule refusing the '
        'whole action answers {"detail": ..., "code": ...}, e.g. code "deadline_passed" or '
        '"report_not_editable"; a refused file also names the file, e.g. code "duplicate".'
    ),
)
FORBIDDEN = OpenApiResponse(
    ErrorSerializer,
    description=_(
        "The caller may see the report but not do this: e.g. a reviewer editing it, or its "
        "department's staff reviewing it."
    ),
)
NOT_FOUND = OpenApiResponse(
    ErrorSerializer,
    description=_(
        "No such report (case, file), or one the caller may not see: another department's, "
        "or one outside a reviewer's region."
    ),
)
CONFLICT = OpenApiResponse(
    ErrorSerializer,
    description=_(
        "Nothing was done: the version sent is not the current one, or the report is no longer "
        "in a state this action starts from, because someone acted meanwhile. The message names "
        'who acted and when, with code "conflict" or "illegal_transition". Read it again.'
    ),
)
REPORT_ID = OpenApiParameter(
    "report_pk", OpenApiTypes.INT, OpenApiParameter.PATH, description=_("The report's id.")
)


def _responses(ok, *, created: bool = False) -> dict:
    return {
        201 if created else 200: ok,
        400: INVALID,
        401: UNAUTHENTICATED,
        403: FORBIDDEN,
        404: NOT_FOUND,
        409: CONFLICT,
    }


def _input(serializer_class, data, **kwargs) -> dict:
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _media_queryset():
    return FeedbackMedia.objects.order_by("case_id", "position", "created_at")


def _cases_queryset():
    return TypicalCase.objects.select_related("key_arrangement", "region").prefetch_related(
        Prefetch("media", queryset=_media_queryset())
    )


def _count_of(model):
    counted = (
        model.objects.filter(report=OuterRef("pk"))
        .order_by()
        .values("report")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted), 0)


# --- reports -------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        tags=[TAG],
        summary=_("List feedback reports"),
        description=_(
            "The reports the caller may see: department staff their own department's, reviewers "
            "those of their region (national reviewers all), administrators all. Newest "
            "campaign first."
        ),
        responses={200: FeedbackReportListSerializer(many=True), 401: UNAUTHENTICATED},
    ),
    retrieve=extend_schema(
        tags=[TAG],
        summary=_("One feedback report"),
        description=_(
            "With its summary, figures, covered activities, typical cases and files. A report "
            "the caller may not see answers 404, as if it did not exist."
        ),
        responses={200: FeedbackReportSerializer, 401: UNAUTHENTICATED, 404: NOT_FOUND},
    ),
    create=extend_schema(
        tags=[TAG],
        summary=_("Start a feedback report"),
        description=_(
            "The department's report for a campaign (the current one unless a year is given), "
            "created as a draft the first time (201); if it exists, it is answered as it is "
            "(200). One report per department and campaign. Department staff and "
            "administrators only."
        ),
        request=ReportStartSerializer,
        responses={
            200: FeedbackReportSerializer,
            201: FeedbackReportSerializer,
            400: INVALID,
            401: UNAUTHENTICATED,
            403: FORBIDDEN,
        },
    ),
    partial_update=extend_schema(
        tags=[TAG],
        summary=_("Change a feedback report"),
        description=_(
            "The summary, figures and covered activities, of a draft or a report returned for "
            "revision, by its department's staff or an administrator. Send the version you "
            "read: if the report changed since, nothing is saved (409)."
        ),
        request=ReportUpdateSerializer,
        responses=_responses(FeedbackReportSerializer),
    ),
)
class FeedbackReportViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    serializer_class = FeedbackReportSerializer
    filterset_class = FeedbackReportFilter
    permission_classes = [permissions.IsAuthenticated]
    lookup_value_regex = r"\d+"
    http_method_names = ["get", "post", "patch", "head", "options"]
    input_serializers = {
        "create": ReportStartSerializer,
        "partial_update": ReportUpdateSerializer,
        "submit": ReportActionSerializer,
        "withdraw": ReportActionSerializer,
        "accept": ReportAcceptSerializer,
        "return_for_revision": ReportReturnSerializer,
        "reopen": ReportReopenSerializer,
    }

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no caller
            return FeedbackReport.objects.none()
        reports = reports_visible_to(self.request.user).order_by(
            "-campaign__year", "department__region__code", "department__level", "pk"
        )
        if self.action == "list":
            return reports.annotate(
                case_count=_count_of(TypicalCase), media_count=_count_of(FeedbackMedia)
            )
        return self._with_contents(reports)

    @staticmethod
    def _with_contents(reports):
        return reports.annotate(
            case_count=_count_of(TypicalCase), media_count=_count_of(FeedbackMedia)
        ).prefetch_related(
            Prefetch("activities", queryset=Activity.objects.only("id", "title").order_by("pk")),
            Prefetch("cases", queryset=_cases_queryset()),
            Prefetch("media", queryset=_media_queryset()),
        )

    def get_serializer_class(self):
        if self.action == "list":
            return FeedbackReportListSerializer
        return self.input_serializers.get(self.action, FeedbackReportSerializer)

    def _present(self, report, status_code: int = status.HTTP_200_OK) -> Response:
        """The report as the caller now sees it, fresh from the database."""
        current = self._with_contents(reports_visible_to(self.request.user)).get(pk=report.pk)
        data = FeedbackReportSerializer(current, context=self.get_serializer_context()).data
        return Response(data, status=status_code)

    def _input(self, **kwargs) -> dict:
        serializer = self.get_serializer(**kwargs)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    # --- start and edit ----------------------------------------------------------------------

    def create(self, request, *args, **kwargs):
        roles = roles_of(request.user)
        if not (roles.is_admin or roles.department_id is not None):
            raise NotAllowed(_("Only department staff and administrators write feedback reports."))
        fields = self._input(data=request.data)
        department = fields.get("department") or self._own_department()
        existed = FeedbackReport.objects.filter(
            campaign=fields["campaign"], department=department
        ).exists()
        report = services.report_start(
            department=department, campaign=fields["campaign"], actor=request.user
        )
        return self._present(report, status.HTTP_200_OK if existed else status.HTTP_201_CREATED)

    def _own_department(self) -> Department:
        department_id = roles_of(self.request.user).department_id
        if department_id is None:  # an administrator who belongs to no department
            raise serializers.ValidationError({"department": [_("Name the reporting department.")]})
        return Department.objects.get(pk=department_id)

    def partial_update(self, request, *args, **kwargs):
        report = self.get_object()
        # Refuse before reading the input: a reviewer learns that they may not edit rather than
        # what their input lacked. The service checks the same permission again.
        if not request.user.has_perm("feedback.change_report", report):
            raise NotAllowed(_("You may only change your own department's report."))
        fields = self._input(instance=report, data=request.data, partial=True)
        services.report_update(
            report,
            actor=request.user,
            expected_version=fields.pop("version"),
            activities=fields.pop("activities", None),
            **fields,
        )
        return self._present(report)

    # --- the review workflow -----------------------------------------------------------------

    def _move(self, request, service) -> Response:
        report = self.get_object()
        data = self._input(data=request.data)
        expected_version = data.pop("version", None)
        service(report, actor=request.user, expected_version=expected_version, **data)
        return self._present(report)

    def _workflow_action(summary, description, request):
        return extend_schema(
            tags=[TAG],
            summary=summary,
            description=description,
            request=request,
            responses=_responses(FeedbackReportSerializer),
        )

    @_workflow_action(
        _("Submit a feedback report"),
        _(
            "A draft, or a report returned for revision, goes to the reviewers of the "
            "department's region, who are told by email. A first submission must meet the "
            'deadline (code "deadline_passed"); while something is missing the answer lists it '
            "per field (see missing/). The department's staff or an administrator."
        ),
        ReportActionSerializer,
    )
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        return self._move(request, services.report_submit)

    @_workflow_action(
        _("Withdraw a submitted report"),
        _("Takes a submitted report back before it is reviewed; it becomes a draft again."),
        ReportActionSerializer,
    )
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        return self._move(request, services.report_withdraw)

    @_workflow_action(
        _("Accept a feedback report"),
        _(
            "Reviewers of the department's region (national reviewers: all) and administrators. "
            "A second reviewer acting on the same submission gets 409, naming who decided first."
        ),
        ReportAcceptSerializer,
    )
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        return self._move(request, services.report_accept)

    @_workflow_action(
        _("Return a feedback report for revision"),
        _(
            "Sends a submitted report back to its department with a comment, overall and/or per "
            "part (at least one is required); its staff are told by email."
        ),
        ReportReturnSerializer,
    )
    @action(detail=True, methods=["post"], url_path="return", url_name="return")
    def return_for_revision(self, request, pk=None):
        return self._move(request, services.report_return)

    @_workflow_action(
        _("Reopen an accepted report"),
        _(
            "Sends an accepted report back for correction, with the reason (required); its "
            "published typical cases leave the showcase meanwhile."
        ),
        ReportReopenSerializer,
    )
    @action(detail=True, methods=["post"])
    def reopen(self, request, pk=None):
        return self._move(request, services.report_reopen)

    del _workflow_action

    # --- reading around the report -----------------------------------------------------------

    @extend_schema(
        tags=[TAG],
        summary=_("A feedback report's history"),
        description=_(
            "Everything done to the report, its cases and files (audit log), the reviewers' "
            "decisions with their comments, newest first, and what changed since the last "
            "review. For those who may see the report."
        ),
        responses={200: ReportHistorySerializer, 401: UNAUTHENTICATED, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["get"])
    def history(self, request, pk=None):
        report = self.get_object()
        if not request.user.has_perm("feedback.view_report", report):
            raise NotAllowed(_("You may not see this report."))
        workflow = services.FEEDBACK_WORKFLOW
        history = {
            "entries": self._audit_entries(report),
            "decisions": workflow.decisions(report),
            "changes_since_last_review": workflow.changes_since_last_review(report),
        }
        return Response(
            ReportHistorySerializer(history, context=self.get_serializer_context()).data
        )

    @staticmethod
    def _audit_entries(report):
        from django.contrib.contenttypes.models import ContentType

        types = ContentType.objects.get_for_models(FeedbackReport, TypicalCase, FeedbackMedia)
        condition = Q(content_type=types[FeedbackReport], object_id=str(report.pk))
        case_ids = [str(pk) for pk in report.cases.values_list("pk", flat=True)]
        media_ids = [str(pk) for pk in report.media.values_list("pk", flat=True)]
        if case_ids:
            condition |= Q(content_type=types[TypicalCase], object_id__in=case_ids)
        if media_ids:
            condition |= Q(content_type=types[FeedbackMedia], object_id__in=media_ids)
        return AuditLogEntry.objects.filter(condition).select_related("actor")

    @extend_schema(
        tags=[TAG],
        summary=_("What a report still lacks"),
        description=_(
            "What stops the report from being submitted, per field, in the request's language "
            "(empty when complete)."
        ),
        responses={200: ReportMissingSerializer, 401: UNAUTHENTICATED, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["get"])
    def missing(self, request, pk=None):
        report = self.get_object()
        missing = services.report_missing_items(report)
        data = {"complete": not missing, "missing": {k: str(v) for k, v in missing.items()}}
        return Response(ReportMissingSerializer(data).data)


class _ReportChildMixin:
    """Endpoints under /feedback-reports/{report_pk}/: the report must be visible (else 404)."""

    permission_classes = [permissions.IsAuthenticated]

    def get_report(self) -> FeedbackReport:
        if not hasattr(self, "_report"):
            found = (
                reports_visible_to(self.request.user).filter(pk=self.kwargs["report_pk"]).first()
            )
            if found is None:
                from django.http import Http404

                raise Http404
            self._report = found
        return self._report

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if not getattr(self, "swagger_fake_view", False) and "report_pk" in self.kwargs:
            context["report"] = self.get_report()
        return context

    def _refuse_unless_may_change(self, report) -> None:
        # Before reading the input; the services check it again with the row locked.
        if not self.request.user.has_perm("feedback.change_report", report):
            raise NotAllowed(_("You may only change your own department's report."))


# --- typical cases of a report -------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        tags=[TAG],
        parameters=[REPORT_ID],
        summary=_("List a report's typical cases"),
        description=_("With their pictures and videos, in the order the department gave them."),
        responses={
            200: ReportCaseSerializer(many=True),
            401: UNAUTHENTICATED,
            404: NOT_FOUND,
        },
    ),
    retrieve=extend_schema(
        tags=[TAG],
        parameters=[REPORT_ID],
        summary=_("One typical case of a report"),
        responses={200: ReportCaseSerializer, 401: UNAUTHENTICATED, 404: NOT_FOUND},
    ),
    create=extend_schema(
        tags=[TAG],
        parameters=[REPORT_ID],
        summary=_("Add a typical case"),
        description=_(
            "To a report in draft or returned for revision, by its department's staff or an "
            "administrator, with the report's version you read (the report's version goes up)."
        ),
        request=CaseCreateSerializer,
        responses=_responses(ReportCaseChangeSerializer, created=True),
    ),
    partial_update=extend_schema(
        tags=[TAG],
        parameters=[REPORT_ID],
        summary=_("Change a typical case"),
        description=_("Send only the fields to change, and always the report's version you read."),
        request=CaseUpdateSerializer,
        responses=_responses(ReportCaseChangeSerializer),
    ),
    destroy=extend_schema(
        tags=[TAG],
        parameters=[
            REPORT_ID,
            OpenApiParameter(
                "version",
                OpenApiTypes.INT,
                OpenApiParameter.QUERY,
                description=_("The report's version you read (or send it in the body)."),
            ),
        ],
        summary=_("Remove a typical case"),
        description=_("With its pictures and videos."),
        request=CaseDeleteSerializer,
        responses={
            204: None,
            400: INVALID,
            401: UNAUTHENTICATED,
            403: FORBIDDEN,
            404: NOT_FOUND,
            409: CONFLICT,
        },
    ),
)
class ReportCaseViewSet(
    _ReportChildMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = ReportCaseSerializer
    lookup_value_regex = r"\d+"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    input_serializers = {
        "create": CaseCreateSerializer,
        "partial_update": CaseUpdateSerializer,
        "destroy": CaseDeleteSerializer,
    }

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return TypicalCase.objects.none()
        return (
            _cases_queryset()
            .filter(report=self.get_report())
            .select_related("report")
            .order_by("position", "pk")
        )

    def get_serializer_class(self):
        return self.input_serializers.get(self.action, ReportCaseSerializer)

    def _present(self, case, status_code=status.HTTP_200_OK) -> Response:
        current = self.get_queryset().get(pk=case.pk)
        data = ReportCaseChangeSerializer(current, context=self.get_serializer_context()).data
        return Response(data, status=status_code)

    def create(self, request, *args, **kwargs):
        report = self.get_report()
        self._refuse_unless_may_change(report)
        fields = _input(CaseCreateSerializer, request.data, context=self.get_serializer_context())
        case = services.case_create(
            report, actor=request.user, expected_version=fields.pop("version"), **fields
        )
        return self._present(case, status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        case = self.get_object()
        self._refuse_unless_may_change(case.report)
        fields = _input(
            CaseUpdateSerializer, request.data, context=self.get_serializer_context(), partial=True
        )
        services.case_update(
            case, actor=request.user, expected_version=fields.pop("version"), **fields
        )
        return self._present(case)

    def destroy(self, request, *args, **kwargs):
        case = self.get_object()
        self._refuse_unless_may_change(case.report)
        data = request.data if "version" in request.data else request.query_params
        fields = _input(CaseDeleteSerializer, data)
        services.case_delete(case, actor=request.user, expected_version=fields["version"])
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- files of a report ---------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        tags=[TAG],
        parameters=[REPORT_ID],
        summary=_("List a report's files"),
        description=_(
            "Pictures, videos and documents of the report and of its typical cases (case: the "
            "case's id, or null), with URLs to fetch them and their processing state."
        ),
        responses={
            200: FeedbackMediaSerializer(many=True),
            401: UNAUTHENTICATED,
            404: NOT_FOUND,
        },
    ),
    retrieve=extend_schema(
        tags=[TAG],
        parameters=[REPORT_ID],
        summary=_("One file of a report"),
        responses={200: FeedbackMediaSerializer, 401: UNAUTHENTICATED, 404: NOT_FOUND},
    ),
    create=extend_schema(
        tags=[TAG],
        parameters=[REPORT_ID],
        summary=_("Upload a file"),
        description=_(
            "One picture, video or document as multipart/form-data (field file), for the report "
            "or one of its cases (documents belong to the report). The content is checked, not "
            "the name: a file that is not what it claims, too large, or already in the report is "
            'refused with 400 naming the file, e.g. {"detail": "…", "code": "duplicate"}. '
            "Pictures are stored re-encoded without EXIF (GPS); thumbnails and poster frames "
            'are made in the background (state "processing", then "ready"). For large videos '
            "use the resumable upload."
        ),
        request={"multipart/form-data": MediaUploadSerializer},
        responses=_responses(FeedbackMediaChangeSerializer, created=True),
    ),
    partial_update=extend_schema(
        tags=[TAG],
        parameters=[REPORT_ID],
        summary=_("Change a file's caption"),
        request=MediaCaptionSerializer,
        responses=_responses(FeedbackMediaChangeSerializer),
    ),
    destroy=extend_schema(
        tags=[TAG],
        parameters=[REPORT_ID],
        summary=_("Remove a file"),
        responses={
            204: None,
            400: INVALID,
            401: UNAUTHENTICATED,
            403: FORBIDDEN,
            404: NOT_FOUND,
        },
    ),
)
class ReportMediaViewSet(
    _ReportChildMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = FeedbackMediaSerializer
    filterset_class = FeedbackMediaFilter
    lookup_value_regex = r"[0-9a-f-]{36}"
    parser_classes = [parsers.MultiPartParser, parsers.FormParser, parsers.JSONParser]
    throttle_classes = [UploadThrottle]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    input_serializers = {"create": MediaUploadSerializer, "partial_update": MediaCaptionSerializer}

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return FeedbackMedia.objects.none()
        return _media_queryset().filter(report=self.get_report()).select_related("report")

    def get_serializer_class(self):
        return self.input_serializers.get(self.action, FeedbackMediaSerializer)

    def _present(self, media, status_code=status.HTTP_200_OK) -> Response:
        current = self.get_queryset().get(pk=media.pk)
        data = FeedbackMediaChangeSerializer(current, context=self.get_serializer_context()).data
        return Response(data, status=status_code)

    def create(self, request, *args, **kwargs):
        report = self.get_report()
        self._refuse_unless_may_change(report)
        fields = _input(MediaUploadSerializer, request.data, context=self.get_serializer_context())
        upload = fields["file"]
        try:
            media = services.media_add(
                report,
                actor=request.user,
                path=_file_on_disk(upload),
                original_name=upload.name,
                case=fields.get("case"),
                caption=fields["caption"],
            )
        except MediaRefused as refusal:
            refusal.field = refusal.field or "file"  # shown next to the file input too
            raise
        return self._present(media, status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        media = self.get_object()
        self._refuse_unless_may_change(media.report)
        fields = _input(MediaCaptionSerializer, request.data)
        services.media_update_caption(media, actor=request.user, caption=fields["caption"])
        return self._present(media)

    def destroy(self, request, *args, **kwargs):
        media = self.get_object()
        self._refuse_unless_may_change(media.report)
        services.media_delete(media, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _file_on_disk(upload) -> str:
    """A path for the uploaded file, which `services.media_add` consumes. Large uploads were
    streamed to a temporary file by Django already; small ones, held in memory, are written out."""
    if hasattr(upload, "temporary_file_path"):
        return upload.temporary_file_path()
    directory = settings.FEEDBACK_UPLOAD_DIR
    os.makedirs(directory, exist_ok=True)
    fd, path = tempfile.mkstemp(prefix="api-", dir=directory)
    with os.fdopen(fd, "wb") as target:
        for chunk in upload.chunks():
            target.write(chunk)
    return path


# --- the public typical cases --------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        tags=[TAG],
        summary=_("List published typical cases"),
        description=_(
            "The public showcase: typical cases reviewers published (with the department's "
            "consent), newest first, with their pictures and videos. Open to everyone."
        ),
    ),
    retrieve=extend_schema(
        tags=[TAG],
        summary=_("One published typical case"),
        description=_("A case that is not published answers 404."),
        responses={200: PublishedCaseSerializer, 404: NOT_FOUND},
    ),
)
class TypicalCaseViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = PublishedCaseSerializer
    filterset_class = TypicalCaseFilter
    permission_classes = [permissions.AllowAny]
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        return cases_published().prefetch_related(
            Prefetch("media", queryset=_media_queryset()),
        )


# --- overdue tracking and reminders --------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        tags=[TAG],
        summary=_("Who has reported"),
        description=_(
            "Every active department the caller oversees with where its report for the "
            "campaign stands (not started, draft, returned, submitted, accepted), whether it is "
            "overdue, and the reminders sent. Administrators see all departments, reviewers "
            "those of their region."
        ),
        parameters=[OverviewQuerySerializer],
        responses={
            200: DepartmentFeedbackSerializer(many=True),
            400: INVALID,
            401: UNAUTHENTICATED,
            403: FORBIDDEN,
        },
    ),
)
class FeedbackOverviewViewSet(viewsets.GenericViewSet):
    serializer_class = DepartmentFeedbackSerializer
    permission_classes = [permissions.IsAuthenticated]
    pagination_class = StandardPagination
    filter_backends = []

    def list(self, request, *args, **kwargs):
        if not request.user.has_perm("feedback.view_overdue"):
            raise NotAllowed(_("Only reviewers and administrators track the reports."))
        query = _input(OverviewQuerySerializer, request.query_params)
        rows = feedback_overview(
            request.user, query["campaign"], region=query.get("region"), state=query.get("state")
        )
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


@extend_schema_view(
    create=extend_schema(
        tags=[TAG],
        summary=_("Remind departments to report"),
        description=_(
            "Emails the active staff of each department named that its report is due. Each "
            "department gets its own result: sent, or why not (it has already submitted: "
            'code "already_submitted"; outside the caller\'s region: "permission_denied"). '
            "Reviewers (for their region) and administrators."
        ),
        request=ReminderRequestSerializer,
        responses={
            200: ReminderResultsSerializer,
            400: INVALID,
            401: UNAUTHENTICATED,
            403: FORBIDDEN,
        },
    ),
)
class FeedbackReminderViewSet(viewsets.GenericViewSet):
    serializer_class = ReminderRequestSerializer
    permission_classes = [permissions.IsAuthenticated]

    def create(self, request, *args, **kwargs):
        if not request.user.has_perm("feedback.view_overdue"):
            raise NotAllowed(_("Only reviewers and administrators send reminders."))
        fields = _input(ReminderRequestSerializer, request.data)
        results = []
        for department in sorted(set(fields["departments"]), key=lambda d: d.pk):
            result = {"department": department, "sent": False, "recipients": None}
            try:
                reminder = services.reminder_send(
                    campaign=fields["campaign"], department=department, actor=request.user
                )
            except DomainError as refusal:
                result.update(detail=str(refusal), code=refusal.code)
            except NotAllowed as refusal:
                result.update(detail=str(refusal), code="permission_denied")
            else:
                result.update(sent=True, recipients=reminder.recipients, detail=None, code=None)
            results.append(result)
        return Response(ReminderResultsSerializer({"results": results}).data)


def register(router):
    """Add this app's endpoints to /api/v1/."""
    router.register("feedback-reports", FeedbackReportViewSet, basename="feedback-report")
    router.register(
        r"feedback-reports/(?P<report_pk>\d+)/cases",
        ReportCaseViewSet,
        basename="feedback-report-case",
    )
    router.register(
        r"feedback-reports/(?P<report_pk>\d+)/media",
        ReportMediaViewSet,
        basename="feedback-report-media",
    )
    router.register("typical-cases", TypicalCaseViewSet, basename="typical-case")
    router.register("feedback-overview", FeedbackOverviewViewSet, basename="feedback-overview")
    router.register("feedback-reminders", FeedbackReminderViewSet, basename="feedback-reminder")
