"""Customers, their premises, and the people who use the portal."""

from typing import TypeVar

from django.contrib.auth.models import AbstractUser
from django.db import models
from knox.models import AbstractAuthToken
from knox.settings import CONSTANTS

from han_gateway.models import HanDevice, PremisesGateway
from portal.diagnosis.rules import action_label, rule_label


class User(AbstractUser):
    class Role(models.TextChoices):
        REPRESENTATIVE = "representative", "Customer service representative"
        CUSTOMER = "customer", "Customer"
        ADMINISTRATOR = "administrator", "Administrator"
        INSTALLER = "installer", "Field technician"

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

    @property
    def is_installer(self) -> bool:
        """A field technician: sees the premises of their work orders, nothing else."""
        return self.is_active and self.role == self.Role.INSTALLER


class Customer(models.Model):
    """The account holder."""

    name = models.CharField(max_length=128)
    account_number = models.CharField(max_length=32, unique=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=32, blank=True)
    customer_han_consent = models.BooleanField(
        "lets staff see customer-owned devices",
        default=False,
        help_text="Given by the customer on their page; without it, staff see customer-owned "
        "devices only by category and vendor.",
    )
    customer_han_consent_changed_at = models.DateTimeField(null=True, blank=True)

    class Language(models.TextChoices):
        ENGLISH = "en", "English"
        SPANISH = "es", "Español"

    # The language of the customer's pages and the messages sent to them; reps see it too.
    language = models.CharField(
        max_length=8, choices=Language.choices, default=Language.ENGLISH, db_default="en"
    )
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


class HanTestCase(models.Model):
    """The problem being worked at a premise: one or more test runs until it is resolved."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        RESOLVED = "resolved", "Resolved"

    premise = models.ForeignKey(Premise, on_delete=models.CASCADE, related_name="test_cases")
    problem = models.CharField(max_length=200, blank=True)
    # The device the call is about (one on record for the premise): the verdict leads with it.
    # A database default too, so bulk loads that do not name it stay valid.
    subject_eui64 = models.CharField(max_length=23, blank=True, default="", db_default="")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    opened_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, related_name="opened_test_cases"
    )
    opened_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    # Set when staff closed the case by hand; a case a passing run resolved has neither.
    closed_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="closed_test_cases"
    )
    close_reason = models.CharField(max_length=300, blank=True, default="", db_default="")

    class Meta:
        ordering = ["-opened_at"]
        indexes = [models.Index(fields=["premise", "-opened_at"])]

    def __str__(self) -> str:
        return f"HAN test case {self.pk} at {self.premise}"


class CaseNote(models.Model):
    """A note staff keep on a case: what the customer said, what was agreed, who to call."""

    case = models.ForeignKey(HanTestCase, on_delete=models.CASCADE, related_name="notes")
    text = models.TextField()
    written_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, related_name="case_notes"
    )
    written_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["case", "written_at", "pk"]

    def __str__(self) -> str:
        return f"Note on case {self.case_id}"


class Escalation(models.Model):
    """Work handed to the AMI network team from a case, followed until the team answers."""

    class Kind(models.TextChoices):
        CHANNEL_CHANGE = "channel_change", "Move the HAN to another channel"
        AMI_INVESTIGATION = "ami_investigation", "Investigate the meter's HAN or AMI link"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        IN_PROGRESS = "in_progress", "In progress"
        DONE = "done", "Done"
        DECLINED = "declined", "Declined"

    case = models.ForeignKey(HanTestCase, on_delete=models.CASCADE, related_name="escalations")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    reason = models.TextField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    raised_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, related_name="raised_escalations"
    )
    raised_at = models.DateTimeField(auto_now_add=True)
    answer = models.CharField(max_length=300, blank=True)
    updated_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["case", "raised_at", "pk"]
        indexes = [models.Index(fields=["status", "raised_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for case {self.case_id} ({self.get_status_display()})"

    @property
    def kind_in_a_sentence(self) -> str:
        """ "move the HAN to another channel": the label, its first letter only lowered."""
        label = str(self.get_kind_display())
        return label[:1].lower() + label[1:]


class WorkOrder(models.Model):
    """A visit by a field technician to a premise, made from a case's recommendation: what to
    do, to which devices, and when. It is done when the technician says so or when a run in its
    case passes."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        DONE = "done", "Done"
        CANCELLED = "cancelled", "Cancelled"

    class Window(models.TextChoices):
        MORNING = "morning", "Morning (8 am to noon)"
        AFTERNOON = "afternoon", "Afternoon (noon to 5 pm)"
        ANY = "any", "Any time of day"

    case = models.ForeignKey(HanTestCase, on_delete=models.CASCADE, related_name="work_orders")
    # The case's premise, kept on the order: what an installer may see is read from it.
    premise = models.ForeignKey(Premise, on_delete=models.CASCADE, related_name="work_orders")
    from_run = models.ForeignKey(
        "portal.HanTestRun", on_delete=models.SET_NULL, null=True, related_name="work_orders"
    )
    installer = models.ForeignKey(
        User,
        on_delete=models.PROTECT,
        related_name="work_orders",
        limit_choices_to={"role": "installer"},
    )
    action = models.CharField(max_length=48, help_text="The recommended action it carries out.")
    instructions = models.TextField()
    devices = models.ManyToManyField(
        "portal.ObservedDevice", blank=True, related_name="work_orders"
    )
    scheduled_for = models.DateField()
    window = models.CharField(max_length=16, choices=Window.choices, default=Window.ANY)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    created_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, related_name="dispatched_work_orders"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    outcome = models.CharField(max_length=300, blank=True)
    completed_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["scheduled_for", "pk"]
        indexes = [models.Index(fields=["installer", "status", "scheduled_for"])]

    def __str__(self) -> str:
        return f"Work order {self.pk} at {self.premise} ({self.get_status_display()})"

    @property
    def action_label(self) -> str:
        return action_label(self.action, unknown="Other")


