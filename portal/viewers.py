"""Who is looking at a customer's HAN data, and so what they may see of it.

Built once, by ``selectors.han_viewer`` after the access check (and with the audit row by
``services.han_data_view_open``), then handed to every page, API answer, live stream, picture
and export that shows the data. Nothing re-derives it under another name.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Viewer:
    """``staff``: works for the utility, so is shown the technical evidence.

    ``sees_customer_han``: shown customer-owned devices in full (identifier, model, firmware):
    the customer themselves, or staff with the customer's consent. Otherwise those devices are
    shown by category and maker with a masked identifier.
    """

    staff: bool
    sees_customer_han: bool

    @property
    def masks_customer_han(self) -> bool:
        return not self.sees_customer_han


CUSTOMER = Viewer(staff=False, sees_customer_han=True)
