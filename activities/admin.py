"""Site administration for campaign reference data and activities."""

from django import forms
from django.contrib import admin
from django.db import models
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from qualitymonth.admin import AuditedModelAdmin, ReadOnlyAdminMixin

from .enums import DepartmentLevel
from .models import (
    Activity,
    ActivityImport,
    Campaign,
    ContentArea,
    Department,
    KeyArrangement,
    Region,
)

COMPACT_TEXT = {models.TextField: {"widget": forms.Textarea(attrs={"rows": 2, "cols": 40})}}


def _activity_count(**outer):
    """A correlated count of activities, so changelists never multiply rows with joins."""
    counted = (
        Activity.objects.filter(**{key: OuterRef(value) for key, value in outer.items()})
        .order_by()
        .values(*outer)
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted), 0)


class _HeadingInline(admin.TabularInline):
    # Descriptions are long: they are edited on each heading's own page (the change link).
    fields = ("number", "title_zh", "title_en")
    extra = 0
    show_change_link = True


class KeyArrangementInline(_HeadingInline):
    model = KeyArrangement


class ContentAreaInline(_HeadingInline):
    model = ContentArea


@admin.register(Campaign)
class CampaignAdmin(AuditedModelAdmin):
    list_display = (
        "year",
        "name_zh",
        "theme_zh",
        "month_start",
        "month_end",
        "feedback_deadline",
        "status",
        "arrangement_count",
        "content_area_count",
        "activity_count",
    )
    list_display_links = ("year", "name_zh")
    list_filter = ("status",)
    search_fields = ("=year", "name_zh", "name_en", "theme_zh", "theme_en")
    readonly_fields = ("created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("year", "status")}),
        (_("Name and theme"), {"fields": ("name_zh", "name_en", "theme_zh", "theme_en")}),
        (_("Dates"), {"fields": ("month_start", "month_end", "feedback_deadline")}),
        (_("Record"), {"fields": ("created_at", "updated_at")}),
    )
    inlines = (ContentAreaInline, KeyArrangementInline)

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                arrangement_total=Count("key_arrangements", distinct=True),
                content_area_total=Count("content_areas", distinct=True),
                activity_total=_activity_count(campaign="pk"),
            )
        )

    @admin.display(description=_("key arrangements"), ordering="arrangement_total")
    def arrangement_count(self, campaign):
        return campaign.arrangement_total

    @admin.display(description=_("content areas"), ordering="content_area_total")
    def content_area_count(self, campaign):
        return campaign.content_area_total

    @admin.display(description=_("activities"), ordering="activity_total")
    def activity_count(self, campaign):
        return campaign.activity_total


class _HeadingAdmin(AuditedModelAdmin):
    list_display = ("number", "title_zh", "title_en", "campaign", "activity_count")
    list_display_links = ("number", "title_zh")
    list_filter = ("campaign",)
    list_select_related = ("campaign",)
    search_fields = ("title_zh", "title_en", "=campaign__year")
    ordering = ("-campaign__year", "number")
    formfield_overrides = COMPACT_TEXT

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(activity_total=Count("activities"))

    @admin.display(description=_("activities"), ordering="activity_total")
    def activity_count(self, heading):
        return heading.activity_total


@admin.register(KeyArrangement)
class KeyArrangementAdmin(_HeadingAdmin):
    pass


@admin.register(ContentArea)
class ContentAreaAdmin(_HeadingAdmin):
    pass


@admin.register(Region)
class RegionAdmin(AuditedModelAdmin):
    list_display = ("code", "name_zh", "name_en", "level", "parent")
    list_display_links = ("code", "name_zh")
    list_filter = ("level",)
    list_select_related = ("parent",)
    search_fields = ("^code", "name_zh", "name_en")
    autocomplete_fields = ("parent",)
    list_per_page = 100


