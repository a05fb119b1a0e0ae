"""Site administration for enterprises and their registrations."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from accounts.models import EnterpriseRepresentative
from qualitymonth.admin import AuditedModelAdmin

from .models import Enterprise, Registration


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


@admin.register(Registration)
class RegistrationAdmin(AuditedModelAdmin):
    """Registrations, to look up. Enterprises sign up and withdraw through the portal, where the
    capacity, the waiting list and the sign-up window are enforced; nothing is edited here."""

    list_display = ("enterprise", "enterprise_uscc", "activity", "status", "created_at")
    list_filter = ("status", "activity__campaign", "created_at")
    list_select_related = ("enterprise", "activity")
    search_fields = ("enterprise__name", "=enterprise__uscc", "activity__title")
    date_hierarchy = "created_at"
    show_full_result_count = False
    fields = ("activity", "enterprise", "status", "created_at", "updated_at")
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("Unified Social Credit Code"), ordering="enterprise__uscc")
    def enterprise_uscc(self, registration):
        return registration.enterprise.uscc
