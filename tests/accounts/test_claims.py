"""Claiming an enterprise: the first verified representative of a credit code holds it."""

import pytest
from django.core import mail
from django.urls import reverse

from accounts import services
from accounts.enums import RepresentationStatus
from accounts.models import EnterpriseRepresentative
from qualitymonth.errors import DomainError, IllegalTransition, NotAllowed
from qualitymonth.models import AuditLogEntry
from registrations.models import Enterprise
from tests import factories

from .links import link_in

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _pages_in_english(client):
    """Pages speak English here, so the assertions hold once Chinese translations exist."""
    client.cookies["django_language"] = "en"


@pytest.fixture
def region():
    return factories.ProvinceFactory(code="330000", name_zh="浙江省", name_en="Zhejiang")


def details(region, uscc, **overrides):
    data = {
        "uscc": uscc,
        "name": "杭州质量电器有限公司",
        "region": region,
        "industry": "C",
        "size": "medium",
        "address": "",
        "contact_name": "周经理",
        "mobile": "13900139000",
        "email": "office@hz.example.cn",
    }
    data.update(overrides)
    return data


@pytest.fixture
def uscc():
    return factories.valid_uscc("330000")


@pytest.fixture
def holder(region, uscc, django_capture_on_commit_callbacks):
    person = factories.UserFactory(preferred_language="en")
    with django_capture_on_commit_callbacks(execute=True):
        services.enterprise_claim_submit(person, details=details(region, uscc), actor=person)
    mail.outbox.clear()
    return person


def claim(person, region, uscc, capture, **overrides):
    with capture(execute=True):
        return services.enterprise_claim_submit(
            person, details=details(region, uscc, **overrides), actor=person
        )


def test_the_first_verified_claimant_holds_a_new_enterprise(
    region, uscc, django_capture_on_commit_callbacks
):
    person = factories.UserFactory()
    representation = claim(person, region, uscc, django_capture_on_commit_callbacks)
    assert representation.status == RepresentationStatus.APPROVED
    assert representation.enterprise.uscc == uscc
    assert person.has_perm("registrations.manage_representatives", representation.enterprise)
    assert (
        AuditLogEntry.objects.for_object(representation.enterprise)
        .filter(action="registrations.enterprise.created")
        .exists()
    )
    assert [m.to for m in mail.outbox] == [[person.email]]


def test_a_later_claim_waits_and_both_are_told(
    holder, region, uscc, django_capture_on_commit_callbacks
):
    claimant = factories.UserFactory(preferred_language="zh-hans", full_name="冒名者")
    representation = claim(
        claimant, region, uscc, django_capture_on_commit_callbacks, name="Another name"
    )
    assert representation.status == RepresentationStatus.PENDING
    assert representation.enterprise.name == "杭州质量电器有限公司"  # the record stays
    assert Enterprise.objects.filter(uscc=uscc).count() == 1
    assert not claimant.has_perm("registrations.manage_representatives", representation.enterprise)
    by_recipient = {m.to[0]: m for m in mail.outbox}
    assert set(by_recipient) == {holder.email, claimant.email}
    holder_mail = by_recipient[holder.email]
    assert "冒名者" in holder_mail.body
    assert holder_mail.extra_headers["Content-Language"] == "en"
    assert by_recipient[claimant.email].extra_headers["Content-Language"] == "zh-hans"
    path = link_in(holder_mail, "/accounts/enterprises/")
    assert path == reverse(
        "accounts:enterprise_representatives", args=[representation.enterprise_id]
    )


def test_an_unverified_person_cannot_claim(region, uscc):
    person = factories.UserFactory(email_verified_at=None)
    with pytest.raises(DomainError):
        services.enterprise_claim_submit(person, details=details(region, uscc), actor=person)
    assert not Enterprise.objects.filter(uscc=uscc).exists()


