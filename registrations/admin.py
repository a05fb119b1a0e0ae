"""Site administration for enterprises and their registrations."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.models import EnterpriseRepresentative
from qualitymonth.admin import AuditedModelAdmin, ReadOnlyAdminMixin

from . import services
from .enums import NoticeState
from .models import (
    Attendee,
    Enterprise,
    FeeComplaint,
    FeeComplaintEvidence,
    Registration,
    RegistrationNotice,
)


class RepresentativeInline(admin.TabularInline):
    """Who speaks for the enterprise. Claims are decided through the claim workflow."""

    model = EnterpriseRepresentative
    fields = ("user", "status", "created_at", "decided_by", "decided_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True
    verbose_name_plural = _("representatives")

    def has_add_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user", "decided_by")


@admin.register(Enterprise)
class EnterpriseAdmin(AuditedModelAdmin):
    list_display = ("name", "uscc", "region", "industry", "size", "contact_name", "created_at")
    list_filter = ("industry", "size", "region__level")
    list_select_related = ("region",)
    search_fields = ("name", "=uscc", "contact_name", "email", "mobile")
    autocomplete_fields = ("region",)
    readonly_fields = ("created_at", "updated_at")
    show_full_result_count = False
    fieldsets = (
        (None, {"fields": ("name", "uscc", "region", "industry", "size", "address")}),
        (_("Contact"), {"fields": ("contact_name", "mobile", "email")}),
        (_("Record"), {"fields": ("created_at", "updated_at")}),
    )
    inlines = (RepresentativeInline,)
    actions = ("export_personal_data",)

    @admin.action(description=_("Export personal data (JSON)"))
    def export_personal_data(self, request, queryset):
        """One enterprise's personal data as a download (registrations/retention.py); deletion
        is `manage.py personal_data delete`, which asks for a reason."""
        import json

        from django.contrib import messages
        from django.http import HttpResponse

        from .retention import Subject, personal_data_export

        if not request.user.is_superuser:
            self.message_user(request, _("Only platform administrators do this."), messages.ERROR)
            return None
        if queryset.count() != 1:
            self.message_user(request, _("Choose exactly one enterprise."), messages.WARNING)
            return None
        enterprise = queryset.get()
        data = personal_data_export(
            Subject(enterprise=enterprise), actor=request.user, reason="site administration"
        )
        response = HttpResponse(
            json.dumps(data, ensure_ascii=False, indent=1),
            content_type="application/json; charset=utf-8",
        )
        response["Content-Disposition"] = (
            f'attachment; filename="personal-data-{enterprise.uscc}.json"'
        )
        return response


class AttendeeInline(admin.TabularInline):
    """The people the enterprise sends: given at sign-up, read-only here."""

    model = Attendee
    fields = ("name", "mobile")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Registration)
class RegistrationAdmin(ReadOnlyAdminMixin, AuditedModelAdmin):
    """Registrations, to look up. Enterprises sign up and withdraw through the portal, where the
    capacity, the waiting list and the sign-up window are enforced; nothing is edited here."""

    list_display = (
        "enterprise",
        "enterprise_uscc",
        "activity",
        "status",
        "attendee_count",
        "created_at",
        "checked_in_at",
    )
    list_filter = ("status", "activity__campaign", "created_at")
    list_select_related = ("enterprise", "activity")
    search_fields = (
        "enterprise__name",
        "=enterprise__uscc",
        "activity__title",
        "=check_in_code",
        "contact_name",
        "=contact_mobile",
    )
    date_hierarchy = "created_at"
    show_full_result_count = False
    fieldsets = (
        (None, {"fields": ("activity", "enterprise", "status", "check_in_code")}),
        (
            _("Sign-up"),
            {
                "fields": (
                    "attendee_count",
                    "contact_name",
                    "contact_mobile",
                    "note",
                    "registered_by",
                )
            },
        ),
        (
            _("Record"),
            {
                "fields": (
                    "created_at",
                    "confirmed_at",
                    "withdrawn_at",
                    "checked_in_at",
                    "checked_in_by",
                    "updated_at",
                )
            },
        ),
    )
    readonly_fields = (
        "activity",
        "enterprise",
        "status",
        "check_in_code",
        "attendee_count",
        "contact_name",
        "contact_mobile",
        "note",
        "registered_by",
        "created_at",
        "confirmed_at",
        "withdrawn_at",
        "checked_in_at",
        "checked_in_by",
        "updated_at",
    )
    inlines = (AttendeeInline,)

    @admin.display(description=_("Unified Social Credit Code"), ordering="enterprise__uscc")
    def enterprise_uscc(self, registration):
        return registration.enterprise.uscc


@admin.register(Attendee)
class AttendeeAdmin(ReadOnlyAdminMixin, AuditedModelAdmin):
    """Attendees, to look up (e.g. by mobile number). They are given at sign-up on the portal."""

    list_display = ("name", "mobile", "registration")
    list_select_related = ("registration__enterprise", "registration__activity")
    search_fields = ("name", "=mobile", "registration__enterprise__name")
    show_full_result_count = False
    fields = ("registration", "name", "mobile")
    readonly_fields = fields


class NoticeStateFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return NoticeState.choices

    def queryset(self, request, queryset):
        if self.value() in NoticeState.values:
            return queryset.in_state(NoticeState(self.value()))
        return queryset


@admin.register(RegistrationNotice)
class RegistrationNoticeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The outbox of registration emails, to see what was sent and what failed. Written and
    sent by the portal only; a notice given up after failed attempts can be tried again."""

    list_display = (
        "created_at",
        "template",
        "state",
        "attempts",
        "sent_at",
        "last_error",
        "registration",
    )
    list_select_related = ("registration__enterprise", "registration__activity")
    list_filter = (NoticeStateFilter, "template", "created_at")
    search_fields = ("=registration__id", "registration__enterprise__name", "last_error")
    show_full_result_count = False
    fields = (
        "registration",
        "template",
        "context",
        "created_at",
        "sent_at",
        "attempts",
        "last_error",
    )
    readonly_fields = fields
    actions = ["try_again"]

    @admin.display(description=_("state"))
    def state(self, notice):
        return notice.state.label

    @admin.action(description=_("Try sending the selected notices again"))
    def try_again(self, request, queryset):
        retried = services.notices_retry(list(queryset), actor=request.user)
        self.message_user(
            request,
            ngettext(
                "%(count)d notice will be sent again on the next run.",
                "%(count)d notices will be sent again on the next run.",
                retried,
            )
            % {"count": retried},
        )


