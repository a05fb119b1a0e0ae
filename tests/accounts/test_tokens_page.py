import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import PersonalToken
from accounts.services import token_create
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _pages_in_english(client):
    """Pages speak English here, so the assertions hold once Chinese translations exist."""
    client.cookies["django_language"] = "en"


@pytest.fixture
def person(client):
    user = factories.UserFactory(preferred_language="en")
    client.force_login(user)
    return user


def test_the_tokens_page_needs_a_login(client):
    assert client.get(reverse("accounts:token_list")).status_code == 302


def test_create_a_token_whose_key_is_shown_once(client, person):
    response = client.post(
        reverse("accounts:token_create"), {"name": "statistics export", "lifetime": "30"}
    )
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    key = response.context["new_key"]
    assert key in response.content.decode()
    token = PersonalToken.objects.get(user=person)
    assert token.name == "statistics export"
    assert token.key_hash == PersonalToken.hash_key(key)
    assert key.startswith(token.prefix)
    assert dt.timedelta(days=29) < token.expires_at - timezone.now() <= dt.timedelta(days=30)

    # The key works with the API...
    api = client.__class__()
    assert api.get("/api/v1/", HTTP_AUTHORIZATION=f"Token {key}").status_code != 401
    # ...and is never shown again.
    listing = client.get(reverse("accounts:token_list")).content.decode()
    assert key not in listing
    assert "statistics export" in listing
    assert token.prefix in listing


def test_a_token_needs_a_name(client, person):
    response = client.post(reverse("accounts:token_create"), {"name": "", "lifetime": "never"})
    assert response.status_code == 200
    assert "name" in response.context["form"].errors
    assert not PersonalToken.objects.exists()


def test_the_list_shows_own_tokens_with_their_dates(client, person):
    token, _key = token_create(user=person, name="mine")
    PersonalToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
    token_create(user=factories.UserFactory(), name="someone else's")
    html = client.get(reverse("accounts:token_list")).content.decode()
    assert "mine" in html
    assert "someone else&#x27;s" not in html and "someone else's" not in html
    assert "never" in html  # it does not expire


def test_revoke_an_own_token(client, person):
    token, key = token_create(user=person, name="old script")
    response = client.post(reverse("accounts:token_revoke", args=[token.pk]))
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert "revoked" in client.get(reverse("accounts:token_list")).content.decode()
    api = client.__class__()
    assert api.get("/api/v1/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 401


def test_another_persons_token_is_not_found(client, person):
    other, _key = token_create(user=factories.UserFactory(), name="theirs")
    assert client.post(reverse("accounts:token_revoke", args=[other.pk])).status_code == 404
    other.refresh_from_db()
    assert other.revoked_at is None


def test_revoking_needs_post(client, person):
    token, _key = token_create(user=person, name="x")
    assert client.get(reverse("accounts:token_revoke", args=[token.pk])).status_code == 405