def test_an_unverified_first_signup_does_not_block_a_verified_one(
    client, region, uscc, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = services.enterprise_signup(
            email="first@example.cn",
            password="Quality-Month-2024!",
            full_name="先注册",
            preferred_language="zh-hans",
            enterprise=details(region, uscc, name="先到者公司"),
        )
        second = services.enterprise_signup(
            email="second@example.cn",
            password="Quality-Month-2024!",
            full_name="后注册",
            preferred_language="zh-hans",
            enterprise=details(region, uscc, name="后到者公司"),
        )
    second_link = link_in(mail.outbox[1], "/accounts/verify/")
    first_link = link_in(mail.outbox[0], "/accounts/verify/")
    # The second verifies first: they hold the enterprise, with the details they typed.
    with django_capture_on_commit_callbacks(execute=True):
        client.post(second_link)
    held = EnterpriseRepresentative.objects.get(user=second)
    assert held.status == RepresentationStatus.APPROVED
    assert held.enterprise.name == "后到者公司"
    # The first verifies later: their claim waits.
    client.logout()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(first_link)
    waiting = EnterpriseRepresentative.objects.get(user=first)
    assert waiting.status == RepresentationStatus.PENDING
    assert waiting.enterprise == held.enterprise


def test_a_known_code_without_a_representative_goes_to_the_first_verified_claimant(
    region, django_capture_on_commit_callbacks
):
    enterprise = factories.EnterpriseFactory(region=region)  # e.g. imported by an administrator
    person = factories.UserFactory()
    representation = claim(person, region, enterprise.uscc, django_capture_on_commit_callbacks)
    assert representation.status == RepresentationStatus.APPROVED
    assert representation.enterprise == enterprise


def test_one_person_represents_one_enterprise(holder, region, django_capture_on_commit_callbacks):
    with pytest.raises(DomainError):
        claim(holder, region, factories.valid_uscc("330000"), django_capture_on_commit_callbacks)


def test_the_holder_approves_from_their_page(
    client, holder, region, uscc, django_capture_on_commit_callbacks
):
    claimant = factories.UserFactory(full_name="新同事", preferred_language="en")
    pending = claim(claimant, region, uscc, django_capture_on_commit_callbacks)
    mail.outbox.clear()
    client.force_login(holder)
    page = client.get(reverse("accounts:my_enterprise"))
    assert "新同事" in page.content.decode()
    approve = reverse("accounts:claim_approve", args=[pending.pk])
    assert approve in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(approve)
    assert response.status_code == 302
    pending.refresh_from_db()
    assert pending.status == RepresentationStatus.APPROVED
    assert pending.decided_by == holder
    (message,) = mail.outbox
    assert message.to == [claimant.email]
    assert "approved" in message.body
    assert (
        AuditLogEntry.objects.for_object(pending)
        .filter(action="accounts.representative.approved", actor=holder)
        .exists()
    )


def test_an_administrator_approves_from_the_claims_page(
    client, holder, region, uscc, django_capture_on_commit_callbacks
):
    claimant = factories.UserFactory()
    pending = claim(claimant, region, uscc, django_capture_on_commit_callbacks)
    admin = factories.AdminFactory()
    client.force_login(admin)
    page = client.get(reverse("accounts:claim_list"))
    assert claimant.email in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("accounts:claim_approve", args=[pending.pk]),
            {"next": reverse("accounts:claim_list")},
        )
    assert response["Location"] == reverse("accounts:claim_list")
    pending.refresh_from_db()
    assert pending.status == RepresentationStatus.APPROVED
    assert pending.decided_by == admin


def test_rejection_needs_a_reason_and_tells_the_claimant(
    client, holder, region, uscc, django_capture_on_commit_callbacks
):
    claimant = factories.UserFactory(preferred_language="en")
    pending = claim(claimant, region, uscc, django_capture_on_commit_callbacks)
    mail.outbox.clear()
    client.force_login(holder)
    reject = reverse("accounts:claim_reject", args=[pending.pk])
    response = client.post(reject, {"reason": "  "}, follow=True)
    assert "Give a reason" in response.content.decode()
    pending.refresh_from_db()
    assert pending.status == RepresentationStatus.PENDING

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reject, {"reason": "Not one of our employees."})
    pending.refresh_from_db()
    assert pending.status == RepresentationStatus.REJECTED
    assert pending.reason == "Not one of our employees."
    (message,) = mail.outbox
    assert message.to == [claimant.email]
    assert "Not one of our employees." in message.body
    entry = AuditLogEntry.objects.for_object(pending).get(action="accounts.representative.rejected")
    assert entry.comment == "Not one of our employees."

    # The claimant sees it, and may claim again.
    client.force_login(claimant)
    assert (
        "Not one of our employees."
        in client.get(reverse("accounts:my_enterprise")).content.decode()
    )


