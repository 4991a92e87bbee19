"""No answer that may carry customer data is kept by a browser's or a proxy's cache.

Every route of the access matrix, as every actor who is signed in (or holds an API token),
answers with ``Cache-Control: no-store``; so does every API answer, even a refusal.
"""

import pytest

from tests.portal.conftest import (
    ACTORS,
    ADMIN,
    ANONYMOUS,
    CUSTOMER_A,
    CUSTOMER_B,
    INSTALLER_A,
    REP,
    TOKEN,
)
from tests.portal.test_access_matrix import ROWS, request_for

pytestmark = pytest.mark.usefixtures("cache_of_its_own")

SIGNED_IN = (CUSTOMER_A, CUSTOMER_B, INSTALLER_A, REP, ADMIN)

CELLS = [
    pytest.param(row, actor, id=f"{row.method} /{row.route} as {actor}")
    for row in ROWS
    if not row.is_websocket
    for actor in ACTORS
    if actor in SIGNED_IN or row.is_api
]


@pytest.mark.django_db
@pytest.mark.parametrize(("row", "actor"), CELLS)
def test_the_answer_is_not_stored(row, actor, world, no_enqueue):
    response = request_for(row, actor, world)

    assert response.get("Cache-Control") == "no-store", (
        f"{row.method} /{row.route} as {actor}: {response.status_code}, "
        f"Cache-Control {response.get('Cache-Control')!r}"
    )


@pytest.mark.django_db
def test_static_files_stay_cacheable_for_signed_in_users(client, rep):
    client.force_login(rep)

    response = client.get("/static/css/portal.css")

    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")


@pytest.mark.django_db
@pytest.mark.parametrize("actor", [ANONYMOUS, TOKEN])
def test_an_api_refusal_is_not_stored_either(actor, world):
    staff_only = next(row for row in ROWS if row.route == "api/v1/customers/")
    customer_a_only = next(
        row for row in ROWS if row.route == "api/v1/customers/<int:customer_id>/"
    )

    for row in (staff_only, customer_a_only):
        response = request_for(row, actor, world)
        assert response.status_code in {401, 403, 200}
        assert response.get("Cache-Control") == "no-store"
