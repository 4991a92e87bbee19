"""Emulated radio hardware: real radio libraries talk to a scenario's virtual HAN over TCP."""