# --- fee complaints (administrators only: they name who reported) ------------------------------


class FeeComplaintAdminAccess:
    """Only those who handle fee complaints see them here; nothing is added, changed or deleted
    (complaints are handled on the portal's complaint page, which writes the audit log)."""

    def has_module_permission(self, request):
        return request.user.has_perm("registrations.handle_fee_complaint")

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("registrations.handle_fee_complaint")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def _evidence_link(item):
    from django.urls import reverse
    from django.utils.html import format_html

    url = reverse("complaints:evidence", args=[item.complaint.reference, item.pk])
    return format_html('<a href="{}?download=1">{}</a>', url, item.original_name)


class FeeComplaintEvidenceInline(FeeComplaintAdminAccess, admin.TabularInline):
    model = FeeComplaintEvidence
    fields = ("download", "content_type", "size", "sha256", "created_at")
    readonly_fields = fields
    extra = 0

    @admin.display(description=_("file"))
    def download(self, item):
        return _evidence_link(item)


@admin.register(FeeComplaint)
class FeeComplaintAdmin(FeeComplaintAdminAccess, admin.ModelAdmin):
    list_display = (
        "reference",
        "status",
        "created_at",
        "subject",
        "reporter_name",
        "evidence_count",
    )
    list_filter = ("status", "created_at")
    list_select_related = ("activity", "organiser")
    search_fields = (
        "=reference",
        "activity__title",
        "organiser__name_zh",
        "organiser_name",
        "description",
        "reporter_name",
        "reporter_contact",
        "reporter__email",
    )
    date_hierarchy = "created_at"
    show_full_result_count = False
    fieldsets = (
        (None, {"fields": ("reference", "status", "portal_page", "created_at", "updated_at")}),
        (
            _("What was reported"),
            {
                "fields": (
                    "activity",
                    "organiser",
                    "organiser_name",
                    "description",
                    "amount",
                    "occurred_on",
                )
            },
        ),
        (
            _("Reporter (confidential)"),
            {"fields": ("reporter", "reporter_name", "reporter_contact")},
        ),
        (_("Handling"), {"fields": ("handled_by", "outcome")}),
    )
    readonly_fields = (
        "reference",
        "status",
        "portal_page",
        "created_at",
        "updated_at",
        "activity",
        "organiser",
        "organiser_name",
        "description",
        "amount",
        "occurred_on",
        "reporter",
        "reporter_name",
        "reporter_contact",
        "handled_by",
        "outcome",
    )
    inlines = (FeeComplaintEvidenceInline,)

    def get_queryset(self, request):
        from django.db.models import Count

        return super().get_queryset(request).annotate(evidence_total=Count("evidence"))

    @admin.display(description=_("reported"))
    def subject(self, complaint):
        return complaint.activity or complaint.organiser or complaint.organiser_name

    @admin.display(description=_("evidence files"), ordering="evidence_total")
    def evidence_count(self, complaint):
        return complaint.evidence_total

    @admin.display(description=_("handle on the portal"))
    def portal_page(self, complaint):
        from django.urls import reverse
        from django.utils.html import format_html

        url = reverse("complaints:detail", args=[complaint.reference])
        return format_html('<a href="{}">{}</a>', url, _("Open the complaint's page"))


@admin.register(FeeComplaintEvidence)
class FeeComplaintEvidenceAdmin(FeeComplaintAdminAccess, admin.ModelAdmin):
    list_display = ("original_name", "complaint", "content_type", "size", "sha256", "created_at")
    list_select_related = ("complaint",)
    list_filter = ("content_type", "created_at")
    search_fields = ("original_name", "=sha256", "=complaint__reference")
    show_full_result_count = False
    fields = ("complaint", "download", "content_type", "size", "sha256", "created_at")
    readonly_fields = fields

    @admin.display(description=_("file"))
    def download(self, item):
        return _evidence_link(item)
