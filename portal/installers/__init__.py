"""The field technician's pages: their open work orders, and a work order at the premise."""
