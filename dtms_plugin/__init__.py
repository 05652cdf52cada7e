"""DTMS, the Defensive Trade Management System: a hostapp plugin."""
