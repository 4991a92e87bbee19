from django.apps import AppConfig


class TrustCenterConfig(AppConfig):
    name = "trust_center"
    verbose_name = "HAN Trust Center"

    def ready(self) -> None:
        # Registers the deployment check for encryption keys.
        from trust_center import checks  # noqa: F401
