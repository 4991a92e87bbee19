"""Benchmark of the review pages at utility scale, on PostgreSQL.

With a million premises and two million runs (``manage.py generate_history_data``), it times
what reps and administrators open most, through Django's test ``Client`` (the whole stack but
the network: middleware, sessions, views, queries, templates), signed in with ``force_login``:

- customer search (``/customers/?q=``) as a rep: surnames, full names, account numbers, meter
  numbers, house number and street, street names, all drawn from the data;
- the customer page (``/customers/<id>/``) as a rep, for random customers;
- the history (``/history/``) as an administrator, with random combinations of its filters,
  each followed three pages deep through the "older" links.

It prints p50, p95 and max in ms and the SQL queries per request for each, whether p95 is under
the 100 ms budget, and a baseline from the same run (``/health/``, a request that reads
nothing, and one ``SELECT 1`` through the ORM); then checks that query counts do not grow with
the page: history with 25 and 100 runs a page, a customer with 1 premise and one with 4.

It uses its own database (``han_bench`` unless DATABASE_URL names another), creates it if
needed, migrates it, and generates the data unless it is there already. Production settings:
DEBUG off.

    .venv/bin/python bench/bench_review_pages.py [--premises 1000000 --runs 2000000]
        [--requests 200] [--explain]
"""

import argparse
import datetime as dt
import html
import os
import random
import re
import statistics
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/han_bench"
BUDGET_MS = 100.0
# The generated gateways are never reached here; production settings still want their service
# URLs on https and on an allowed origin.
BENCH_SERVICE_URL = "https://gateways.bench.invalid"


def _prepare_environment() -> str:
    """PostgreSQL and production settings, before Django starts; creates the database."""
    url = os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql"}:
        raise SystemExit("This benchmark runs on PostgreSQL: set DATABASE_URL to one.")
    name = parts.path.lstrip("/")
    if name in {"han_ci", "test_han_ci"}:
        raise SystemExit(f"Refusing to use {name}: it belongs to CI.")
    import psycopg

    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{name}"')
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    os.environ.setdefault("DJANGO_DEBUG", "0")
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-" + os.urandom(16).hex())
    os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "0")
    os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")
    os.environ.setdefault("HAN_GATEWAY_SERVICE_ORIGINS", BENCH_SERVICE_URL)
    os.environ.setdefault("PORTAL_VAR_DIR", "/tmp/han-bench-review")  # noqa: S108
    return name


DATABASE_NAME = _prepare_environment()

import django  # noqa: E402

django.setup()
# As the ASGI server does once the portal is loaded (portal/asgi.py).
import gc  # noqa: E402

gc.freeze()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Count, Max, Min  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from bench.figures import percentile  # noqa: E402
from han_gateway.models import PremisesGateway  # noqa: E402
from portal.diagnosis.rules import ACTION_LABELS  # noqa: E402
from portal.history.filters import rule_choices  # noqa: E402
from portal.history.pagination import PAGE_SIZES  # noqa: E402
from portal.management.commands.generate_history_data import generated_counts  # noqa: E402
from portal.models import Customer, HanTestRun, ObservedDevice, Premise, User  # noqa: E402


class Timings:
    """Milliseconds and query counts per kind of request."""

    def __init__(self) -> None:
        self.ms: dict[str, list[float]] = defaultdict(list)
        self.queries: dict[str, list[int]] = defaultdict(list)
        self.slowest: dict[str, tuple[float, str]] = {}
        self.over_budget: list[tuple[str, float, str, list[dict[str, str]]]] = []

    def add(self, kind: str, ms: float, queries: int, url: str) -> None:
        self.ms[kind].append(ms)
        self.queries[kind].append(queries)
        if ms > self.slowest.get(kind, (0.0, ""))[0]:
            self.slowest[kind] = (ms, url)
        if ms > BUDGET_MS:
            self.over_budget.append((kind, ms, url, LAST_QUERIES[:]))


