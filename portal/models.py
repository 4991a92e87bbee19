"""Customers, their premises, and the people who use the portal."""

from django.contrib.auth.models import AbstractUser
from django.db import models

from han_gateway.models import PremisesGateway


class User(AbstractUser):
    class Role(models.TextChoices):
        REPRESENTATIVE = "representative", "Customer service representative"
        CUSTOMER = "customer", "Customer"
        ADMINISTRATOR = "administrator", "Administrator"

    role = models.CharField(max_length=16, choices=Role.choices, default=Role.CUSTOMER)
    customer_accounts = models.ManyToManyField(
        "portal.Customer",
        blank=True,
        related_name="users",
        help_text="The accounts a customer user may see (self-service).",
    )

    @property
    def works_for_utility(self) -> bool:
        """Representatives and administrators may look up any customer."""
        return self.is_active and self.role in {self.Role.REPRESENTATIVE, self.Role.ADMINISTRATOR}


class Customer(models.Model):
    """The account holder."""

    name = models.CharField(max_length=128)
    account_number = models.CharField(max_length=32, unique=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "account_number"]
        indexes = [models.Index(fields=["name"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.account_number})"


class Premise(models.Model):
    """A service point at an address, served by a Premises Gateway."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="premises")
    service_point_id = models.CharField(max_length=32, unique=True)
    address_line = models.CharField("address", max_length=200)
    city = models.CharField(max_length=100)
    state = models.CharField(max_length=32)
    postal_code = models.CharField(max_length=16)
    premises_gateway = models.ForeignKey(
        PremisesGateway,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="premises",
        help_text="The meter or pole-top device whose HAN serves this premise.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["customer", "address_line"]
        indexes = [models.Index(fields=["address_line"])]

    def __str__(self) -> str:
        return self.full_address

    @property
    def full_address(self) -> str:
        return f"{self.address_line}, {self.city}, {self.state} {self.postal_code}"
