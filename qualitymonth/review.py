"""The review mechanism shared by everything that is submitted and reviewed (activities now,
feedback reports later): one table of transitions per kind of object, one function that performs
them, review decisions with comments and snapshots, optimistic locking, audit log, emails.

A reviewed model has a ``status`` field, a ``version`` counter (bumped on every write, so a stale
form or a second reviewer is caught) and a ``submitted_at`` time. Its workflow says which
transitions exist, who may perform them (a django-rules permission), which fields a review looks
at, and whom to tell.
"""

import datetime as dt
import difflib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .audit import audit_log
from .errors import DomainError, EditConflict, IllegalTransition, NotAllowed
from .models import AuditLogEntry, ReviewDecision, ReviewDecisionKind
from .notifications import notify


@dataclass(frozen=True)
class Transition:
    """One allowed move between states."""

    name: str  # a verb: "submit", "approve", ...
    sources: tuple[str, ...]
    target: str
    permission: str  # django-rules permission checked against the object
    comment_required: bool = False
    comment_label: Any = None  # what the comment is called in messages, e.g. "reason"
    decision: str | None = None  # a ReviewDecisionKind when this transition is a review
    email: str | None = None  # email template sent to `recipients`
    sets_submitted_at: bool = False
    # Called with the locked, current object once the state is right; raises ValidationError
    # (per field) to refuse, e.g. an incomplete submission.
    check: Callable[[Any], None] | None = None