def timed_get(client: Client, url: str, params: dict[str, Any] | str | None = None) -> Any:
    """One request: (response, ms, SQL queries)."""
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        if isinstance(params, str):
            response = client.get(f"{url}?{params}")
        else:
            response = client.get(url, params or {})
        ms = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise RuntimeError(f"{url} {params!r}: HTTP {response.status_code}")
    LAST_QUERIES[:] = queries.captured_queries
    return response, ms, len(queries.captured_queries)


LAST_QUERIES: list[dict[str, str]] = []


# --- Data and sign-ins --------------------------------------------------------------------------


def ensure_data(premises: int, runs: int) -> None:
    call_command("migrate", verbosity=0)
    existing = generated_counts()
    if existing["premises"] == premises and existing["runs"] == runs:
        print(
            f"Reusing the generated data in {DATABASE_NAME}: {premises:,} premises, {runs:,} runs"
        )
        return
    print(f"Generating {premises:,} premises and {runs:,} runs in {DATABASE_NAME}…", flush=True)
    started = time.monotonic()
    call_command(
        "generate_history_data",
        premises=premises,
        runs=runs,
        wipe_generated=any(existing.values()),
        service_url=BENCH_SERVICE_URL,
    )
    print(f"Generated in {time.monotonic() - started:.0f} s", flush=True)


def signed_in(username: str, role: str) -> Client:
    user, _ = User.objects.get_or_create(
        username=username, defaults={"role": role, "is_staff": role == User.Role.ADMINISTRATOR}
    )
    client = Client()
    client.force_login(user)
    return client


