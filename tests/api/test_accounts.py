"""The caller's own account: /me/ and personal tokens."""

import datetime as dt

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import PersonalToken
from accounts.services import token_create
from qualitymonth.models import AuditLogEntry
from tests import factories

from .world import client_as, in_a_year, representative_of, reviewer_for, staff_of

pytestmark = pytest.mark.django_db


# --- /me/ --------------------------------------------------------------------------------------

def test_me_shows_email_name_language_and_no_roles_for_a_plain_person(db):
    person = factories.UserFactory(
        email="wang.fang@example.cn", full_name="王芳", preferred_language="en"
    )

    body = client_as(person).get("/api/v1/me/").json()

    assert body == {
        "id": person.pk,
        "email": "wang.fang@example.cn",
        "full_name": "王芳",
        "preferred_language": "en",
        "roles": [],
    }


def test_me_shows_every_role_in_words_and_ids(world):
    person = staff_of(world.gz_amr)
    factories.ReviewerAssignmentFactory(user=person, region=world.guangdong)
    enterprise = factories.EnterpriseFactory(name="广州质量科技有限公司", region=world.guangzhou)
    factories.EnterpriseRepresentativeFactory(user=person, enterprise=enterprise)
    person.preferred_language = "en"
    person.save()

    roles = client_as(person).get("/api/v1/me/").json()["roles"]

    assert roles == [
        {
            "code": "reviewer",
            "label": "Reviewer for Guangdong and everything under it",
            "region": "440000",
            "department": None,
            "enterprise": None,
        },
        {
            "code": "department_staff",
            "label": "Staff of Guangzhou Administration for Market Regulation",
            "region": None,
            "department": world.gz_amr.pk,
            "enterprise": None,
        },
        {
            "code": "enterprise_representative",
            "label": "Representative of 广州质量科技有限公司",
            "region": None,
            "department": None,
            "enterprise": enterprise.pk,
        },
    ]


def test_me_shows_administrators_and_national_reviewers(db):
    admin = factories.AdminFactory()
    factories.ReviewerAssignmentFactory(user=admin, region=None)

    roles = client_as(admin).get("/api/v1/me/", HTTP_ACCEPT_LANGUAGE="en").json()["roles"]

    assert [r["code"] for r in roles] == ["platform_admin", "reviewer"]
    assert roles[1]["region"] is None


def test_me_speaks_chinese_to_chinese_readers(world):
    person = reviewer_for(world.guangdong)

    roles = client_as(person).get("/api/v1/me/").json()["roles"]

    assert "广东省" in roles[0]["label"]


# --- listing tokens ----------------------------------------------------------------------------

def test_tokens_lists_only_my_own_and_never_their_secrets(db):
    me, other = factories.UserFactory(), factories.UserFactory()
    mine, key = token_create(user=me, name="统计脚本")
    token_create(user=other, name="别人的")

    response = client_as(me).get("/api/v1/tokens/")

    assert response.status_code == 200
    [row] = response.json()
    assert row["id"] == mine.pk
    assert row["name"] == "统计脚本"
    assert row["prefix"] == key[:9]
    assert row["is_usable"] is True
    assert "key" not in row
    assert "key_hash" not in row
    assert key not in response.content.decode()
    assert mine.key_hash not in response.content.decode()


def test_revoked_and_expired_tokens_are_listed_as_unusable(db):
    me = factories.UserFactory()
    tomorrow = timezone.now() + dt.timedelta(days=1)
    token, _key = token_create(user=me, name="过期", expires_at=tomorrow)
    yesterday = timezone.now() - dt.timedelta(days=1)
    PersonalToken.objects.filter(pk=token.pk).update(expires_at=yesterday)

    [row] = client_as(me).get("/api/v1/tokens/").json()

    assert row["is_usable"] is False


