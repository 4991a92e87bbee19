"""The Django admin of the portal: its users, customers, premises, tokens, audit log and the HAN on
record (gateways, interfaces, devices), each with the masking and audit its data needs."""

from portal.admin import han_models, portal_models  # noqa: F401 - register their model admins
