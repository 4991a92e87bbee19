"""Who may open what: one selector decides for pages and the API alike."""

import pytest

pytestmark = pytest.mark.django_db


def test_customer_cannot_open_another_customers_premise_page(client, user_a, premise_a, premise_b):
    client.force_login(user_a)
    assert client.get(f"/premises/{premise_a.pk}/").status_code == 200
    assert client.get(f"/premises/{premise_b.pk}/").status_code == 404


def test_customer_cannot_open_another_customers_premise_through_the_api(
    client, user_a, premise_a, premise_b
):
    client.force_login(user_a)
    assert client.get(f"/api/v1/premises/{premise_a.pk}/").status_code == 200
    assert client.get(f"/api/v1/premises/{premise_b.pk}/").status_code == 404
    listed = client.get("/api/v1/premises/").json()["results"]
    assert [row["id"] for row in listed] == [premise_a.pk]


def test_customer_cannot_open_another_customers_account_through_the_api(
    client, user_a, customer_a, customer_b
):
    client.force_login(user_a)
    assert client.get(f"/api/v1/customers/{customer_a.pk}/").status_code == 200
    assert client.get(f"/api/v1/customers/{customer_b.pk}/").status_code == 404


def test_customer_sees_only_their_own_premises_on_my_home(client, user_a, premise_a, premise_b):
    client.force_login(user_a)
    page = client.get("/my-home/").content.decode()
    assert premise_a.address_line in page
    assert premise_b.address_line not in page


def test_customer_cannot_use_the_reps_pages(client, user_a, customer_a):
    client.force_login(user_a)
    assert client.get("/customers/", {"q": "Alder"}).status_code == 403
    assert client.get(f"/customers/{customer_a.pk}/").status_code == 403
    assert client.get("/api/v1/customers/", {"search": "Alder"}).status_code == 403


def test_rep_opens_any_customer_and_premise(client, rep, customer_b, premise_b):
    client.force_login(rep)
    page = client.get(f"/customers/{customer_b.pk}/")
    assert page.status_code == 200
    assert premise_b.address_line in page.content.decode()
    assert client.get(f"/premises/{premise_b.pk}/").status_code == 200


def test_deactivated_customer_sees_nothing(client, user_a, premise_a):
    client.force_login(user_a)
    user_a.is_active = False
    user_a.save(update_fields=["is_active"])
    response = client.get(f"/api/v1/premises/{premise_a.pk}/")
    assert response.status_code in {401, 403, 404}


def test_only_administrators_reach_the_django_admin(client, rep, administrator):
    client.force_login(rep)
    assert client.get("/admin/").status_code == 302
    client.force_login(administrator)
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/portal/customer/?q=Alder").status_code == 200
