from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Customers and premises"

    def ready(self) -> None:
        from portal.commissioning import tasks as commissioning_tasks  # noqa: F401
        from portal.demo import responses  # noqa: F401 - the demo premises answer actions
        from portal.diagnosis import checks  # noqa: F401 - registers the system checks
        from portal.runtime import checks as runtime_checks  # noqa: F401 - the database check
        from portal.runtime import tasks as runtime_tasks  # noqa: F401
        from portal.test_runs import tasks as test_run_tasks  # noqa: F401

        # The task modules register their tasks with the Celery app, so a task sent by name
        # (``portal.task_names``) is known in every process, eager or not.
