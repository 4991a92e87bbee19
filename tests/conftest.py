import datetime as dt
import email
import json
import os
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from email import policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from han_gateway.protocol import (
    DeviceReport,
    Identity,
    InterfaceInfo,
    InterfaceList,
    ScanDeviceEvent,
    ScanStartedEvent,
)
from portal.models import User
from tests.commands import free_port, gateway_service_argv, stop_process
from tests.factories import CustomerFactory, PremiseFactory, UserFactory


def repeatable_examples(max_examples: int, *suppressed: HealthCheck) -> settings:
    """Hypothesis settings for the fuzz tests: the same examples on every run and machine,
    nothing kept between runs, no deadline (a slow CI machine is no failure)."""
    return settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(suppressed),
    )


def hostile_json_values(text: st.SearchStrategy[str], *, max_key_size: int, max_leaves: int):
    """Any JSON value from outside: integers past 64 bits, NaN and infinities (Python's json
    reads them), ``text`` for strings, nested in lists and objects."""
    return st.recursive(
        st.none()
        | st.booleans()
        | st.integers(min_value=-(2**70), max_value=2**70)
        | st.floats()
        | text,
        lambda children: (
            st.lists(children, max_size=4)
            | st.dictionaries(st.text(max_size=max_key_size), children, max_size=4)
        ),
        max_leaves=max_leaves,
    )


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
        from portal.runtime.embedded import EmbeddedWorker

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
    assert settings.LIVE_EVENTS_REDIS_URL == settings.REDIS_URL
    import redis

    redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=3).ping()


@pytest.fixture(scope="session", autouse=True)
def _close_connections_after_each_use():
    """Threads the tests start (servers, executors) must not hold the test database open."""
    from django.db import connections

    connections.settings["default"]["CONN_MAX_AGE"] = 0


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Hash strength is Django's concern, not these tests'; PBKDF2 would dominate their time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # The demo gateways are shared by the session's tests: only ``demo_responds`` lets a
    # recorded action change one, and puts it back.
    settings.HAN_DEMO_PREMISES_RESPOND = False


@pytest.fixture
def demo_responds(settings, scenario_switch):
    """The demo premises answer the actions recorded at ``meters`` (put back afterwards)."""

    def at(*meters: str) -> None:
        settings.HAN_DEMO_PREMISES_RESPOND = True
        for meter in meters:
            scenario_switch(meter, None)

    return at


@pytest.fixture(scope="session")
def gateway_service():
    """The HAN gateway service with the demo's simulated gateways, over loopback."""
    import subprocess
    import time
    from pathlib import Path

    import httpx
    from django.conf import settings

    port = free_port()
    log_dir = Path(settings.BASE_DIR) / "test-artifacts"
    log_dir.mkdir(exist_ok=True)
    with open(log_dir / "gateway-service.log", "ab") as log:
        process = subprocess.Popen(  # noqa: S603 - fixed argument list
            gateway_service_argv(config=Path("han_gateway/demo/gateways.yaml"), port=port),
            cwd=settings.BASE_DIR,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    try:
        while True:
            if process.poll() is not None:
                raise RuntimeError("the gateway service exited; see test-artifacts")
            try:
                if httpx.get(f"{url}/api/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the gateway service did not start in 60 s")
            time.sleep(0.1)
        yield url
    finally:
        stop_process(process)


@pytest.fixture
def demo_world(gateway_service):
    """The demo data set, its meters pointed at the test's gateway service."""
    from han_gateway.models import PremisesGateway
    from portal.demo.premises import demo_data_load

    sign_ins = demo_data_load()
    PremisesGateway.objects.update(service_url=gateway_service)
    return {username: password for _, username, password in sign_ins}


@pytest.fixture
def scenario_switch(gateway_service):
    """Change a simulated meter's HAN for one test, and put it back afterwards."""
    from han_gateway.client import GatewayClient, GatewayError
    from han_gateway.service.config import load_service_config
    from portal.demo.premises import DEMO_GATEWAYS_CONFIG, demo_gateway_secret

    changed: list[tuple[str, str]] = []

    def replace(meter_number: str, scenario: str | dict, interface: str) -> None:
        # A test that cancelled a run may leave the gateway finishing its scan for a moment.
        deadline = time.monotonic() + 30
        with GatewayClient(
            base_url=gateway_service,
            gateway_id=meter_number,
            secret=demo_gateway_secret(meter_number),
        ) as client:
            while True:
                try:
                    client.replace_scenario(interface, scenario)
                    return
                except GatewayError as error:
                    if error.code != "scan_in_progress" or time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)

    def switch(meter_number: str, scenario: str | dict | None, interface: str = "han0") -> None:
        """``scenario`` None leaves the HAN as it is but still puts it back afterwards, for a
        test that opens join windows there."""
        if scenario is not None:
            replace(meter_number, scenario, interface)
        changed.append((meter_number, interface))

    yield switch
    config = {g.gateway_id: g for g in load_service_config(DEMO_GATEWAYS_CONFIG).gateways}
    for meter_number, interface in changed:
        original = next(
            i.scenario for i in config[meter_number].interfaces if i.interface_id == interface
        )
        assert original is not None
        replace(meter_number, original, interface)


