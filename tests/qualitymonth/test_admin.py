"""The site administration: every model in it, usable pages, audited changes, a read-only log."""

import pytest
from django.apps import apps
from django.contrib import admin
from django.db import connection
from django.forms import MultiWidget
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts import services as account_services
from accounts.enums import RepresentationStatus
from accounts.models import (
    DepartmentMembership,
    EnterpriseRepresentative,
    EnterpriseSignup,
    PersonalToken,
    ReviewerAssignment,
    User,
)
from activities.models import Activity, ActivityImport, Campaign
from feedback.models import (
    FeedbackMedia,
    FeedbackReminder,
    FeedbackReport,
    FeedbackUpload,
    TypicalCase,
)
from qualitymonth.audit import audit_log
from qualitymonth.models import AuditLogEntry, IdempotencyKey, ReviewDecision
from registrations.models import (
    Attendee,
    FeeComplaint,
    FeeComplaintEvidence,
    Registration,
    RegistrationNotice,
)
from tests import factories

PORTAL_APPS = ("qualitymonth", "accounts", "activities", "registrations", "feedback")
PORTAL_MODELS = [m for label in PORTAL_APPS for m in apps.get_app_config(label).get_models()]
# What the admin only shows: written by the portal's workflows, never typed in here.
NO_ADD = {
    AuditLogEntry,
    PersonalToken,
    Registration,
    Attendee,
    EnterpriseRepresentative,
    EnterpriseSignup,
    ReviewDecision,
    ActivityImport,
    FeeComplaint,  # reports come from the public form; handled on the portal's complaint page
    FeeComplaintEvidence,
    RegistrationNotice,  # written with the change it reports, sent by the portal
    # Feedback: started by departments, files through the checked upload, records of the rest.
    FeedbackReport,
    TypicalCase,
    FeedbackMedia,
    FeedbackUpload,
    FeedbackReminder,
    IdempotencyKey,  # written by the API's idempotent sign-up
}