@dataclass
class Workflow:
    model: type[models.Model]
    transitions: dict[str, Transition]
    audit_prefix: str  # e.g. "activities.activity"
    reviewed_fields: tuple[str, ...]
    recipients: Callable[[models.Model, Transition], Iterable]  # whom to email, given the move
    describe: Callable[[models.Model, str], Any]  # display value of a reviewed field
    link: Callable[[models.Model, Transition], str]  # absolute URL for the email's recipients
    field_labels: dict[str, Any] = field(default_factory=dict)

    # --- reading ---------------------------------------------------------------------------

    def allowed(self, obj, user) -> list[Transition]:
        """The transitions `user` may perform on `obj` now (to show the right buttons)."""
        return [
            t
            for t in self.transitions.values()
            if obj.status in t.sources and user.has_perm(t.permission, obj)
        ]

    def snapshot(self, obj) -> dict[str, str]:
        """The reviewed fields as readable strings, always in the portal's default language:
        a snapshot taken while one person reads English must compare equal to the same values
        read later by someone in Chinese."""
        with translation.override(settings.LANGUAGE_CODE):
            return {name: str(self.describe(obj, name)) for name in self.reviewed_fields}

    def decisions(self, obj):
        return ReviewDecision.objects.filter(
            content_type=ContentType.objects.get_for_model(obj), object_id=str(obj.pk)
        ).select_related("reviewer")

    def last_decision(self, obj) -> ReviewDecision | None:
        return self.decisions(obj).first()

    def changes_since_last_review(self, obj) -> list[dict[str, Any]]:
        """Field by field, what the submitter changed since the last review decision."""
        last = self.last_decision(obj)
        if last is None:
            return []
        now = self.snapshot(obj)
        return [
            {
                "field": name,
                "label": self.field_labels.get(name, name),
                "before": last.snapshot.get(name, ""),
                "after": now[name],
            }
            for name in self.reviewed_fields
            if last.snapshot.get(name, "") != now[name]
        ]

    def review_changes(
        self, obj, last: ReviewDecision, readable: Callable[[str, str], str] | None = None
    ) -> tuple[list[dict[str, Any]], list[tuple[Any, str]]]:
        """What a reviewer reads of a resubmission: one row per field changed since `last`
        (before and after cut into marked pieces, what the last review asked of it), and the
        comments of `last` on fields left as they were, as (label, text)."""
        readable = readable or (lambda name, value: value)
        asked = last.field_comments or {}
        rows = []
        for change in self.changes_since_last_review(obj):
            name = change["field"]
            before, after = readable(name, change["before"]), readable(name, change["after"])
            removed, added = inline_diff(before, after)
            rows.append(
                {
                    "field": name,
                    "label": change["label"],
                    "before": removed,
                    "after": added,
                    "was_empty": before == "",
                    "now_empty": after == "",
                    "asked": asked.get(name, ""),
                }
            )
        changed = {row["field"] for row in rows}
        unchanged_asked = [
            (self.field_labels.get(name, name), text)
            for name, text in asked.items()
            if name not in changed
        ]
        return rows, unchanged_asked

    def last_actor(self, obj) -> AuditLogEntry | None:
        return (
            AuditLogEntry.objects.for_object(obj)
            .filter(action__startswith=self.audit_prefix + ".")
            .select_related("actor")
            .first()
        )

    # --- writing ---------------------------------------------------------------------------

    def perform(
        self,
        obj,
        name: str,
        *,
        actor,
        comment: str = "",
        field_comments: dict[str, str] | None = None,
        expected_version: int | None = None,
        extra: dict[str, Any] | None = None,
    ):
        """Move `obj` along transition `name`.

        Steps: lock the row; check the permission on it (NotAllowed); refuse a stale
        `expected_version` or a state the transition does not start from, naming who acted last
        (EditConflict, IllegalTransition); refuse comments on unknown fields and require the
        comment where the transition needs one (DomainError); run the transition's `check`
        (ValidationError); save the new status, `extra` fields and a bumped version; record the
        review decision with a snapshot of the row as decided on; write the audit log; email the
        recipients (never the actor) once the transaction commits. On any refusal nothing changes.
        `obj` is updated to the saved row and returned.
        """
        transition = self.transitions[name]
        comment = (comment or "").strip()
        field_comments = {
            k: v.strip() for k, v in (field_comments or {}).items() if v and v.strip()
        }
        with transaction.atomic():
            current = self.model._default_manager.select_for_update().get(pk=obj.pk)
            # Asked of the locked row, not of the caller's copy: a stale copy could still lie in
            # the reviewer's region after the organiser moved the activity elsewhere.
            if not actor.has_perm(transition.permission, current):
                raise NotAllowed(_("You may not do this."))
            self._refuse_stale(current, expected_version)
            if current.status not in transition.sources:
                raise IllegalTransition(self._state_message(current), code="illegal_transition")
            if set(field_comments) - set(self.reviewed_fields):
                raise DomainError(
                    _("Comments can only be made on the fields under review."),
                    field="field_comments",
                )
            if transition.comment_required and not (comment or field_comments):
                raise DomainError(
                    _("Please give a %(what)s.")
                    % {"what": transition.comment_label or _("comment")},
                    code="comment_required",
                    field="comment",
                )
            if transition.check:
                transition.check(current)
            before = current.status
            now = timezone.now()
            updates = {"status": transition.target, "version": current.version + 1, **(extra or {})}
            if transition.sets_submitted_at:
                updates["submitted_at"] = now
            updates["updated_at"] = now
            self.model._default_manager.filter(pk=obj.pk).update(**updates)
            for key, value in updates.items():
                setattr(current, key, value)
            # The caller's copy now shows what was decided on, not what it held when loaded.
            for f in self.model._meta.concrete_fields:
                setattr(obj, f.attname, getattr(current, f.attname))
            if transition.decision:
                ReviewDecision.objects.create(
                    content_type=ContentType.objects.get_for_model(current),
                    object_id=str(current.pk),
                    decision=transition.decision,
                    reviewer=actor,
                    comment=comment,
                    field_comments=field_comments,
                    snapshot=self.snapshot(current),
                )
            audit_log(
                current,
                f"{self.audit_prefix}.{transition.target}",
                actor=actor,
                changes={
                    "status": [before, transition.target],
                    **({"field_comments": field_comments} if field_comments else {}),
                },
                comment=comment,
            )
            if transition.email:
                context = {
                    "object": current,
                    "actor": actor,
                    "comment": comment,
                    "url": self.link(current, transition),
                    "field_comments": [
                        (self.field_labels.get(k, k), v) for k, v in field_comments.items()
                    ],
                }
                for person in {p.pk: p for p in self.recipients(current, transition)}.values():
                    if person.pk != actor.pk:
                        notify(person, transition.email, context)
        return obj

    def lock(self, obj, *, expected_version: int | None):
        """The current row of `obj`, locked until the transaction ends, after refusing a stale
        `expected_version` (EditConflict). Call inside a transaction."""
        current = self.model._default_manager.select_for_update().get(pk=obj.pk)
        self._refuse_stale(current, expected_version)
        return current

    def save_edit(self, obj, *, actor, changed: dict[str, list], expected_version: int | None):
        """Bump the version of an edited object after refusing a stale edit; log the changes.
        Call inside the transaction that saves the edit, before saving."""
        current = self.lock(obj, expected_version=expected_version)
        obj.version = current.version + 1
        audit_log(obj, f"{self.audit_prefix}.changed", actor=actor, changes=changed)

    def _refuse_stale(self, current, expected_version: int | None) -> None:
        if expected_version is not None and int(expected_version) != current.version:
            raise EditConflict(self._state_message(current), field="version")

    def _state_message(self, current):
        last = self.last_actor(current)
        if last is None:
            return _("This was changed meanwhile: it is now “%(status)s”. Reload the page.") % {
                "status": current.get_status_display()
            }
        return _(
            "This was already handled by %(who)s at %(when)s: it is now “%(status)s”. "
            "Reload the page to see the current state."
        ) % {
            "who": last.actor.get_full_name() if last.actor_id else last.actor_repr,
            "when": date_format(timezone.localtime(last.created_at), "DATETIME_FORMAT"),
            "status": current.get_status_display(),
        }