@pytest.fixture
def join_log(gateway_service):
    """``join_log(meter, eui64, decision)``: wait until the simulated meter's Trust Center has
    decided on the device's join, as a rep waits for a registered device to join before a retest."""
    from tests.diagnosis_corpus.corpus import join_log_waiter

    return join_log_waiter(gateway_service)


@pytest.fixture
def no_enqueue(monkeypatch):
    """Runs stay queued until the test executes them itself."""
    monkeypatch.setattr("portal.test_runs.start.han_test_run_enqueue", lambda run: None)


@pytest.fixture
def eager_tasks():
    """Tasks run in the caller as they are sent, for tests about what the task does."""
    from portal.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


def pytest_collection_modifyitems(config, items):
    """Tests marked ``realservices`` run only with PORTAL_REAL_SERVICES set, as CI's second pass."""
    if os.environ.get("PORTAL_REAL_SERVICES"):
        return
    skip = pytest.mark.skip(reason="real-services mode only: set PORTAL_REAL_SERVICES=1")
    for item in items:
        if "realservices" in item.keywords:
            item.add_marker(skip)


# How a fake gateway answers one request, written straight to the handler.
Behaviour = Callable[[BaseHTTPRequestHandler], None]


def answer_json(handler: BaseHTTPRequestHandler, body: object) -> None:
    """A fake gateway's 200 answer with a JSON body."""
    data = json.dumps(body).encode()
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


def gateway_identity(gateway_id: str) -> Identity:
    """What a working meter says it is."""
    return Identity(
        id=gateway_id,
        kind="meter",
        manufacturer="Itron",
        model="Riva",
        firmware="1.0",
        interface_count=1,
        api_version="v1",
    )


def one_interface(device_count: int = 3) -> InterfaceInfo:
    """A working meter's one HAN interface, ``han0`` on channel 15."""
    return InterfaceInfo(
        id="han0",
        technology="zigbee",
        radio="simulated",
        status="ready",
        channel=15,
        pan_id="0x1A62",
        extended_pan_id=None,
        security_level=5,
        device_count=device_count,
    )


def answer_identify_and_one_interface(handler: BaseHTTPRequestHandler, gateway_id: str) -> bool:
    """Answer a run's first two calls properly (who the gateway is, its one HAN interface);
    True when the request was one of them."""
    if handler.command == "GET" and handler.path.endswith("/interfaces"):
        listing = InterfaceList(gateway_id=gateway_id, interfaces=[one_interface()])
        answer_json(handler, listing.to_wire())
        return True
    if handler.command == "GET":
        answer_json(handler, gateway_identity(gateway_id).to_wire())
        return True
    return False


def scan_started_line(gateway_id: str) -> bytes:
    """The first line of a scan stream, as a working gateway writes it."""

    started = ScanStartedEvent(
        event="started",
        scan_id="s1",
        gateway_id=gateway_id,
        interface_id="han0",
        started_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        channel=15,
        pan_id="0x1A62",
        timeout_s=60,
    )
    return json.dumps(started.to_wire()).encode() + b"\n"


def scan_device_line(eui64: str) -> bytes:
    """A scan stream's line reporting one end device that answers well."""
    device = DeviceReport(
        eui64=eui64,
        nwk="0x2A01",
        device_type="end_device",
        manufacturer="Honeywell",
        model="UtilityPRO",
        sw_build_id="3.4.2",
        ota_file_version=None,
        power_source="mains",
        reachable=True,
        interview="complete",
        join_method="install_code",
        profile_id=0x0109,
        endpoints=[],
        parent=None,
        depth=1,
        lqi=200,
        rssi=-60,
        links=[],
    )
    return json.dumps(ScanDeviceEvent(event="device", device=device).to_wire()).encode() + b"\n"


@pytest.fixture
def fake_gateway():
    """A tiny HTTP server that answers as the given behaviour says: a gateway gone wrong."""
    from http.server import ThreadingHTTPServer

    servers: list[ThreadingHTTPServer] = []

    def start(behaviour: Behaviour, *, tls: tuple[Path, Path] | None = None) -> str:
        """The server's URL; with ``tls`` (certificate, key) it answers over https."""

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def do_GET(self) -> None:
                behaviour(self)

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                behaviour(self)

            def log_message(self, *args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        scheme = "http"
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            server.socket = context.wrap_socket(server.socket, server_side=True)
            scheme = "https"
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"{scheme}://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def smtp_mailbox(tmp_path, settings):
    """A real SMTP server (aiosmtpd in its own process) that the portal sends its email to; the
    fixture gives the messages it received, parsed."""
    port = free_port()
    mailbox = tmp_path / "mailbox"
    server = ("-n", "-l", f"127.0.0.1:{port}", "-c", "aiosmtpd.handlers.Mailbox", str(mailbox))
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        [sys.executable, "-m", "aiosmtpd", *server],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while not mailbox.exists():
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("the SMTP server did not start")
            time.sleep(0.05)
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port

        def received() -> list[EmailMessage]:
            return [
                email.message_from_bytes(path.read_bytes(), policy=policy.default)
                for path in sorted((mailbox / "new").iterdir())
            ]

        yield received
    finally:
        process.terminate()
        process.wait(5)
