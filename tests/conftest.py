import os

import pytest

from portal.models import User
from tests.factories import CustomerFactory, PremiseFactory, UserFactory


@pytest.fixture
def customer_a():
    return CustomerFactory(name="Ann Alder", account_number="1000000001")


@pytest.fixture
def customer_b():
    return CustomerFactory(name="Bob Birch", account_number="1000000002")


@pytest.fixture
def premise_a(customer_a):
    return PremiseFactory(customer=customer_a, address_line="1 Alder Way")


@pytest.fixture
def premise_b(customer_b):
    return PremiseFactory(customer=customer_b, address_line="2 Birch Road")


@pytest.fixture
def user_a(customer_a):
    return UserFactory(username="ann", role=User.Role.CUSTOMER, customer_accounts=[customer_a])


@pytest.fixture
def user_b(customer_b):
    return UserFactory(username="bob", role=User.Role.CUSTOMER, customer_accounts=[customer_b])


@pytest.fixture
def rep():
    return UserFactory(username="rita", role=User.Role.REPRESENTATIVE)


@pytest.fixture
def administrator():
    return UserFactory(
        username="ada", role=User.Role.ADMINISTRATOR, is_staff=True, is_superuser=True
    )


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker):
    """A worker consuming the broker the portal enqueues on, pointed at the test database.

    Embedded default: the same in-process thread worker ``make run`` uses. With ``REDIS_URL``:
    a real ``celery worker`` process, started the way production starts it.
    """
    from django.conf import settings

    if settings.EMBEDDED_WORKER:
        from portal.embedded import EmbeddedWorker

        worker = EmbeddedWorker(concurrency=4)
        worker.start()
        yield worker
        worker.stop()
        return

    from tests.worker_process import worker_process

    with worker_process() as process:
        yield process


@pytest.fixture(scope="session", autouse=True)
def _real_services_are_really_in_use():
    """With PORTAL_REAL_SERVICES set, falling back to the embedded default fails the run."""
    from django.conf import settings

    if not os.environ.get("PORTAL_REAL_SERVICES"):
        return
    engine = settings.DATABASES["default"]["ENGINE"]
    assert engine == "django.db.backends.postgresql", f"expected PostgreSQL, got {engine}"
    assert not settings.EMBEDDED_WORKER, "expected the Redis broker and a worker process"
    assert "Redis" in settings.CHANNEL_LAYERS["default"]["BACKEND"]
    import redis

    redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=3).ping()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Hash strength is Django's concern, not these tests'; PBKDF2 would dominate their time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