def history_in_words(
    entries: Iterable[AuditLogEntry],
    decisions: list[ReviewDecision],
    *,
    code_of: Callable[[AuditLogEntry], str],
    action_of: Callable[[AuditLogEntry, str], Any],
    decision_kind_of: Callable[[AuditLogEntry, str], str | None],
    orphan_action: Callable[[ReviewDecision], Any],
    label: Callable[[str], Any],
    readable: Callable[[str, Any], str],
    shows_changes: Callable[[str], bool],
) -> list[dict[str, Any]]:
    """The history of a reviewed object as people read it, newest first: every audit entry (who,
    when, what in words, the comment, the fields changed with old and new values) and every review
    decision with its comments per field. A decision is shown on the audit entry its transition
    wrote (same kind, same reviewer, within a minute); one without such an entry stands alone.

    Each item: ``when``, ``who``, ``action``, ``code``, ``comment``, ``field_comments`` and
    ``changes`` (lists of (label, text) and of dicts with field/label/before/after), ``edited``
    (the changed fields' labels), ``decision`` (a ReviewDecisionKind value or ""). The callables
    say how the object's app words things (see activity_history, report_history)."""
    from qualitymonth.admin import ADMIN_COMMENT

    decisions = list(decisions)
    history = []
    for entry in entries:
        code = code_of(entry)
        payload = entry.changes if isinstance(entry.changes, dict) else {}
        field_comments = payload.get("field_comments") or {}
        decision = None
        kind = decision_kind_of(entry, code)
        if kind:
            decision = next(
                (
                    d
                    for d in decisions
                    if d.decision == kind
                    and d.reviewer_id == entry.actor_id
                    and abs((d.created_at - entry.created_at).total_seconds()) < 60
                ),
                None,
            )
            if decision is not None:
                decisions.remove(decision)
                field_comments = decision.field_comments or field_comments
        changes = [
            {
                "field": name,
                "label": label(name),
                "before": readable(name, pair[0]),
                "after": readable(name, pair[1]),
            }
            for name, pair in payload.items()
            if name not in ("status", "field_comments")
            and isinstance(pair, list | tuple)
            and len(pair) == 2
        ]
        if not shows_changes(code):
            changes = []
        history.append(
            {
                "when": entry.created_at,
                "who": entry.actor.get_full_name() if entry.actor_id else entry.actor_repr,
                "action": action_of(entry, code),
                "code": code,
                "comment": (decision.comment if decision else "")
                or (_("Made in the site administration.") if entry.comment == ADMIN_COMMENT else "")
                or entry.comment,
                "field_comments": [(label(k), v) for k, v in field_comments.items()],
                "changes": changes,
                "edited": [c["label"] for c in changes],
                "decision": decision.decision if decision else "",
            }
        )
    for decision in decisions:  # a decision whose audit entry is missing still belongs here
        history.append(
            {
                "when": decision.created_at,
                "who": decision.reviewer.get_full_name(),
                "action": orphan_action(decision),
                "code": decision.decision,
                "comment": decision.comment,
                "field_comments": [(label(k), v) for k, v in decision.field_comments.items()],
                "changes": [],
                "edited": [],
                "decision": decision.decision,
            }
        )
    history.sort(key=lambda item: item["when"], reverse=True)
    return history


# --- what a reviewer reads ---------------------------------------------------------------------

# Han characters one by one, Latin words and numbers whole, anything else character by character.
_TOKENS = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]|[^\W_]+|\s+|.", re.DOTALL)


def inline_diff(before: str, after: str) -> tuple[list[tuple[bool, str]], list[tuple[bool, str]]]:
    """The two texts cut into pieces, each marked whether it changed: what was removed from
    `before` and what was added in `after`."""
    old, new = _TOKENS.findall(before), _TOKENS.findall(after)
    removed, added = [], []
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        changed = op != "equal"
        if i2 > i1:
            removed.append((changed, "".join(old[i1:i2])))
        if j2 > j1:
            added.append((changed, "".join(new[j1:j2])))
    return removed, added


def waited_for(waited: dt.timedelta) -> str:
    """How long a submission has waited, in the unit a reviewer counts in."""
    if waited.days >= 1:
        return ngettext("%(count)d day", "%(count)d days", waited.days) % {"count": waited.days}
    hours = waited.seconds // 3600
    if hours >= 1:
        return ngettext("%(count)d hour", "%(count)d hours", hours) % {"count": hours}
    return str(_("less than an hour"))


__all__ = [
    "ReviewDecisionKind",
    "Transition",
    "Workflow",
    "history_in_words",
    "inline_diff",
    "waited_for",
]
