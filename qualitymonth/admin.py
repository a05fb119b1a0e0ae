"""The site administration's shared pieces: audited saves and deletes, and the read-only audit log.

Every change an administrator makes in the admin lands in the portal's own audit log (as well as
in Django's admin history), inside the admin's transaction, so the log never records a change that
was rolled back.
"""

import datetime as dt
import json
from decimal import Decimal
from typing import Any

from django.contrib import admin
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .audit import audit_log
from .models import AuditLogEntry, IdempotencyKey, ReviewDecision

ADMIN_COMMENT = "site administration"


def plain_value(value: Any) -> Any:
    """A JSON-able rendering of a field value for the audit log."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, models.Model):
        return str(value)
    if isinstance(value, models.QuerySet | list | tuple | set):
        return sorted(str(item) for item in value)
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return str(value)


def form_changes(form, before: models.Model | None) -> dict[str, list[Any]]:
    """``{field: [old, new]}`` for the fields `form` changed; `before` is the stored row."""
    changes = {}
    for name in form.changed_data:
        if name not in form.cleaned_data:
            continue
        try:
            field = form.instance._meta.get_field(name)
        except FieldDoesNotExist:  # a form-only field, e.g. a password pair: never recorded
            continue
        if field.many_to_many:
            old = form.initial.get(name, [])
        elif before is not None and field.concrete:
            old = getattr(before, name)
        else:
            old = None
        changes[name] = [plain_value(old), plain_value(form.cleaned_data[name])]
    return changes


def _action(obj: models.Model, verb: str) -> str:
    opts = obj._meta
    return f"{opts.app_label}.{opts.model_name}.{verb}"


def _stored(obj: models.Model) -> models.Model | None:
    if obj.pk is None:
        return None
    return type(obj)._default_manager.filter(pk=obj.pk).first()


class AuditedAdminMixin:
    """Writes the portal's audit log for every save and delete made in the admin, inlines included.

    Action codes are ``<app>.<model>.created|changed|deleted``; `changes` holds ``[old, new]`` per
    field (secrets are masked by `audit_log`).
    """

    def save_model(self, request, obj, form, change):
        before = _stored(obj) if change else None
        super().save_model(request, obj, form, change)
        if change and not form.has_changed():
            return
        audit_log(
            obj,
            _action(obj, "changed" if change else "created"),
            actor=request.user,
            changes=form_changes(form, before),
            comment=ADMIN_COMMENT,
        )

    def delete_model(self, request, obj):
        audit_log(obj, _action(obj, "deleted"), actor=request.user, comment=ADMIN_COMMENT)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            audit_log(obj, _action(obj, "deleted"), actor=request.user, comment=ADMIN_COMMENT)
        super().delete_queryset(request, queryset)

    def save_formset(self, request, form, formset, change):
        deleted = formset.deleted_forms  # empty unless the formset is valid and allows deleting
        changed = [
            (f, _stored(f.instance))
            for f in formset.initial_forms
            if f not in deleted and f.has_changed()
        ]
        for f in deleted:
            if f in formset.initial_forms and f.instance.pk is not None:
                audit_log(
                    f.instance,
                    _action(f.instance, "deleted"),
                    actor=request.user,
                    comment=ADMIN_COMMENT,
                )
        super().save_formset(request, form, formset, change)
        for f, before in changed:
            audit_log(
                f.instance,
                _action(f.instance, "changed"),
                actor=request.user,
                changes=form_changes(f, before),
                comment=ADMIN_COMMENT,
            )
        for f in formset.extra_forms:
            if f not in deleted and f.has_changed() and f.instance.pk is not None:
                audit_log(
                    f.instance,
                    _action(f.instance, "created"),
                    actor=request.user,
                    changes=form_changes(f, None),
                    comment=ADMIN_COMMENT,
                )


class AuditedModelAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """A ModelAdmin whose saves and deletes write the audit log."""


class ReadOnlyAdminMixin:
    """Records the portal's workflows write (registrations, the audit log, imports, notices ...):
    to look up in the admin, never to add, change or delete there. Actions may still act on
    them through the services."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


PORTAL_APPS = ("qualitymonth", "accounts", "activities", "registrations", "feedback")


class PortalObjectTypeFilter(admin.RelatedFieldListFilter):
    """Object types of the portal's own apps only (not sessions, permissions and the like)."""

    def field_choices(self, field, request, model_admin):
        return field.get_choices(
            include_blank=False,
            ordering=("app_label", "model"),
            limit_choices_to={"app_label__in": PORTAL_APPS},
        )


@admin.register(AuditLogEntry)
class AuditLogEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The audit log, to read and search. Nobody can add, change or delete an entry here."""

    list_display = (
        "created_at",
        "actor_repr",
        "action",
        "object_type",
        "object_link",
        "ip_address",
    )
    list_filter = ("action", "created_at", ("content_type", PortalObjectTypeFilter))
    search_fields = ("object_repr", "=object_id", "actor_repr", "action", "comment")
    date_hierarchy = "created_at"
    list_select_related = ("content_type",)
    show_full_result_count = False
    actions = None
    fields = (
        "created_at",
        "actor",
        "actor_repr",
        "action",
        "content_type",
        "object_id",
        "object_repr",
        "changes_pretty",
        "comment",
        "ip_address",
    )
    readonly_fields = fields

    @admin.display(description=_("object type"), ordering="content_type")
    def object_type(self, entry):
        return entry.content_type.name if entry.content_type else "—"

    @admin.display(description=_("object"), ordering="object_repr")
    def object_link(self, entry):
        if entry.content_type is None or not entry.object_id:
            return entry.object_repr or "—"
        try:
            url = reverse(
                f"admin:{entry.content_type.app_label}_{entry.content_type.model}_change",
                args=[entry.object_id],
            )
        except NoReverseMatch:
            return entry.object_repr
        return format_html('<a href="{}">{}</a>', url, entry.object_repr)

    @admin.display(description=_("changes"))
    def changes_pretty(self, entry):
        if not entry.changes:
            return "—"
        text = json.dumps(entry.changes, ensure_ascii=False, indent=2, sort_keys=True)
        return format_html("<pre>{}</pre>", text)


@admin.register(ReviewDecision)
class ReviewDecisionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Reviewers' decisions, to read. Decisions are made in the review pages, never edited."""

    list_display = ("created_at", "decision", "reviewer", "content_type", "object_id")
    list_filter = ("decision", "created_at", ("content_type", PortalObjectTypeFilter))
    search_fields = ("=object_id", "reviewer__email", "comment")
    date_hierarchy = "created_at"
    list_select_related = ("content_type", "reviewer")
    actions = None
    fields = (
        "created_at",
        "decision",
        "reviewer",
        "content_type",
        "object_id",
        "comment",
        "field_comments",
        "snapshot",
    )
    readonly_fields = fields


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(admin.ModelAdmin):
    """API sign-ups' Idempotency-Keys and the responses replays get, to read (support: "did my
    request arrive?"). Written only by the API; deleted after IDEMPOTENCY_KEY_HOURS."""

    list_display = ("created_at", "user", "request", "key", "response_status")
    list_filter = ("response_status", "created_at")
    search_fields = ("=key", "user__email", "request")
    date_hierarchy = "created_at"
    list_select_related = ("user",)
    actions = None
    fields = (
        "created_at",
        "user",
        "request",
        "key",
        "body_sha256",
        "response_status",
        "response_body",
    )
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