class Samples:
    """Inputs drawn at random from the generated data."""

    def __init__(self, rng: random.Random, size: int) -> None:
        self.rng = rng
        bounds = Customer.objects.filter(account_number__regex=r"^8[0-9]{11}$").aggregate(
            low=Min("pk"), high=Max("pk")
        )
        ids = [rng.randint(bounds["low"], bounds["high"]) for _ in range(size * 3)]
        self.customers = list(
            Customer.objects.filter(pk__in=ids).prefetch_related("premises__premises_gateway")
        )[: size * 2]
        rng.shuffle(self.customers)
        self.reps = list(
            User.objects.filter(role=User.Role.REPRESENTATIVE, username__startswith="gen-")
            .order_by("?")
            .values_list("username", flat=True)[:50]
        )
        self.regions = sorted(set(PremisesGateway.objects.values_list("region", flat=True)[:5000]))
        self.gateway_models = sorted(
            set(PremisesGateway.objects.values_list("model", flat=True)[:20000])
        )
        recent_runs = HanTestRun.objects.order_by("-pk").values("pk")[:2000]
        self.device_models = sorted(
            set(
                ObservedDevice.objects.filter(run_id__in=recent_runs).values_list(
                    "model", flat=True
                )
            )
            - {""}
        )
        span = HanTestRun.objects.aggregate(
            first=Min("created_at"), last=Max("created_at"), low=Min("pk"), high=Max("pk")
        )
        self.first_day = span["first"].date()
        self.last_day = span["last"].date()
        self.run_ids = (span["low"], span["high"])

    def search_term(self) -> tuple[str, str]:
        customer = self.rng.choice(self.customers)
        premise = self.rng.choice(list(customer.premises.all()))
        kind = self.rng.choice(
            ["surname", "full name", "account", "meter", "number and street", "street"]
        )
        if kind == "surname":
            return kind, customer.name.split()[-1]
        if kind == "full name":
            return kind, customer.name
        if kind == "account":
            return kind, customer.account_number
        if kind == "meter":
            assert premise.premises_gateway is not None
            meter = premise.premises_gateway.meter_number
            return kind, meter.lower() if self.rng.random() < 0.3 else meter
        number, street = premise.address_line.split(" ", 1)
        if kind == "number and street":
            return kind, f"{number} {street.split()[0]}"
        return kind, street

    def history_filters(self) -> dict[str, str]:
        """Filters as an administrator combines them: values seen together on one run.

        Each filter is used with its own chance, its value taken from a random run: a month
        around it, its outcome, one of its findings and that finding's action, the action
        taken, the rep, the region, the meter and device models, its review. That run matches.
        """
        rng = self.rng
        run = self.random_run()
        findings = list(run.findings.all())
        finding = rng.choice(findings) if findings else None
        actions = [action.action for action in run.actions.all()]
        models = [device.model for device in run.devices.all() if device.model]
        reviews = [f.review.verdict for f in findings if hasattr(f, "review")]
        values: dict[str, str | None] = {
            "outcome": run.status,
            "case_status": run.case.status,
            "finding": finding.rule if finding else None,
            "recommended": finding.action if finding else None,
            "taken": rng.choice(actions) if actions else None,
            "rep": run.started_by.username if run.started_by else None,
            "region": run.region,
            "gateway_model": run.gateway_model,
            "device_model": rng.choice(models) if models else None,
            "review": rng.choice(reviews) if reviews else "unreviewed",
        }
        params: dict[str, str] = {}
        if rng.random() < 0.6:
            start = run.created_at.date() - dt.timedelta(days=rng.randrange(30))
            params["date_from"] = start.isoformat()
            params["date_to"] = (start + dt.timedelta(days=30)).isoformat()
        for name, value in values.items():
            if value is not None and rng.random() < FILTER_CHANCES[name]:
                params[name] = value
        return self._order_and_size(params)

    def independent_history_filters(self) -> dict[str, str]:
        """Each filter's value drawn on its own: contradictions and empty results included."""
        rng = self.rng
        params: dict[str, str] = {}
        if rng.random() < 0.6:
            span = (self.last_day - self.first_day).days
            start = self.first_day + dt.timedelta(days=rng.randrange(span))
            params["date_from"] = start.isoformat()
            params["date_to"] = (start + dt.timedelta(days=30)).isoformat()
        choices: dict[str, Callable[[], str]] = {
            "outcome": lambda: rng.choice(["passed", "failed", "error", "cancelled"]),
            "case_status": lambda: rng.choice(["open", "resolved"]),
            "finding": lambda: rng.choice(rule_choices())[0],
            "recommended": lambda: rng.choice(list(ACTION_LABELS)).value,
            "taken": lambda: rng.choice([*ACTION_LABELS, "other"]),
            "rep": lambda: rng.choice(self.reps),
            "region": lambda: rng.choice(self.regions),
            "gateway_model": lambda: rng.choice(self.gateway_models),
            "device_model": lambda: rng.choice(self.device_models),
            "review": lambda: rng.choice(["unreviewed", "right", "wrong"]),
        }
        for name, value in choices.items():
            if rng.random() < FILTER_CHANCES[name]:
                params[name] = str(value())
        return self._order_and_size(params)

    def _order_and_size(self, params: dict[str, str]) -> dict[str, str]:
        if self.rng.random() < 0.2:
            params["sort"] = "oldest"
        params["per_page"] = str(self.rng.choice(PAGE_SIZES))
        return params

    def random_run(self) -> HanTestRun:
        while True:
            run = (
                HanTestRun.objects.filter(pk=self.rng.randint(*self.run_ids))
                .select_related("case", "started_by")
                .prefetch_related("findings__review", "actions", "devices")
                .first()
            )
            if run is not None:
                return run


# How often each history filter is used.
FILTER_CHANCES = {
    "outcome": 0.3,
    "case_status": 0.15,
    "finding": 0.3,
    "recommended": 0.15,
    "taken": 0.1,
    "rep": 0.15,
    "region": 0.3,
    "gateway_model": 0.2,
    "device_model": 0.15,
    "review": 0.1,
}


NEXT_LINK = re.compile(r'rel="next" href="\?([^"]*)"')


# --- The measurements ---------------------------------------------------------------------------


def baseline(client: Client, timings: Timings, requests: int) -> None:
    for _ in range(requests):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
            ms = (time.perf_counter() - started) * 1000
        timings.add("baseline: SELECT 1 through the ORM", ms, len(queries), "SELECT 1")
        _, ms, count = timed_get(client, "/health/")
        timings.add("baseline: /health/", ms, count, "/health/")


