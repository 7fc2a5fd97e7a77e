"""The embedded default that needs no key and no network: the offline model and
its understanding of what the user asked for."""
