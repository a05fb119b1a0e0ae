"""Signals the activities app sends, so that upper layers (registrations) can react without the
activities app importing them."""

from django.dispatch import Signal

# Sent inside the transaction that cancels a published activity, after its status is saved.
# Arguments: activity (the cancelled Activity), actor (who cancelled it), reason (str).
activity_cancelled = Signal()
