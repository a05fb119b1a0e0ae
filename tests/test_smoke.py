import pytest

from tests import factories


@pytest.mark.django_db
def test_factories_build_a_consistent_world():
    registration = factories.RegistrationFactory()
    assert registration.activity.key_arrangement.campaign == registration.activity.campaign
    assert registration.enterprise.uscc
