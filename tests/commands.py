"""The command lines production runs, for the tests and the benchmarks that start them.

One copy, so a test or a benchmark never starts a worker, beat or gateway service differently
from `docker-compose.yml` and the README; and where on this machine to let them listen.
Imports no Django.
"""

import socket
import subprocess
import sys
from pathlib import Path


def stop_process(process: subprocess.Popen[bytes], *, timeout_s: float = 10) -> None:
    """Ask a process to stop (SIGTERM); kill it if it has not stopped after ``timeout_s``."""
    process.terminate()
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def celery_worker_argv(
    *,
    queues: list[str],
    concurrency: int,
    hostname: str | None = None,
    log_level: str = "INFO",
) -> list[str]:
    argv = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "portal",
        "worker",
        "--pool",
        "threads",
        "--concurrency",
        str(concurrency),
        "--queues",
        ",".join(queues),
        "--without-mingle",
        "--without-gossip",
        "--loglevel",
        log_level,
    ]
    return [*argv, "--hostname", hostname] if hostname else argv


def celery_beat_argv(*, schedule: Path, log_level: str = "INFO") -> list[str]:
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "portal",
        "beat",
        "--loglevel",
        log_level,
        "--schedule",
        str(schedule),
    ]


def gateway_service_argv(
    *,
    config: Path,
    host: str | None = None,
    port: int | None = None,
    tls: tuple[Path, Path] | None = None,
    log_level: str | None = None,
) -> list[str]:
    """``python -m han_gateway serve``; ``tls`` is (certificate, private key)."""
    argv = [sys.executable, "-m", "han_gateway", "serve", "--config", str(config)]
    if host is not None:
        argv += ["--host", host]
    if port is not None:
        argv += ["--port", str(port)]
    if tls is not None:
        argv += ["--tls-certificate", str(tls[0]), "--tls-private-key", str(tls[1])]
    if log_level is not None:
        argv += ["--log-level", log_level]
    return argv
