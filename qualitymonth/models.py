"""The append-only audit log every state change writes to (who, when, what, why)."""

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditLogImmutable(Exception):
    """Raised on any attempt to change or delete an audit log entry."""


class AuditLogQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AuditLogImmutable("Audit log entries cannot be changed.")

    def delete(self):
        raise AuditLogImmutable("Audit log entries cannot be deleted.")

    def for_object(self, obj):
        return self.filter(
            content_type=ContentType.objects.get_for_model(obj), object_id=str(obj.pk)
        )


class AuditLogEntry(models.Model):
    """One recorded action. Rows are only ever inserted: the model, its queryset, the admin and
    (on PostgreSQL and SQLite) a database trigger all refuse updates and deletes."""

    created_at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        # A person with recorded actions is deactivated, never deleted.
        on_delete=models.PROTECT,
        related_name="+",
    )
    actor_repr = models.CharField(_("actor (as recorded)"), max_length=300, blank=True)
    action = models.CharField(
        _("action"),
        max_length=100,
        db_index=True,
        help_text=_("A dotted code, e.g. activities.activity.approved"),
    )
    content_type = models.ForeignKey(
        ContentType,
        verbose_name=_("object type"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    object_repr = models.CharField(_("object (as recorded)"), max_length=300, blank=True)
    changes = models.JSONField(_("changes"), default=dict, blank=True)
    comment = models.TextField(_("comment"), blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)

    objects = AuditLogQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit log entry")
        verbose_name_plural = _("audit log")
        ordering = ["-created_at", "-id"]
        # Django's internal paths (related deletes, refresh) use the base manager: make it ours,
        # so they too meet the refusing queryset.
        base_manager_name = "objects"
        indexes = [
            models.Index(
                fields=["content_type", "object_id", "created_at"], name="audit_object_idx"
            )
        ]

    def __str__(self):
        when = f"{self.created_at:%Y-%m-%d %H:%M}"
        return f"{when} {self.actor_repr} {self.action} {self.object_repr}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AuditLogImmutable("Audit log entries cannot be changed.")
        # Never an UPDATE, even for a new instance given the primary key of an existing entry.
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AuditLogImmutable("Audit log entries cannot be deleted.")


class ReviewDecisionKind(models.TextChoices):
    APPROVED = "approved", _("Approved")
    RETURNED = "returned", _("Returned for revision")
    REJECTED = "rejected", _("Rejected")


class ReviewDecision(models.Model):
    """A reviewer's decision on a reviewed object (an activity, a feedback report), with the
    comments the submitter sees and a snapshot of what was reviewed, so the next review can show
    what changed since."""

    content_type = models.ForeignKey(
        ContentType, verbose_name=_("object type"), on_delete=models.PROTECT, related_name="+"
    )
    object_id = models.CharField(_("object id"), max_length=64)
    decision = models.CharField(_("decision"), max_length=20, choices=ReviewDecisionKind.choices)
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reviewer"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    comment = models.TextField(_("comment"), blank=True)
    field_comments = models.JSONField(_("comments per field"), default=dict, blank=True)
    snapshot = models.JSONField(_("what was reviewed"), default=dict)
    created_at = models.DateTimeField(_("time"), auto_now_add=True)

    class Meta:
        verbose_name = _("review decision")
        verbose_name_plural = _("review decisions")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["content_type", "object_id", "created_at"], name="review_object_idx"
            )
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(decision__in=ReviewDecisionKind.values),
                name="review_decision_valid",
            ),
        ]

    def __str__(self):
        return f"{self.get_decision_display()} · {self.reviewer} · {self.created_at:%Y-%m-%d}"


class IdempotencyKey(models.Model):
    """An ``Idempotency-Key`` a client sent with a POST to the API, and the response it got:
    a replay of the same request with the same key gets that response again, without the work
    being done twice (see `qualitymonth.idempotency`). Kept for ``IDEMPOTENCY_KEY_HOURS``; the
    stored body may name people (attendees), so expired rows are deleted, not only ignored."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    key = models.CharField(_("idempotency key"), max_length=255)
    request = models.CharField(_("method and path"), max_length=300)
    body_sha256 = models.CharField(_("SHA-256 of the request body"), max_length=64)
    response_status = models.PositiveSmallIntegerField(_("response status"), null=True)
    response_body = models.JSONField(_("response body"), null=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("idempotency key")
        verbose_name_plural = _("idempotency keys")
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_once_per_user")
        ]

    def __str__(self):
        return f"{self.request} {self.key}"
