"""Indexes for searching customers by phone number, email address and meter number digits, on
PostgreSQL only (see 0006 for why they are raw SQL).

The phone index is on the number with its punctuation taken out, the very expression
``portal.customers.selectors.phone_digits`` builds, so "(217) 555-0102" is found by
"2175550102" without reading every customer.
"""

import importlib

from django.db import migrations

search_indexes = importlib.import_module("portal.migrations.0006_customer_search_indexes")

PHONE_DIGITS = "phone"
for mark in ("-", " ", "(", ")", ".", "+"):
    PHONE_DIGITS = f"REPLACE({PHONE_DIGITS}, '{mark}', '')"

INDEXES = {
    "customer_phone_digits_idx": f"portal_customer (({PHONE_DIGITS}) text_pattern_ops)",
    "customer_email_prefix_idx": "portal_customer (UPPER(email) text_pattern_ops)",
    "gateway_meter_trgm_idx": (
        "han_gateway_premisesgateway USING gin (UPPER(meter_number) gin_trgm_ops)"
    ),
}


class Migration(migrations.Migration):
    dependencies = [
        ("han_gateway", "0003_han_device_name"),
        ("portal", "0013_observed_interface_radio"),
    ]

    operations = [
        *[
            search_indexes.RunSQLOnPostgreSQL(
                sql=f"CREATE INDEX {name} ON {definition}",
                reverse_sql=f"DROP INDEX IF EXISTS {name}",
            )
            for name, definition in INDEXES.items()
        ],
        search_indexes.RunSQLOnPostgreSQL(
            sql="ANALYZE portal_customer, han_gateway_premisesgateway",
            reverse_sql=migrations.RunSQL.noop,
        ),
    ]
