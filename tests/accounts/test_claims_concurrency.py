"""Two first claims to the same new credit code at the same moment: exactly one holds it."""

import threading

import pytest
from django.db import connection

from accounts import services
from accounts.enums import RepresentationStatus
from accounts.models import EnterpriseRepresentative
from registrations.models import Enterprise
from tests import factories

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_simultaneous_first_claims_make_one_holder_and_one_waiting_claim():
    region = factories.ProvinceFactory(code="350000")
    uscc = factories.valid_uscc("350000")
    people = [factories.UserFactory() for _ in range(2)]
    barrier = threading.Barrier(len(people))
    errors = []

    def claim(person):
        try:
            barrier.wait(timeout=10)
            services.enterprise_claim_submit(
                person,
                details={
                    "uscc": uscc,
                    "name": f"福州公司 {person.pk}",
                    "region": region.pk,
                    "industry": "C",
                    "size": "small",
                    "contact_name": "林",
                    "mobile": "13800138000",
                    "email": "fz@example.cn",
                },
                actor=person,
            )
        except Exception as exc:  # reported below, in the main thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=claim, args=(person,)) for person in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert Enterprise.objects.filter(uscc=uscc).count() == 1
    statuses = sorted(
        EnterpriseRepresentative.objects.filter(enterprise__uscc=uscc).values_list(
            "status", flat=True
        )
    )
    assert statuses == [RepresentationStatus.APPROVED, RepresentationStatus.PENDING]
