"""Ultravox: its loopback fake (POST /calls and the call WebSocket), its documented fields, its tests."""
