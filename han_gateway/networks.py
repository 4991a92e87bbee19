"""The two networks a HAN device may belong to, as stored and as drawn. Imports no Django."""

from typing import Final

UTILITY: Final = "utility"  # the utility's own devices, registered with the Trust Center
CUSTOMER: Final = "customer"  # customer-owned devices on the same HAN, privacy-protected
