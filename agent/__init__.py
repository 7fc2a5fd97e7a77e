"""Mechanism: the LiveKit agent, how session changes are applied on each provider,
session wiring, the offline model and the command line."""
