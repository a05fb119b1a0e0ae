"""The current campaign, shown in every page's header, is cached and forgotten on change."""

import pytest
from django.core.cache import cache

from activities.selectors import campaign_current
from tests import factories

pytestmark = pytest.mark.django_db


def test_the_current_campaign_is_cached_and_forgotten_when_a_campaign_changes(
    settings, django_assert_num_queries
):
    settings.CURRENT_CAMPAIGN_CACHE_SECONDS = 60
    cache.clear()
    campaign = factories.CampaignFactory(year=2031)
    assert campaign_current() == campaign
    with django_assert_num_queries(0):
        assert campaign_current() == campaign  # every page's header, without a query

    newer = factories.CampaignFactory(year=2032)  # saving a campaign drops the cache
    assert campaign_current() == newer
    newer.delete()
    assert campaign_current() == campaign
    cache.clear()