def admin_url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def form_data(response) -> dict:
    """The POST data of an admin change form as the browser would send it unchanged."""
    data = {}

    def add(form):
        for name, field in form.fields.items():
            if field.disabled:
                continue
            value = form[name].value()
            key = form.add_prefix(name)
            if value is None or value is False:
                continue
            if isinstance(field.widget, MultiWidget):  # e.g. the admin's split date and time
                for index, part in enumerate(field.widget.decompress(value)):
                    data[f"{key}_{index}"] = "" if part is None else str(part)
                continue
            if value is True:
                data[key] = "on"
            elif isinstance(value, list | tuple):
                data[key] = [str(v) for v in value]
            else:
                data[key] = str(value)

    add(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        add(formset.management_form)
        for form in formset.forms:
            add(form)
    return data


@pytest.fixture
def superuser(client):
    user = factories.AdminFactory(email="admin@samr.example.cn")
    client.force_login(user)
    return user


@pytest.fixture
def one_of_each(superuser):
    """At least one row of every model, so change pages and list columns have something to show."""
    registration = factories.RegistrationFactory()
    factories.AttendeeFactory(registration=registration)
    activity = registration.activity
    activity.content_areas.add(factories.ContentAreaFactory(campaign=activity.campaign))
    factories.DepartmentMembershipFactory()
    factories.ReviewerAssignmentFactory()
    factories.EnterpriseRepresentativeFactory(enterprise=registration.enterprise)
    account_services.token_create(user=superuser, name="数据同步")
    EnterpriseSignup.objects.create(
        user=factories.UserFactory(), uscc="91110000100000000X", details={"name": "待验证公司"}
    )
    factories.CityFactory()
    return registration


def test_every_portal_model_is_in_the_admin():
    missing = [m.__name__ for m in PORTAL_MODELS if not admin.site.is_registered(m)]
    assert missing == []


@pytest.mark.django_db
@pytest.mark.parametrize("model", PORTAL_MODELS, ids=lambda m: m.__name__)
def test_changelist_search_add_and_change_pages_load(client, one_of_each, model):
    assert client.get(admin_url(model, "changelist")).status_code == 200
    assert client.get(admin_url(model, "changelist"), {"q": "质量"}).status_code == 200
    obj = model._default_manager.first()
    if obj is not None:
        assert client.get(admin_url(model, "change", obj.pk)).status_code == 200
    expected = 403 if model in NO_ADD else 200
    assert client.get(admin_url(model, "add")).status_code == expected


@pytest.mark.django_db
def test_admin_speaks_the_chosen_language(client, superuser):
    assert "质量月后台管理" in client.get(reverse("admin:index")).content.decode()
    client.cookies["django_language"] = "en"
    html = client.get(reverse("admin:index")).content.decode()
    assert '<html lang="en"' in html
    assert "Campaign data, accounts and the audit log" in html


@pytest.mark.django_db
def test_people_without_admin_rights_are_sent_to_log_in(client):
    client.force_login(factories.UserFactory())
    response = client.get(admin_url(Activity, "changelist"))
    assert response.status_code == 302
    assert reverse("admin:login") in response.url


# --- changelists do not grow with the number of rows ------------------------------------------


def _changelist_queries(client, model) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(admin_url(model, "changelist")).status_code == 200
    return len(queries)


def _grow(model):
    if model is Activity:
        factories.ActivityFactory()
    elif model is Registration:
        factories.RegistrationFactory()
    elif model is User:
        factories.DepartmentMembershipFactory()
        factories.ReviewerAssignmentFactory(region=factories.ProvinceFactory())
        factories.EnterpriseRepresentativeFactory()
    elif model is EnterpriseRepresentative:
        factories.EnterpriseRepresentativeFactory()
    elif model is DepartmentMembership:
        factories.DepartmentMembershipFactory()
    elif model is AuditLogEntry:
        audit_log(factories.ActivityFactory(), "activities.activity.probe")
    elif model is RegistrationNotice:
        RegistrationNotice.objects.create(
            registration=factories.RegistrationFactory(), template="registration_confirmed"
        )


@pytest.mark.django_db
@pytest.mark.parametrize(
    "model",
    [
        Activity,
        Registration,
        User,
        EnterpriseRepresentative,
        DepartmentMembership,
        AuditLogEntry,
        RegistrationNotice,
    ],
    ids=lambda m: m.__name__,
)
def test_changelist_query_count_is_constant(client, superuser, model):
    _grow(model)
    with_one = _changelist_queries(client, model)
    _grow(model)
    _grow(model)
    assert _changelist_queries(client, model) == with_one


# --- the audit log is read-only ---------------------------------------------------------------


@pytest.mark.django_db
def test_audit_log_admin_refuses_add_change_and_delete(client, superuser, rf):
    campaign = factories.CampaignFactory()
    entry = audit_log(campaign, "activities.campaign.probe", actor=superuser)
    model_admin = admin.site._registry[AuditLogEntry]
    request = rf.get("/")
    request.user = superuser

    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, entry)
    assert not model_admin.has_delete_permission(request, entry)
    assert client.get(admin_url(AuditLogEntry, "add")).status_code == 403
    assert client.get(admin_url(AuditLogEntry, "delete", entry.pk)).status_code == 403
    refused = client.post(admin_url(AuditLogEntry, "delete", entry.pk), {"post": "yes"})
    assert refused.status_code == 403
    client.post(admin_url(AuditLogEntry, "change", entry.pk), {"action": "changed"})
    changelist = client.get(admin_url(AuditLogEntry, "changelist")).content.decode()
    assert "delete_selected" not in changelist

    entry.refresh_from_db()
    assert entry.action == "activities.campaign.probe"
    # The entry's page shows it, with no button to save or delete.
    page = client.get(admin_url(AuditLogEntry, "change", entry.pk)).content.decode()
    assert "activities.campaign.probe" in page
    assert 'name="_save"' not in page
    assert admin_url(AuditLogEntry, "delete", entry.pk) not in page


@pytest.mark.django_db
def test_audit_log_admin_filters_and_searches(client, superuser):
    campaign = factories.CampaignFactory(name_zh="二〇三〇年质量月")
    audit_log(campaign, "activities.campaign.opened", actor=superuser)
    audit_log(factories.ActivityFactory(title="检验检测开放日"), "activities.activity.approved")
    url = admin_url(AuditLogEntry, "changelist")

    def shown(**query):
        return {e.action for e in client.get(url, query).context["cl"].result_list}

    assert shown(action="activities.campaign.opened") == {"activities.campaign.opened"}
    assert shown(q="检验检测") == {"activities.activity.approved"}
    assert shown(q="admin@samr") == {"activities.campaign.opened"}
    assert shown() == {"activities.campaign.opened", "activities.activity.approved"}


# --- admin changes are audited ----------------------------------------------------------------


