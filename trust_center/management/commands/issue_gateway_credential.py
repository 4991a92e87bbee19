from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from han_gateway.models import PremisesGateway
from trust_center.crypto import secret_sha256
from trust_center.services import (
    GatewayCredentialError,
    gateway_credential_issue,
    gateway_credential_rotate,
)


class Command(BaseCommand):
    help = (
        "Issue (or with --rotate, replace) a gateway's API secret. Prints only the SHA-256 that "
        "goes into the HAN gateway service's configuration (secret_sha256); the secret itself "
        "is kept encrypted by the Trust Center and handed to the gateway through --secret-file."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("meter_number")
        parser.add_argument("--rotate", action="store_true", help="Replace the current secret.")
        parser.add_argument(
            "--secret-file",
            help="Write the new secret to this file (mode 600) for provisioning the gateway.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        gateway = PremisesGateway.objects.filter(meter_number=options["meter_number"]).first()
        if gateway is None:
            raise CommandError(f"No premises gateway with meter number {options['meter_number']}.")
        try:
            if options["rotate"]:
                secret = gateway_credential_rotate(premises_gateway=gateway)
            else:
                secret = gateway_credential_issue(premises_gateway=gateway)
        except GatewayCredentialError as error:
            raise CommandError(str(error)) from error
        if options["secret_file"]:
            import os

            descriptor = os.open(
                options["secret_file"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600
            )
            with os.fdopen(descriptor, "w") as handle:
                handle.write(secret + "\n")
        self.stdout.write(f"{gateway.meter_number}: secret_sha256: {secret_sha256(secret)}")
