from typing import Any

from django.core.management.base import BaseCommand, CommandError

from portal.demo.premises import DemoDataError, demo_data_load


class Command(BaseCommand):
    help = "Load the demo data set (idempotent) and print one sign-in for each role."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            sign_ins = demo_data_load()
        except DemoDataError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(self.style.SUCCESS("Demo data is loaded. Sign in with:"))
        for role, username, password in sign_ins:
            self.stdout.write(f"  {role:<34} username: {username:<10} password: {password}")
