"""Site administration for feedback reports, typical cases, files, uploads and reminders.

Read-mostly: reports change state only through the review workflow (`feedback.services`), files
only through the checked upload, reminders and uploads are records. Administrators may correct a
report's text and figures or a case's wording; such saves are audited and bump the report's
version, so a form someone has open meanwhile is refused rather than overwriting the correction.
"""

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.db.models import Count, F, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from qualitymonth.admin import AuditedModelAdmin, ReadOnlyAdminMixin
from qualitymonth.errors import DomainError, NotAllowed

from . import services
from .models import FeedbackMedia, FeedbackReminder, FeedbackReport, FeedbackUpload, TypicalCase
from .serializers import media_path

COMPACT_TEXT = {models.TextField: {"widget": forms.Textarea(attrs={"rows": 4, "cols": 60})}}


def _count_of(model):
    """A correlated count per report, so changelists never multiply rows with joins."""
    counted = (
        model.objects.filter(report=OuterRef("pk"))
        .order_by()
        .values("report")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted), 0)


class _ReadOnlyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Records written by the portal's workflows: to look up, never to add, change or delete."""

    actions = None
    show_full_result_count = False

    def get_readonly_fields(self, request, obj=None):
        return self.fields or [f.name for f in self.model._meta.fields]


def _file_link(media: FeedbackMedia):
    path = media_path(media)
    if path is None:
        return media.original_name
    return format_html('<a href="{}">{}</a>', path, media.original_name)


class TypicalCaseInline(admin.TabularInline):
    model = TypicalCase
    fields = ("title", "key_arrangement", "region", "publication_consent", "published_at")
    readonly_fields = fields
    extra = 0
    show_change_link = True
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("key_arrangement", "region")


class FeedbackMediaInline(admin.TabularInline):
    model = FeedbackMedia
    fields = ("file_link", "kind", "case", "size_shown", "state", "caption")
    readonly_fields = fields
    extra = 0
    show_change_link = True
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("case")

    @admin.display(description=_("file"))
    def file_link(self, media):
        return _file_link(media)

    @admin.display(description=_("size"))
    def size_shown(self, media):
        return filesizeformat(media.size)


@admin.register(FeedbackReport)
class FeedbackReportAdmin(AuditedModelAdmin):
    """Reports, to look up and correct. Submitting, accepting and returning are review actions;
    a later deadline is granted, with a reason, on the overview of who has reported."""

    list_display = (
        "department",
        "campaign_year",
        "status",
        "version",
        "submitted_at",
        "deadline_shown",
        "case_count",
        "media_count",
    )
    list_filter = ("campaign", "status")
    list_select_related = ("campaign", "department")
    search_fields = (
        "department__name_zh",
        "department__name_en",
        "department__short_name_zh",
        "department__short_name_en",
    )
    date_hierarchy = "submitted_at"
    show_full_result_count = False
    formfield_overrides = COMPACT_TEXT
    readonly_fields = (
        "campaign",
        "department",
        "status",
        "version",
        "submitted_at",
        "deadline_extended_to",
        "covered_activities",
        "created_by",
        "created_at",
        "updated_at",
    )
    fieldsets = (
        (None, {"fields": ("campaign", "department", "status", "version", "submitted_at")}),
        (
            _("Report"),
            {
                "fields": (
                    "summary",
                    "activities_held",
                    "participants",
                    "enterprises_involved",
                    "media_reports",
                    "covered_activities",
                )
            },
        ),
        (
            _("Record"),
            {"fields": ("deadline_extended_to", "created_by", "created_at", "updated_at")},
        ),
    )
    inlines = (TypicalCaseInline, FeedbackMediaInline)

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(case_total=_count_of(TypicalCase), media_total=_count_of(FeedbackMedia))
        )

    def has_add_permission(self, request):
        return False  # a department starts its own report

    def save_model(self, request, obj, form, change):
        if change and form.has_changed():
            obj.version = F("version") + 1  # open forms and reviewers are told it changed
        super().save_model(request, obj, form, change)
        obj.refresh_from_db(fields=["version"])

    @admin.display(description=_("campaign"), ordering="campaign__year")
    def campaign_year(self, report):
        return report.campaign.year

    @admin.display(description=_("deadline"))
    def deadline_shown(self, report):
        return report.deadline

    @admin.display(description=_("typical cases"), ordering="case_total")
    def case_count(self, report):
        return report.case_total

    @admin.display(description=_("files"), ordering="media_total")
    def media_count(self, report):
        return report.media_total

    @admin.display(description=_("activities covered"))
    def covered_activities(self, report):
        titles = [a.title for a in report.activities.order_by("pk")]
        return "; ".join(titles) or "—"


class PublishedFilter(admin.SimpleListFilter):
    title = _("published")
    parameter_name = "published"

    def lookups(self, request, model_admin):
        return (("yes", _("Yes")), ("no", _("No")))

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(published_at__isnull=self.value() == "no")
        return queryset


