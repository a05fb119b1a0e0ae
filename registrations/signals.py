"""How registrations react to what happens to activities (the lower layer sends, we listen)."""

from django.dispatch import receiver

from activities.signals import activity_cancelled


@receiver(activity_cancelled, dispatch_uid="registrations.cancel_with_activity")
def cancel_registrations_with_activity(sender, activity, actor, reason, **kwargs):
    """A cancelled activity cancels its registrations and tells their enterprises why."""
    from .services import registrations_cancel_with_activity

    registrations_cancel_with_activity(activity, actor=actor, reason=reason)