class HanTestRun(models.Model):
    """One pass of the Utility HAN Test Tool: enumerate, scan, check, diagnose."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        PASSED = "passed", "Passed"
        FAILED = "failed", "Problems found"
        ERROR = "error", "Could not complete"
        CANCELLED = "cancelled", "Cancelled"

    ACTIVE = (Status.QUEUED, Status.RUNNING)

    case = models.ForeignKey(HanTestCase, on_delete=models.CASCADE, related_name="runs")
    # Kept beside the case so the database itself allows one active run per premise.
    premise = models.ForeignKey(Premise, on_delete=models.CASCADE, related_name="test_runs")
    number = models.PositiveIntegerField(help_text="1 for the first run of a case, then 2, 3…")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    started_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, related_name="started_test_runs"
    )
    queue = models.CharField(max_length=64, default="default")
    # The gateway as it was when the run started: a meter exchange must not rewrite history.
    region = models.CharField(max_length=32, blank=True)
    gateway_model = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    enqueued_at = models.DateTimeField(
        null=True, blank=True, help_text="When the task was last sent to the broker."
    )
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text="Last sign of life from the worker running it."
    )
    progress = models.PositiveSmallIntegerField(default=0, help_text="Percent done, 0-100.")
    phase = models.CharField(max_length=120, blank=True)
    estimated_seconds = models.PositiveIntegerField(null=True, blank=True)
    error_message = models.CharField(max_length=300, blank=True)
    cancel_requested = models.BooleanField(default=False)

    class Meta:
        ordering = ["case", "number"]
        constraints = [
            models.UniqueConstraint(fields=["case", "number"], name="unique_run_number_per_case"),
            models.UniqueConstraint(
                fields=["premise"],
                condition=models.Q(status__in=["queued", "running"]),
                name="one_active_run_per_premise",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "heartbeat_at"]),
            # History pages walk these newest first, one keyset page at a time.
            models.Index(fields=["-created_at", "-id"], name="run_history_idx"),
            models.Index(fields=["region", "-created_at", "-id"], name="run_region_history_idx"),
            models.Index(fields=["started_by", "-created_at"], name="run_rep_history_idx"),
            models.Index(fields=["premise", "-created_at"], name="run_premise_history_idx"),
        ]

    def __str__(self) -> str:
        return f"Run {self.number} of case {self.case_id}"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE


class RunStep(models.Model):
    """A step of a run's timeline, as shown live: reach the gateway, enumerate, scan…"""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped"

    run = models.ForeignKey(HanTestRun, on_delete=models.CASCADE, related_name="steps")
    key = models.CharField(max_length=64, help_text="Stable id within the run, e.g. scan:han0.")
    title = models.CharField(max_length=120)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    detail = models.CharField(max_length=300, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["run", "started_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["run", "key"], name="unique_step_key_per_run"),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.get_status_display()})"


class ObservedInterface(models.Model):
    run = models.ForeignKey(HanTestRun, on_delete=models.CASCADE, related_name="interfaces")
    identifier = models.CharField(max_length=32)
    technology = models.CharField(max_length=16, default="zigbee")
    channel = models.PositiveSmallIntegerField(null=True, blank=True)
    pan_id = models.PositiveIntegerField(null=True, blank=True)
    extended_pan_id = models.CharField(max_length=23, blank=True)
    security_level = models.PositiveSmallIntegerField(null=True, blank=True)
    device_count = models.PositiveIntegerField(null=True, blank=True)
    energy_by_channel = models.JSONField(default=dict, blank=True)
    # The gateway's radio type (ezsp, znp, deconz, simulated): the LQI scale of its links
    radio = models.CharField(max_length=16, blank=True, default="", db_default="")
    # The rest of what the gateway said of the interface, as a head-end shows it: Smart Energy
    # version, coordinator stack and firmware, Trust Center, join policy, open join windows
    # and capacity (empty for runs recorded before, and in generated history).
    reported = models.JSONField(default=dict, blank=True, db_default={})

    class Meta:
        ordering = ["run", "identifier"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "identifier"], name="unique_observed_interface_per_run"
            ),
        ]

    def __str__(self) -> str:
        return f"Interface {self.identifier} in run {self.run_id}"