@pytest.mark.django_db
def test_changing_a_campaign_in_the_admin_writes_the_audit_log(client, superuser):
    campaign = factories.CampaignFactory(theme_zh="旧主题")
    factories.KeyArrangementFactory(campaign=campaign, number=1, title_zh="旧安排")
    page = client.get(admin_url(Campaign, "change", campaign.pk))
    data = form_data(page)
    data["theme_zh"] = "新主题"
    data["key_arrangements-0-title_zh"] = "新安排"

    response = client.post(admin_url(Campaign, "change", campaign.pk), data)

    assert response.status_code == 302, response.context["errors"] if response.context else ""
    changed = AuditLogEntry.objects.get(action="activities.campaign.changed")
    assert changed.actor == superuser
    assert changed.changes == {"theme_zh": ["旧主题", "新主题"]}
    arrangement = AuditLogEntry.objects.get(action="activities.keyarrangement.changed")
    assert arrangement.changes == {"title_zh": ["旧安排", "新安排"]}


@pytest.mark.django_db
def test_adding_and_deleting_in_the_admin_writes_the_audit_log(client, superuser):
    province = factories.ProvinceFactory(code="440000")
    response = client.post(
        admin_url(factories.Region, "add"),
        {"code": "440100", "name_zh": "广州市", "name_en": "Guangzhou", "level": "city",
         "parent": province.pk},
    )
    assert response.status_code == 302
    city = factories.Region.objects.get(code="440100")
    created = AuditLogEntry.objects.get(action="activities.region.created")
    assert created.object_id == str(city.pk)
    assert created.changes["name_zh"] == [None, "广州市"]

    client.post(admin_url(factories.Region, "delete", city.pk), {"post": "yes"})
    assert not factories.Region.objects.filter(code="440100").exists()
    deleted = AuditLogEntry.objects.get(action="activities.region.deleted")
    assert deleted.object_repr == "广州市"


# --- roles go through the role services -------------------------------------------------------


@pytest.mark.django_db
def test_department_role_granted_on_the_person_page_goes_through_the_service(client, superuser):
    person = factories.UserFactory()
    department = factories.DepartmentFactory()
    data = form_data(client.get(admin_url(User, "change", person.pk)))
    data["department_membership-0-department"] = str(department.pk)

    response = client.post(admin_url(User, "change", person.pk), data)

    assert response.status_code == 302
    membership = DepartmentMembership.objects.get(user=person)
    assert membership.department == department
    assert membership.granted_by == superuser
    entry = AuditLogEntry.objects.get(action="accounts.role.department_staff.granted")
    assert entry.object_id == str(person.pk) and entry.actor == superuser

    data = form_data(client.get(admin_url(User, "change", person.pk)))
    data["department_membership-0-DELETE"] = "on"
    assert client.post(admin_url(User, "change", person.pk), data).status_code == 302
    assert not DepartmentMembership.objects.filter(user=person).exists()
    assert AuditLogEntry.objects.filter(action="accounts.role.department_staff.revoked").exists()


@pytest.mark.django_db
def test_a_national_reviewer_must_be_ticked_not_left_without_a_region(client, superuser):
    person = factories.UserFactory()
    url = admin_url(ReviewerAssignment, "add")

    response = client.post(url, {"user": person.pk, "region": ""})
    assert response.status_code == 200
    assert "或勾选“国家级审核员”" in response.content.decode()
    assert not ReviewerAssignment.objects.exists()

    response = client.post(url, {"user": person.pk, "national": "on"})
    assert response.status_code == 302
    assignment = ReviewerAssignment.objects.get(user=person)
    assert assignment.is_national and assignment.granted_by == superuser
    assert AuditLogEntry.objects.filter(
        action="accounts.role.reviewer.granted", object_id=str(person.pk)
    ).exists()


@pytest.mark.django_db
def test_provincial_reviewer_on_the_person_page(client, superuser):
    person = factories.UserFactory()
    province = factories.ProvinceFactory()
    data = form_data(client.get(admin_url(User, "change", person.pk)))
    data["reviewer_assignment-0-region"] = str(province.pk)

    assert client.post(admin_url(User, "change", person.pk), data).status_code == 302
    assert ReviewerAssignment.objects.get(user=person).region == province


@pytest.mark.django_db
def test_platform_admin_role_is_granted_through_the_service(client, superuser):
    person = factories.UserFactory()
    data = form_data(client.get(admin_url(User, "change", person.pk)))
    data["is_superuser"] = "on"

    assert client.post(admin_url(User, "change", person.pk), data).status_code == 302
    person.refresh_from_db()
    assert person.is_superuser and person.is_staff
    assert AuditLogEntry.objects.filter(
        action="accounts.role.platform_admin.granted", object_id=str(person.pk)
    ).exists()
    assert not AuditLogEntry.objects.filter(action="accounts.user.changed").exists()