def customer_search(client: Client, samples: Samples, timings: Timings, requests: int) -> None:
    for _ in range(requests):
        kind, term = samples.search_term()
        _, ms, count = timed_get(client, "/customers/", {"q": term})
        timings.add("customer search", ms, count, f"/customers/?q={term}")
        timings.add(f"  search: {kind}", ms, count, f"/customers/?q={term}")


def customer_page(client: Client, samples: Samples, timings: Timings, requests: int) -> None:
    for customer in samples.customers[:requests]:
        _, ms, count = timed_get(client, f"/customers/{customer.pk}/")
        timings.add("customer page", ms, count, f"/customers/{customer.pk}/")


def history_pages(
    client: Client,
    samples: Samples,
    timings: Timings,
    requests: int,
    *,
    independent: bool = False,
) -> Counter[str]:
    """First pages, each followed by its next two pages (fewer when the runs run out)."""
    outcomes: Counter[str] = Counter()
    done = 0
    first, following_kind = (
        ("history, independent filters", "  ... their next pages")
        if independent
        else ("history, first page", "history, next pages")
    )
    while done < requests:
        params = samples.independent_history_filters() if independent else samples.history_filters()
        response, ms, count = timed_get(client, "/history/", params)
        query = "&".join(f"{key}={value}" for key, value in params.items())
        timings.add(first, ms, count, f"/history/?{query}")
        done += 1
        pages = 1
        while pages < 3 and done < requests:
            link = NEXT_LINK.search(response.content.decode())
            if link is None:
                break
            following = html.unescape(link.group(1))
            response, ms, count = timed_get(client, "/history/", following)
            timings.add(following_kind, ms, count, f"/history/?{following}")
            pages += 1
            done += 1
        outcomes["full pages" if pages == 3 else f"{pages} page(s), then the end"] += 1
    return outcomes


def query_counts(admin: Client, rep: Client) -> list[tuple[str, int, int]]:
    """The same page small and large: the number of queries must be the same."""
    checks = []
    smallest, largest = min(PAGE_SIZES), max(PAGE_SIZES)
    for params in ({}, {"region": "north", "finding": "weak_link"}):
        counts = [
            timed_get(admin, "/history/", {**params, "per_page": size})[2]
            for size in (smallest, largest)
        ]
        label = f"history, {smallest} vs {largest} runs a page" + (" (filtered)" if params else "")
        checks.append((label, counts[0], counts[1]))
    with_premises = (
        Customer.objects.filter(account_number__regex=r"^8[0-9]{11}$")
        .annotate(count=Count("premises"))
        .filter(count__in=[1, 4])
    )
    one = with_premises.filter(count=1).first()
    four = with_premises.filter(count=4).first()
    if one is not None and four is not None:
        counts = [timed_get(rep, f"/customers/{customer.pk}/")[2] for customer in (one, four)]
        checks.append(("customer page, 1 vs 4 premises", counts[0], counts[1]))
    return checks