@admin.register(TypicalCase)
class TypicalCaseAdmin(AuditedModelAdmin):
    """Typical cases, to look up and correct their wording. Publishing goes through the review
    rules (an accepted report, the department's consent): use the actions."""

    list_display = (
        "title",
        "department",
        "campaign_year",
        "arrangement_number",
        "region",
        "publication_consent",
        "published_at",
    )
    list_filter = (PublishedFilter, "publication_consent", "report__campaign")
    list_select_related = (
        "report__department",
        "report__campaign",
        "key_arrangement",
        "region",
    )
    search_fields = ("title", "report__department__name_zh", "region__name_zh", "body")
    autocomplete_fields = ("key_arrangement", "region")
    readonly_fields = ("report", "published_at", "published_by", "created_at", "updated_at")
    fields = (
        "report",
        "title",
        "key_arrangement",
        "region",
        "body",
        "publication_consent",
        "position",
        "published_at",
        "published_by",
        "created_at",
        "updated_at",
    )
    formfield_overrides = COMPACT_TEXT
    show_full_result_count = False
    actions = ("publish_cases", "unpublish_cases")

    def has_add_permission(self, request):
        return False  # cases are written with their report

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and form.has_changed():
            FeedbackReport.objects.filter(pk=obj.report_id).update(
                version=F("version") + 1, updated_at=timezone.now()
            )

    @admin.display(description=_("department"), ordering="report__department__name_zh")
    def department(self, case):
        return case.report.department

    @admin.display(description=_("campaign"), ordering="report__campaign__year")
    def campaign_year(self, case):
        return case.report.campaign.year

    @admin.display(description=_("key arrangement"), ordering="key_arrangement__number")
    def arrangement_number(self, case):
        return case.key_arrangement.number

    def _each(self, request, queryset, service, done_message):
        done = 0
        for case in queryset:
            try:
                service(case, actor=request.user)
            except (DomainError, NotAllowed) as refusal:
                self.message_user(request, f"{case.title}: {refusal}", messages.ERROR)
            else:
                done += 1
        if done:
            self.message_user(request, done_message(done), messages.SUCCESS)

    @admin.action(description=_("Publish the selected cases on the showcase"))
    def publish_cases(self, request, queryset):
        self._each(
            request,
            queryset,
            services.case_publish,
            lambda n: ngettext("%(n)d case published.", "%(n)d cases published.", n) % {"n": n},
        )

    @admin.action(description=_("Withdraw the selected cases from the showcase"))
    def unpublish_cases(self, request, queryset):
        self._each(
            request,
            queryset,
            services.case_unpublish,
            lambda n: ngettext("%(n)d case withdrawn.", "%(n)d cases withdrawn.", n) % {"n": n},
        )


@admin.register(FeedbackMedia)
class FeedbackMediaAdmin(_ReadOnlyAdmin):
    """Stored pictures, videos and documents, to look up (files are added, captioned and removed
    by their department through the checked upload)."""

    list_display = (
        "original_name",
        "kind",
        "report",
        "case",
        "size_shown",
        "state",
        "created_at",
        "file_link",
    )
    list_filter = ("kind", "state", "report__campaign")
    list_select_related = ("report__department", "report__campaign", "case")
    search_fields = ("original_name", "=sha256", "report__department__name_zh", "caption")
    date_hierarchy = "created_at"
    fields = (
        "report",
        "case",
        "kind",
        "format",
        "content_type",
        "original_name",
        "file_link",
        "caption",
        "size",
        "sha256",
        "width",
        "height",
        "duration",
        "codec",
        "probed",
        "state",
        "failure",
        "position",
        "uploaded_by",
        "created_at",
    )

    @admin.display(description=_("file"))
    def file_link(self, media):
        return _file_link(media)

    @admin.display(description=_("size"), ordering="size")
    def size_shown(self, media):
        return filesizeformat(media.size)


@admin.register(FeedbackUpload)
class FeedbackUploadAdmin(_ReadOnlyAdmin):
    """Resumable uploads, complete or not (abandoned ones are cleaned up by a periodic task)."""

    list_display = (
        "original_name",
        "report",
        "state",
        "progress",
        "created_by",
        "created_at",
        "updated_at",
    )
    list_filter = ("state",)
    list_select_related = ("report__department", "report__campaign", "created_by")
    search_fields = ("original_name", "report__department__name_zh", "created_by__email")
    date_hierarchy = "created_at"
    fields = (
        "report",
        "case",
        "original_name",
        "size",
        "received",
        "state",
        "refusal",
        "media",
        "created_by",
        "created_at",
        "updated_at",
    )

    @admin.display(description=_("received"))
    def progress(self, upload):
        return f"{filesizeformat(upload.received)} / {filesizeformat(upload.size)}"


@admin.register(FeedbackReminder)
class FeedbackReminderAdmin(_ReadOnlyAdmin):
    """Reminders sent, by hand or automatically before the deadline."""

    list_display = (
        "sent_at",
        "department",
        "campaign",
        "kind",
        "days_before",
        "recipients",
        "sent_by",
    )
    list_filter = ("kind", "campaign")
    list_select_related = ("department", "campaign", "sent_by")
    search_fields = ("department__name_zh", "department__short_name_zh", "sent_by__email")
    date_hierarchy = "sent_at"
    fields = ("campaign", "department", "kind", "days_before", "recipients", "sent_by", "sent_at")
