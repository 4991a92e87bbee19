"""One viewer rule, built once after the access check, with the audit row written in one place."""

import pytest
from django.utils import timezone

from portal.access.viewers import AUDIT_REPEAT_WINDOW, han_data_view_open, han_viewer
from portal.models import HanDataAccess

pytestmark = pytest.mark.django_db


def test_a_customer_sees_their_own_devices_in_full_and_no_technical_evidence(user_a, customer_a):
    viewer = han_viewer(user=user_a, customer=customer_a)
    assert (viewer.staff, viewer.sees_customer_han) == (False, True)


def test_staff_see_customer_owned_devices_in_full_only_with_consent(rep, customer_a):
    assert han_viewer(user=rep, customer=customer_a).masks_customer_han
    customer_a.customer_han_consent = True
    customer_a.save()
    viewer = han_viewer(user=rep, customer=customer_a)
    assert (viewer.staff, viewer.sees_customer_han) == (True, True)


def test_opening_a_customers_han_data_audits_staff_and_not_the_customer(
    rep, user_a, customer_a, premise_a
):
    han_data_view_open(user=user_a, customer=customer_a, what="premise page")
    assert not HanDataAccess.objects.exists()
    viewer = han_data_view_open(
        user=rep, customer=customer_a, premise=premise_a, what="premise page"
    )
    access = HanDataAccess.objects.get()
    assert (access.user, access.customer, access.premise) == (rep, customer_a, premise_a)
    assert access.customer_han_shown is viewer.sees_customer_han is False


def test_one_view_is_one_audit_entry_whatever_the_page_loads_after_it(
    rep, administrator, user_a, customer_a, premise_a
):
    for _ in range(4):  # the page, its live stream, its picture, a reconnect
        han_data_view_open(user=rep, customer=customer_a, premise=premise_a, what="HAN test run 7")
    assert HanDataAccess.objects.count() == 1
    # Someone else, something else, or the same view later: each its own entry.
    han_data_view_open(
        user=administrator, customer=customer_a, premise=premise_a, what="HAN test run 7"
    )
    han_data_view_open(user=rep, customer=customer_a, premise=premise_a, what="HAN test run 8")
    HanDataAccess.objects.update(at=timezone.now() - AUDIT_REPEAT_WINDOW)
    han_data_view_open(user=rep, customer=customer_a, premise=premise_a, what="HAN test run 7")
    assert HanDataAccess.objects.count() == 4
