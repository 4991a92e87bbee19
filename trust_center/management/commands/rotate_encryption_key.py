"""Re-encrypt every stored secret with the newest key in HAN_ENCRYPTION_KEYS.

Put the new key first in the list (keep the old ones after it), run this, then drop the old
keys. Safe to run again or after an interruption: values already under the newest key are
left alone, and a value changed while the command runs is not overwritten.
"""

from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import models, transaction

from trust_center import crypto, services
from trust_center.fields import CiphertextField


@dataclass
class ColumnCounts:
    label: str
    rotated: int = 0
    already_current: int = 0
    empty: int = 0
    unreadable: int = 0
    changed_meanwhile: int = 0

    def summary(self) -> str:
        return (
            f"{self.label}: {self.rotated} re-encrypted, {self.already_current} already "
            f"current, {self.empty} empty, {self.unreadable} unreadable, "
            f"{self.changed_meanwhile} changed while running"
        )


def ciphertext_columns() -> list[tuple[type[models.Model], str]]:
    """Every (model, field name) in the project that stores ciphertext."""
    return [
        (model, field.name)
        for model in apps.get_models()
        for field in model._meta.get_fields()
        if isinstance(field, CiphertextField)
    ]


def rotate_column(model: type[models.Model], field_name: str, batch_size: int) -> ColumnCounts:
    counts = ColumnCounts(label=f"{model._meta.label}.{field_name}")
    last_pk: Any = None
    while True:
        rows = model._default_manager.order_by("pk")
        if last_pk is not None:
            rows = rows.filter(pk__gt=last_pk)
        batch = list(rows.values_list("pk", field_name)[:batch_size])
        if not batch:
            return counts
        last_pk = batch[-1][0]
        with transaction.atomic():
            for pk, ciphertext in batch:
                if not ciphertext:
                    counts.empty += 1
                    continue
                if crypto.ciphertext_is_current(ciphertext):
                    counts.already_current += 1
                    continue
                try:
                    rotated = crypto.ciphertext_rotate(ciphertext)
                except crypto.SecretUnreadable:
                    counts.unreadable += 1
                    continue
                # Compare-and-set: a secret rotated by a service meanwhile is already under
                # the newest key and must not be replaced by the old value.
                updated = model._default_manager.filter(pk=pk, **{field_name: ciphertext}).update(
                    **{field_name: rotated}
                )
                if updated:
                    counts.rotated += 1
                else:
                    counts.changed_meanwhile += 1


class Command(BaseCommand):
    help = "Re-encrypt stored install codes, link keys and gateway secrets with the newest key."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--batch-size",
            type=int,
            default=500,
            help="Rows read and re-encrypted per transaction (default 500).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        batch_size: int = options["batch_size"]
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        problem = crypto.configuration_problem()
        if problem:
            raise CommandError(problem)

        all_counts = [
            rotate_column(model, field_name, batch_size)
            for model, field_name in ciphertext_columns()
        ]
        for counts in all_counts:
            self.stdout.write(counts.summary())

        rotated = sum(counts.rotated for counts in all_counts)
        unreadable = sum(counts.unreadable for counts in all_counts)
        if rotated or unreadable:
            services.encryption_key_rotation_record(
                detail="; ".join(counts.summary() for counts in all_counts)
            )
        self.stdout.write(f"Re-encrypted {rotated} stored secrets with the newest key.")
        if unreadable:
            raise CommandError(
                f"{unreadable} stored secrets could not be decrypted with any key in "
                f"{crypto.KEYS_VARIABLE}; they were left as they are. Is an old key missing?"
            )