def report(
    timings: Timings,
    checks: list[tuple[str, int, int]],
    outcomes: Counter[str],
    *,
    verbose: bool = False,
) -> bool:
    base = statistics.median(timings.ms["baseline: /health/"])
    print(
        f"\n{'page':<36}{'n':>5}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}{'queries':>10}"
        f"{'p95 < 100':>11}{'p50/base':>10}"
    )
    ok = True
    for kind, values in timings.ms.items():
        p95 = percentile(values, 0.95)
        counts = timings.queries[kind]
        queries = f"{min(counts)}" if min(counts) == max(counts) else f"{min(counts)}-{max(counts)}"
        within = (
            ""
            if kind.startswith("baseline") or kind.startswith("  ")
            else ("yes" if p95 < BUDGET_MS else "NO")
        )
        if within == "NO":
            ok = False
        print(
            f"{kind:<36}{len(values):>5}{statistics.median(values):>9.1f}{p95:>9.1f}"
            f"{max(values):>9.1f}{queries:>10}{within:>11}"
            f"{statistics.median(values) / base:>10.1f}"
        )
    print("  (p50/base: median against the median of /health/, a request that reads nothing)")
    print(f"\nhistory walks: {dict(outcomes)}")
    print("\nqueries per request, small page vs large page")
    for label, small, large in checks:
        same = small == large
        ok = ok and same
        print(f"  {label:<46}{small:>4}{large:>6}   {'same' if same else 'DIFFERENT'}")
    if verbose:
        print(
            f"\n{len(timings.over_budget)} requests over {BUDGET_MS:.0f} ms, slowest query of each"
        )
        for kind, ms, url, captured in timings.over_budget:
            top = max(captured, key=lambda query: float(query["time"]))
            print(f"  {ms:7.1f} ms  {kind.strip()}: {url[:120]}")
            print(f"           {float(top['time']) * 1000:7.1f} ms  {top['sql'][:160]}")
    print("\nslowest request of each kind")
    for kind, (ms, url) in timings.slowest.items():
        if not kind.startswith("baseline"):
            print(f"  {ms:8.1f} ms  {url[:140]}")
    return ok


def explain_slowest(timings: Timings) -> None:
    """EXPLAIN (ANALYZE, BUFFERS) of the slowest history request's runs query."""
    from django.http import QueryDict

    from portal.history.filters import history_filter

    ms, url = timings.slowest.get("history, first page", (0.0, ""))
    if not url:
        return
    filters = history_filter(QueryDict(url.split("?", 1)[1]), runs=HanTestRun.objects.all())
    filters.is_valid()
    queryset = filters.qs.order_by("-created_at", "-pk")[: filters.page_size + 1]
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
        print(f"\nEXPLAIN of the slowest history page ({ms:.0f} ms): {url}")
        for (line,) in cursor.fetchall():
            print(f"  {line}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--premises", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=2_000_000)
    parser.add_argument("--requests", type=int, default=200, help="per kind of page")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--explain", action="store_true", help="EXPLAIN the slowest history page")
    parser.add_argument(
        "--verbose", action="store_true", help="the slowest query of each request over budget"
    )
    arguments = parser.parse_args()

    ensure_data(arguments.premises, arguments.runs)
    rng = random.Random(arguments.seed)
    samples = Samples(rng, arguments.requests)
    rep = signed_in("bench-rep", User.Role.REPRESENTATIVE)
    admin = signed_in("bench-admin", User.Role.ADMINISTRATOR)
    sizes = {
        "customers": Customer.objects.count(),
        "premises": Premise.objects.count(),
        "runs": HanTestRun.objects.count(),
    }
    print(
        f"\nReview pages benchmark: PostgreSQL ({DATABASE_NAME}), "
        + ", ".join(f"{count:,} {what}" for what, count in sizes.items())
        + f"; {arguments.requests} requests of each kind, Django test Client, DEBUG off"
    )
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"load average at the start (1, 5, 15 min; {os.cpu_count()} CPUs): {load}")

    # Warm up: templates compiled, suggestions cached, connection open; not measured.
    warm = Timings()
    baseline(admin, warm, 20)
    customer_search(rep, samples, warm, 10)
    customer_page(rep, samples, warm, 10)
    history_pages(admin, samples, warm, 10)
    samples.customers = samples.customers[10:]

    timings = Timings()
    baseline(admin, timings, arguments.requests)
    customer_search(rep, samples, timings, arguments.requests)
    customer_page(rep, samples, timings, arguments.requests)
    outcomes = history_pages(admin, samples, timings, arguments.requests)
    history_pages(admin, samples, timings, arguments.requests, independent=True)
    checks = query_counts(admin, rep)
    ok = report(timings, checks, outcomes, verbose=arguments.verbose)
    if arguments.explain:
        explain_slowest(timings)
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"\nload average at the end (1, 5, 15 min; {os.cpu_count()} CPUs): {load}")
    print("all p95 under 100 ms and query counts flat:", "yes" if ok else "NO")


if __name__ == "__main__":
    main()
