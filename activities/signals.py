"""Signals the activities app sends, so that upper layers (registrations) can react without the
activities app importing them; and the app's own receivers."""

from django.core.cache import cache
from django.db.models.signals import post_delete, post_save
from django.dispatch import Signal, receiver

# Sent inside the transaction that cancels a published activity, after its status is saved.
# Arguments: activity (the cancelled Activity), actor (who cancelled it), reason (str).
activity_cancelled = Signal()


@receiver([post_save, post_delete], sender="activities.Campaign")
def forget_current_campaign(**kwargs):
    """A changed campaign may change which one is current, or its name and theme."""
    from .selectors import CURRENT_CAMPAIGN_CACHE_KEY

    cache.delete(CURRENT_CAMPAIGN_CACHE_KEY)


@receiver(post_save, sender="activities.Activity")
@receiver(activity_cancelled)
def forget_activity_page(sender=None, instance=None, activity=None, **kwargs):
    """An activity's page kept for anonymous visitors shows it as it was: drop it when the
    activity is saved or cancelled (places left may lag PUBLIC_DETAIL_CACHE_SECONDS)."""
    from django.conf import settings

    from .public_views import detail_cache_key

    target = instance or activity
    if target is not None and target.pk is not None:
        cache.delete_many([detail_cache_key(target.pk, code) for code, _name in settings.LANGUAGES])