@pytest.mark.django_db
def test_an_administrator_cannot_remove_their_own_admin_rights(client, superuser):
    data = form_data(client.get(admin_url(User, "change", superuser.pk)))
    assert "is_superuser" not in data and "is_staff" not in data
    data.pop("is_superuser", None)
    client.post(admin_url(User, "change", superuser.pk), data)
    superuser.refresh_from_db()
    assert superuser.is_superuser and superuser.is_staff and superuser.is_active


@pytest.mark.django_db
def test_user_list_shows_roles_and_filters_by_role(client, superuser):
    staff = factories.DepartmentMembershipFactory(user__email="staff@bureau.example.cn")
    factories.UserFactory(email="nobody@example.cn")
    url = admin_url(User, "changelist")

    html = client.get(url, {"role": "staff"}).content.decode()
    assert "staff@bureau.example.cn" in html and "nobody@example.cn" not in html
    assert str(staff.department) in html
    html = client.get(url, {"role": "none"}).content.decode()
    assert "nobody@example.cn" in html and "staff@bureau.example.cn" not in html


@pytest.mark.django_db
def test_a_new_person_is_added_with_an_email_address(client, superuser):
    response = client.post(
        admin_url(User, "add"),
        {
            "email": "New.Person@Example.CN",
            "full_name": "新同事",
            "preferred_language": "zh-hans",
            "usable_password": "true",
            "password1": "a-long-and-unusual-passphrase",
            "password2": "a-long-and-unusual-passphrase",
        },
    )
    assert response.status_code == 302
    person = User.objects.get(email="new.person@example.cn")
    assert person.check_password("a-long-and-unusual-passphrase")
    entry = AuditLogEntry.objects.get(action="accounts.user.created")
    assert "password1" not in entry.changes and "a-long" not in str(entry.changes)


# --- tokens and claims ------------------------------------------------------------------------


@pytest.mark.django_db
def test_token_admin_shows_the_prefix_never_the_hash_and_revokes(client, superuser):
    owner = factories.UserFactory()
    token, key = account_services.token_create(user=owner, name="报表导出")
    html = client.get(admin_url(PersonalToken, "changelist")).content.decode()
    page = client.get(admin_url(PersonalToken, "change", token.pk)).content.decode()

    assert token.prefix in html
    for shown in (html, page):
        assert token.key_hash not in shown
        assert key not in shown

    response = client.post(
        admin_url(PersonalToken, "changelist"),
        {"action": "revoke_tokens", "_selected_action": [token.pk]},
    )
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None and not token.is_usable
    entry = AuditLogEntry.objects.get(action="accounts.token.revoked")
    assert entry.actor == superuser


@pytest.mark.django_db
def test_claims_are_approved_and_rejected_through_the_claim_workflow(client, superuser):
    first = factories.EnterpriseRepresentativeFactory(status=RepresentationStatus.PENDING)
    second = factories.EnterpriseRepresentativeFactory(status=RepresentationStatus.PENDING)
    url = admin_url(EnterpriseRepresentative, "changelist")

    client.post(url, {"action": "approve_claims", "_selected_action": [first.pk]})
    first.refresh_from_db()
    assert first.status == RepresentationStatus.APPROVED and first.decided_by == superuser
    assert AuditLogEntry.objects.filter(action="accounts.representative.approved").exists()

    asks = client.post(url, {"action": "reject_claims", "_selected_action": [second.pk]})
    assert asks.status_code == 200 and "reason" in asks.content.decode()
    second.refresh_from_db()
    assert second.status == RepresentationStatus.PENDING  # nothing happens without a reason

    client.post(
        url,
        {
            "action": "reject_claims",
            "_selected_action": [second.pk],
            "apply": "1",
            "reason": "营业执照与企业名称不符",
        },
    )
    second.refresh_from_db()
    assert second.status == RepresentationStatus.REJECTED
    assert second.reason == "营业执照与企业名称不符"

    # A refused move is reported, not a crash.
    response = client.post(
        url, {"action": "approve_claims", "_selected_action": [second.pk]}, follow=True
    )
    assert response.status_code == 200
    second.refresh_from_db()
    assert second.status == RepresentationStatus.REJECTED