class ObservedDevice(models.Model):
    """A device as one run saw it, with what the portal knew about it at the time."""

    run = models.ForeignKey(HanTestRun, on_delete=models.CASCADE, related_name="devices")
    interface = models.CharField(max_length=32)
    sequence = models.PositiveIntegerField(help_text="Order in which the run found it.")
    eui64 = models.CharField("EUI-64", max_length=23)
    network_address = models.PositiveIntegerField(null=True, blank=True)
    device_type = models.CharField(max_length=16, blank=True)
    name = models.CharField(max_length=120, blank=True)
    category = models.CharField(max_length=32, blank=True, choices=HanDevice.Category.choices)
    network = models.CharField(
        max_length=16, default=HanDevice.Network.UTILITY, choices=HanDevice.Network.choices
    )
    manufacturer = models.CharField(max_length=64, blank=True)
    model = models.CharField(max_length=64, blank=True)
    firmware_version = models.CharField(max_length=32, blank=True)
    ota_file_version = models.BigIntegerField(null=True, blank=True)
    power_source = models.CharField(max_length=32, blank=True)
    profile_id = models.PositiveIntegerField(null=True, blank=True)
    reachable = models.BooleanField(default=True)
    link_quality = models.PositiveSmallIntegerField(null=True, blank=True)
    rssi = models.SmallIntegerField(null=True, blank=True)
    join_method = models.CharField(max_length=16, default="unknown")
    registered = models.BooleanField(default=False)
    operational_check = models.CharField(max_length=20, blank=True)
    details = models.JSONField(
        default=dict, blank=True, help_text="Links, endpoints and clusters as the scan reported."
    )

    class Meta:
        ordering = ["run", "sequence"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "interface", "eui64"], name="unique_observed_device_per_run"
            ),
        ]
        indexes = [
            models.Index(fields=["eui64"]),
            models.Index(fields=["model", "run"], name="observed_device_model_run_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_category_display() or 'Device'} {self.eui64} in run {self.run_id}"


class Finding(models.Model):
    run = models.ForeignKey(HanTestRun, on_delete=models.CASCADE, related_name="findings")
    rule = models.CharField(max_length=48)
    severity = models.CharField(max_length=16)
    action = models.CharField(max_length=48)
    title = models.CharField(max_length=200)
    evidence = models.TextField(blank=True)
    customer_text = models.TextField(blank=True)
    eui64 = models.CharField(max_length=23, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["run", "position"]
        indexes = [
            models.Index(fields=["rule", "run"], name="finding_rule_run_idx"),
            models.Index(fields=["action", "run"], name="finding_action_run_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.severity}: {self.title}"

    @property
    def rule_label(self) -> str:
        return rule_label(self.rule)


class CustomerMessage(models.Model):
    """Instructions emailed to the customer from a run: what to do, in their words, and a link
    back to their result."""

    run = models.ForeignKey(HanTestRun, on_delete=models.CASCADE, related_name="messages")
    sent_to = models.EmailField()
    sent_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, related_name="customer_messages"
    )
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["run", "sent_at", "pk"]

    def __str__(self) -> str:
        return f"Instructions for run {self.run_id}"


class RecordedAction(models.Model):
    """What the rep (or customer) did about a run's findings before retesting."""

    run = models.ForeignKey(HanTestRun, on_delete=models.CASCADE, related_name="actions")
    action = models.CharField(max_length=48, help_text="A recommended action, or 'other'.")
    note = models.TextField(blank=True)
    recorded_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, related_name="recorded_actions"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["run", "recorded_at"]
        indexes = [models.Index(fields=["action", "run"], name="recorded_action_run_idx")]

    def __str__(self) -> str:
        return f"{self.action} on run {self.run_id}"

    @property
    def action_label(self) -> str:
        return action_label(self.action, unknown="Other")


class DiagnosisReview(models.Model):
    """An administrator's judgement of one finding, so the rules can be tuned.

    A "healthy" finding judged wrong is a problem the rules missed.
    """

    class Verdict(models.TextChoices):
        RIGHT = "right", "Right"
        WRONG = "wrong", "Wrong"

    finding = models.OneToOneField(Finding, on_delete=models.CASCADE, related_name="review")
    # Kept beside the finding so the report by rule and the history's review filter need no
    # join: a few reviewed runs among millions are found from this side.
    run = models.ForeignKey(HanTestRun, on_delete=models.CASCADE, related_name="reviews")
    rule = models.CharField(max_length=48)
    verdict = models.CharField(max_length=8, choices=Verdict.choices)
    comment = models.TextField(blank=True)
    reviewed_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, related_name="diagnosis_reviews"
    )
    reviewed_at = models.DateTimeField()

    class Meta:
        ordering = ["-reviewed_at"]
        indexes = [
            models.Index(fields=["rule", "verdict"]),
            models.Index(fields=["verdict", "run"], name="review_verdict_run_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_verdict_display()}: {self.rule} (finding {self.finding_id})"

    @property
    def rule_label(self) -> str:
        return rule_label(self.rule)


class HanDataAccess(models.Model):
    """The privacy audit: every time staff viewed a customer's HAN data, and what."""

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="han_data_accesses")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="accesses")
    premise = models.ForeignKey(Premise, on_delete=models.SET_NULL, null=True, blank=True)
    what = models.CharField(max_length=120)
    customer_han_shown = models.BooleanField(
        default=False, help_text="Customer-owned devices were shown in full (consent given)."
    )
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-at"]
        verbose_name = "HAN data access"
        verbose_name_plural = "HAN data accesses"
        indexes = [models.Index(fields=["customer", "-at"]), models.Index(fields=["user", "-at"])]

    def __str__(self) -> str:
        return f"{self.user} viewed {self.what} of {self.customer} at {self.at:%Y-%m-%d %H:%M}"


class ApiToken(AbstractAuthToken):
    """An integration's API token (django-rest-knox): only a digest of the token is stored.

    The token is shown once, when an administrator issues it; it stops working when it expires
    or is revoked. A revoked token is kept, so the list shows what was revoked and when.
    """

    # Not the primary key, as in knox: admin URLs and the admin's history then name a token by
    # a plain id rather than by its digest.
    digest = models.CharField(max_length=CONSTANTS.DIGEST_LENGTH, unique=True)
    name = models.CharField(max_length=100, help_text="What uses the token, e.g. “CRM production”.")
    created_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name} ({self.user})"


_M = TypeVar("_M", bound=models.Model)


def save_changes(instance: _M, **values: object) -> _M:
    """Set ``values`` on ``instance`` and write just those columns."""
    for field, value in values.items():
        setattr(instance, field, value)
    instance.save(update_fields=list(values))
    return instance