def test_a_decided_claim_cannot_be_decided_again(
    holder, region, uscc, django_capture_on_commit_callbacks
):
    pending = claim(factories.UserFactory(), region, uscc, django_capture_on_commit_callbacks)
    services.enterprise_claim_reject(pending, actor=holder, reason="No.")
    with pytest.raises(IllegalTransition):
        services.enterprise_claim_approve(pending, actor=holder)


def test_strangers_cannot_decide_claims(
    client, holder, region, uscc, django_capture_on_commit_callbacks
):
    pending = claim(factories.UserFactory(), region, uscc, django_capture_on_commit_callbacks)
    stranger = factories.EnterpriseRepresentativeFactory().user  # holds another enterprise
    with pytest.raises(NotAllowed):
        services.enterprise_claim_approve(pending, actor=stranger)
    client.force_login(stranger)
    assert client.post(reverse("accounts:claim_approve", args=[pending.pk])).status_code == 404
    assert (
        client.get(
            reverse("accounts:enterprise_representatives", args=[pending.enterprise_id])
        ).status_code
        == 404
    )
    assert client.get(reverse("accounts:claim_list")).status_code == 403
    # Nor may the claimant approve themselves.
    client.force_login(pending.user)
    assert client.post(reverse("accounts:claim_approve", args=[pending.pk])).status_code == 404
    pending.refresh_from_db()
    assert pending.status == RepresentationStatus.PENDING


def test_a_claimant_withdraws_their_waiting_claim(
    client, holder, region, uscc, django_capture_on_commit_callbacks
):
    claimant = factories.UserFactory()
    pending = claim(claimant, region, uscc, django_capture_on_commit_callbacks)
    client.force_login(claimant)
    client.post(reverse("accounts:claim_withdraw", args=[pending.pk]))
    pending.refresh_from_db()
    assert pending.status == RepresentationStatus.REVOKED
    assert (
        AuditLogEntry.objects.for_object(pending)
        .filter(action="accounts.representative.withdrawn")
        .exists()
    )


def test_a_holder_removes_a_representative_who_is_told(
    client, holder, region, uscc, django_capture_on_commit_callbacks
):
    colleague = factories.UserFactory()
    representation = claim(colleague, region, uscc, django_capture_on_commit_callbacks)
    services.enterprise_claim_approve(representation, actor=holder)
    mail.outbox.clear()
    client.force_login(holder)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("accounts:representative_remove", args=[representation.pk]))
    representation.refresh_from_db()
    assert representation.status == RepresentationStatus.REVOKED
    assert [m.to for m in mail.outbox] == [[colleague.email]]


def test_claim_page_for_a_verified_account(
    client, region, uscc, django_capture_on_commit_callbacks
):
    person = factories.UserFactory()
    client.force_login(person)
    assert client.get(reverse("accounts:my_enterprise")).status_code == 200
    data = {
        "uscc": uscc,
        "name": "宁波质量公司",
        "region": region.pk,
        "industry": "C",
        "size": "small",
        "contact_name": "张",
        "mobile": "13700137000",
        "email": "nb@example.cn",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("accounts:enterprise_claim"), data)
    assert response["Location"] == reverse("accounts:my_enterprise")
    assert EnterpriseRepresentative.objects.get(user=person).status == RepresentationStatus.APPROVED


def test_claims_page_queries_do_not_grow_with_claims(client, region):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(factories.AdminFactory())

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("accounts:claim_list")).status_code == 200
        return len(captured)

    factories.EnterpriseRepresentativeFactory(status=RepresentationStatus.PENDING)
    with_one = queries()
    factories.EnterpriseRepresentativeFactory.create_batch(2, status=RepresentationStatus.PENDING)
    assert queries() == with_one