def test_another_persons_token_is_404(db):
    me, other = factories.UserFactory(), factories.UserFactory()
    theirs, _key = token_create(user=other, name="别人的")
    client = client_as(me)

    assert client.get(f"/api/v1/tokens/{theirs.pk}/").status_code == 404
    assert client.delete(f"/api/v1/tokens/{theirs.pk}/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.revoked_at is None


def test_tokens_need_authentication(api):
    assert api.get("/api/v1/tokens/").status_code == 401
    assert api.post("/api/v1/tokens/", {"name": "x"}).status_code == 401


# --- creating tokens ---------------------------------------------------------------------------

def test_creating_a_token_shows_its_key_once(db):
    me = factories.UserFactory()
    client = client_as(me)

    response = client.post(
        "/api/v1/tokens/",
        {"name": " 年度统计导出 ", "expires_at": in_a_year().isoformat()},
        format="json",
    )

    assert response.status_code == 201
    body = response.json()
    assert body["name"] == "年度统计导出"
    assert body["key"].startswith("qm_")
    assert body["prefix"] == body["key"][:9]
    assert body["expires_at"] is not None
    token = PersonalToken.objects.get(pk=body["id"])
    assert token.user == me
    assert token.key_hash == PersonalToken.hash_key(body["key"])
    # the key works ...
    with_key = APIClient()
    with_key.credentials(HTTP_AUTHORIZATION=f"Token {body['key']}")
    assert with_key.get("/api/v1/me/").json()["email"] == me.email
    # ... and is never shown again
    assert body["key"] not in client.get("/api/v1/tokens/").content.decode()
    assert body["key"] not in client.get(f"/api/v1/tokens/{token.pk}/").content.decode()


def test_creating_a_token_writes_the_audit_log(db):
    me = factories.UserFactory()

    response = client_as(me).post("/api/v1/tokens/", {"name": "统计脚本"}, format="json")

    entry = AuditLogEntry.objects.get(action="accounts.token.created")
    assert entry.actor == me
    assert entry.object_id == str(response.json()["id"])
    assert entry.changes == {"name": "统计脚本"}
    assert entry.ip_address == "127.0.0.1"
    assert response.json()["key"] not in str(entry.changes)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": "   "}, "name"),
        ({}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": "过去", "expires_at": "2020-01-01T00:00:00+08:00"}, "expires_at"),
    ],
)
def test_creating_a_token_validates_its_input(db, payload, field):
    me = factories.UserFactory()

    response = client_as(me).post("/api/v1/tokens/", payload, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert not PersonalToken.objects.exists()


def test_a_token_cannot_create_further_tokens(db):
    me = factories.UserFactory()
    _token, key = token_create(user=me, name="脚本")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")

    response = client.post("/api/v1/tokens/", {"name": "再来一个"}, format="json")

    assert response.status_code == 403
    assert PersonalToken.objects.filter(user=me).count() == 1
    # listing works with a token
    assert len(client.get("/api/v1/tokens/").json()) == 1


def test_the_schema_documents_the_token_policy(api):
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()

    create = schema["paths"]["/api/v1/tokens/"]["post"]
    assert create["security"] == [{"cookieAuth": []}]
    assert "不能再创建其他令牌" in create["description"]  # the schema speaks Chinese by default


# --- revoking tokens ---------------------------------------------------------------------------

def test_revoking_a_token_stops_it_and_writes_the_audit_log(db):
    me = factories.UserFactory()
    token, key = token_create(user=me, name="脚本")
    client = client_as(me)

    response = client.delete(f"/api/v1/tokens/{token.pk}/")

    assert response.status_code == 204
    token.refresh_from_db()
    assert token.revoked_at is not None
    entry = AuditLogEntry.objects.get(action="accounts.token.revoked")
    assert entry.actor == me
    assert entry.object_id == str(token.pk)
    [row] = client.get("/api/v1/tokens/").json()
    assert row["revoked_at"] is not None
    assert row["is_usable"] is False
    with_key = APIClient()
    with_key.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert with_key.get("/api/v1/me/").status_code == 401


def test_revoking_twice_is_harmless_and_logged_once(db):
    me = factories.UserFactory()
    token, _key = token_create(user=me, name="脚本")
    client = client_as(me)

    assert client.delete(f"/api/v1/tokens/{token.pk}/").status_code == 204
    assert client.delete(f"/api/v1/tokens/{token.pk}/").status_code == 204
    assert AuditLogEntry.objects.filter(action="accounts.token.revoked").count() == 1


def test_a_token_may_revoke_itself(db):
    me = factories.UserFactory()
    token, key = token_create(user=me, name="脚本")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")

    assert client.delete(f"/api/v1/tokens/{token.pk}/").status_code == 204
    assert client.get("/api/v1/me/").status_code == 401


def test_representatives_manage_tokens_like_everyone(world):
    person = representative_of(factories.EnterpriseFactory(region=world.guangzhou))

    response = client_as(person).post("/api/v1/tokens/", {"name": "对接"}, format="json")

    assert response.status_code == 201