@admin.register(Department)
class DepartmentAdmin(AuditedModelAdmin):
    list_display = ("name_zh", "short_name_zh", "level", "region", "parent", "is_lead", "is_active")
    list_display_links = ("name_zh",)
    list_filter = ("level", "is_lead", "is_active")
    list_select_related = ("region", "parent")
    search_fields = (
        "name_zh",
        "name_en",
        "short_name_zh",
        "short_name_en",
        "region__name_zh",
        "^region__code",
    )
    autocomplete_fields = ("region", "parent")
    readonly_fields = ("created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("name_zh", "name_en", "short_name_zh", "short_name_en")}),
        (_("Place in the organisation"), {"fields": ("level", "region", "parent", "is_lead")}),
        (_("Record"), {"fields": ("is_active", "created_at", "updated_at")}),
    )


class OrganiserLevelFilter(admin.SimpleListFilter):
    title = _("organiser level")
    parameter_name = "organiser_level"

    def lookups(self, request, model_admin):
        return DepartmentLevel.choices

    def queryset(self, request, queryset):
        if self.value() in DepartmentLevel.values:
            return queryset.filter(organiser__level=self.value())
        return queryset


@admin.register(Activity)
class ActivityAdmin(AuditedModelAdmin):
    """Activities, to correct and look up. Review decisions (the `status`) are taken through the
    review workflow, never by editing the field here."""

    list_display = (
        "title",
        "campaign_year",
        "arrangement_number",
        "organiser_short",
        "region",
        "starts_at",
        "status",
    )
    list_filter = ("status", "campaign", "signup_enabled", OrganiserLevelFilter, "starts_at")
    list_select_related = ("campaign", "key_arrangement", "organiser", "region")
    search_fields = ("title", "organiser__name_zh", "organiser__short_name_zh", "region__name_zh")
    autocomplete_fields = (
        "key_arrangement",
        "content_areas",
        "organiser",
        "co_organisers",
        "region",
    )
    date_hierarchy = "starts_at"
    readonly_fields = ("status", "created_by", "created_at", "updated_at")
    show_full_result_count = False
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    fieldsets = (
        (None, {"fields": ("campaign", "key_arrangement", "content_areas", "status")}),
        (_("Organisers"), {"fields": ("organiser", "co_organisers")}),
        (_("What"), {"fields": ("title", "summary", "description")}),
        (
            _("Where and when"),
            {"fields": ("region", "venue", "online_url", "starts_at", "ends_at")},
        ),
        (
            _("Sign-up"),
            {
                "fields": (
                    "signup_enabled",
                    "capacity",
                    "signup_opens_at",
                    "signup_closes_at",
                    "attendees_per_enterprise",
                    "no_fee_declared",
                )
            },
        ),
        (_("Public contact"), {"fields": ("contact_name", "contact_phone", "contact_email")}),
        (_("Record"), {"fields": ("created_by", "created_at", "updated_at")}),
    )

    @admin.display(description=_("campaign"), ordering="campaign__year")
    def campaign_year(self, activity):
        return activity.campaign.year

    @admin.display(description=_("organiser"), ordering="organiser__name_zh")
    def organiser_short(self, activity):
        return activity.organiser.short_name

    @admin.display(description=_("key arrangement"), ordering="key_arrangement__number")
    def arrangement_number(self, activity):
        return activity.key_arrangement.number

    def save_model(self, request, obj, form, change):
        if not change and obj.created_by_id is None:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(ActivityImport)
class ActivityImportAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Uploads of activity workbooks, to look up (read-only: imports change only through the
    import task, and their activities through the review workflow)."""

    list_display = (
        "created_at",
        "original_name",
        "department",
        "campaign",
        "status",
        "rows_total",
        "created_count",
        "error_count",
    )
    list_filter = ("status", "mode", "campaign")
    list_select_related = ("department", "campaign", "created_by")
    search_fields = ("original_name", "department__name_zh", "created_by__email")
    date_hierarchy = "created_at"
    show_full_result_count = False
    actions = None
    fields = (
        "campaign",
        "department",
        "created_by",
        "file",
        "original_name",
        "mode",
        "status",
        "rows_total",
        "rows_processed",
        "error_count",
        "created_count",
        "errors",
        "notices",
        "failure",
        "created_at",
        "started_at",
        "finished_at",
    )
    readonly_fields = fields
