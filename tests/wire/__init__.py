"""Wire tests: the real LiveKit realtime plugins against loopback fakes of the provider APIs."""
