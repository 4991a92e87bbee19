from celery import shared_task


@shared_task(name="portal.ping", acks_late=False, ignore_result=False)
def ping() -> str:
    """Answers the health check: proves a worker is consuming the broker."""
    return "pong"
