"""Personal data requests of a person or an enterprise: export them, or delete (anonymise) them."""

import json
import os

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError

from qualitymonth.errors import DomainError
from registrations.retention import (
    personal_data_delete,
    personal_data_export,
    personal_data_subject,
)


class Command(BaseCommand):
    help = (
        "Personal data requests (docs/privacy.md). `personal_data export <email or credit code>` "
        "prints everything the portal holds about the person or the enterprise as JSON; "
        "`personal_data delete <email or credit code> --reason ...` anonymises it, keeping the "
        "statistics. Both are recorded in the audit log without the data."
    )

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["export", "delete"])
        parser.add_argument(
            "subject",
            help="A person's email address or an enterprise's Unified Social Credit Code.",
        )
        parser.add_argument(
            "--reason", default="", help="Why (e.g. the request's reference); needed to delete."
        )
        parser.add_argument(
            "--actor", metavar="EMAIL", help="The administrator recorded in the audit log."
        )
        parser.add_argument(
            "--output", metavar="FILE", help="Export: write the JSON to this file (mode 600)."
        )
        parser.add_argument(
            "--yes", action="store_true", help="Delete without asking for confirmation."
        )

    def handle(self, *args, action, subject, reason, actor=None, output=None, yes=False, **opts):
        user = None
        if actor:
            user = get_user_model().objects.filter(email__iexact=actor).first()
            if user is None:
                raise CommandError(f"No user with the email address {actor}.")
        try:
            found = personal_data_subject(subject)
            if action == "export":
                self._export(found, user, reason, output)
            else:
                self._delete(found, user, reason, yes)
        except (DomainError, PermissionDenied) as exc:
            raise CommandError(str(exc)) from exc

    def _export(self, subject, actor, reason, output):
        data = personal_data_export(subject, actor=actor, reason=reason)
        text = json.dumps(data, ensure_ascii=False, indent=1) + "\n"
        if not output:
            self.stdout.write(text, ending="")
            return
        descriptor = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as f:
            f.write(text)
        self.stdout.write(self.style.SUCCESS(f"Personal data of {subject} written to {output}."))

    def _delete(self, subject, actor, reason, yes):
        if not reason.strip():
            raise CommandError("Say why with --reason (e.g. the request's reference).")
        if not yes:
            try:
                answer = input(
                    f"Anonymise the personal data of {subject}? This cannot be undone. "
                    "Type 'yes' to continue: "
                )
            except EOFError:
                answer = ""
            if answer.strip().lower() != "yes":
                raise CommandError("Nothing was deleted.")
        described = str(subject)
        erasure = personal_data_delete(subject, actor=actor, reason=reason)
        counts = ", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in erasure.as_dict().items())
        self.stdout.write(
            self.style.SUCCESS(
                f"Personal data of {described} anonymised ({counts or 'nothing left'})."
            )
        )
