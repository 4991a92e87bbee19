"""`manage.py serve --with-demo-gateways`, as `make run` starts it."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.commands import free_port
from tests.stack import wait_until

ROOT = Path(__file__).resolve().parents[3]


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code < 500
    except httpx.HTTPError:
        return False


def _wait_for_start(port: int) -> None:
    wait_until(
        lambda: _answers(f"http://127.0.0.1:{port}/health/"),
        timeout_s=60,
        what="the portal start",
        every_s=0.2,
    )


def _children(pid: int) -> list[int]:
    found = subprocess.run(  # noqa: S603 - fixed argument list
        ["/usr/bin/pgrep", "-P", str(pid)], capture_output=True, text=True, check=False
    )
    return [int(line) for line in found.stdout.split()]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is gone for our purpose; only its parent can reap it.
    status = Path(f"/proc/{pid}/status")
    return status.exists() and "\tZ" not in status.read_text().split("State:")[1][:4]


@pytest.mark.skipif(not Path("/proc").exists(), reason="needs Linux's /proc")
def test_stopping_the_portal_stops_its_demo_gateways(tmp_path):
    port = free_port()
    env = {**os.environ, "PORTAL_VAR_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    portal = subprocess.Popen(  # noqa: S603 - fixed argument list
        [
            sys.executable,
            "manage.py",
            "serve",
            "--port",
            str(port),
            "--with-demo-gateways",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    started: list[int] = [portal.pid]
    try:
        _wait_for_start(port)
        (gateways,) = _children(portal.pid)
        started.append(gateways)
        assert _alive(gateways)

        portal.send_signal(signal.SIGTERM)
        portal.wait(timeout=30)
        wait_until(
            lambda: not _alive(gateways), timeout_s=15, what="the gateway service stop", every_s=0.2
        )
    finally:
        for pid in started:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        portal.wait(timeout=10)


def _serve(port: int, env: dict[str, str], *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(  # noqa: S603 - fixed argument list
        [sys.executable, "manage.py", "serve", "--port", str(port), *extra],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def test_several_processes_are_refused_on_the_embedded_default(tmp_path):
    env = {**os.environ, "PORTAL_VAR_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    portal = _serve(free_port(), env, "--processes", "2")
    _, stderr = portal.communicate(timeout=60)
    assert portal.returncode != 0
    assert "--processes above 1 needs REDIS_URL" in stderr.decode()


@pytest.mark.realservices
@pytest.mark.django_db
@pytest.mark.skipif(not Path("/proc").exists(), reason="needs Linux's /proc")
def test_several_web_processes_serve_one_address(settings):
    port = free_port()
    database = settings.DATABASES["default"]["NAME"]  # the test database
    base = os.environ["DATABASE_URL"].rpartition("/")[0]
    env = {**os.environ, "DJANGO_DEBUG": "1", "DATABASE_URL": f"{base}/{database}"}
    portal = _serve(port, env, "--processes", "2")
    try:
        _wait_for_start(port)
        wait_until(
            lambda: (
                len([pid for pid in _children(portal.pid) if "spawn_main" in _command_line(pid)])
                == 2
            ),
            timeout_s=30,
            what="two server processes",
            every_s=0.2,
        )
        health = httpx.get(f"http://127.0.0.1:{port}/health/", timeout=10)
        assert health.json()["checks"] == {"database": "ok", "live_events": "ok"}
    finally:
        portal.send_signal(signal.SIGTERM)
        try:
            portal.wait(timeout=30)
        except subprocess.TimeoutExpired:
            portal.kill()
            portal.wait(timeout=10)


def _command_line(pid: int) -> str:
    path = Path(f"/proc/{pid}/cmdline")
    return path.read_text().replace("\0", " ") if path.exists() else ""
