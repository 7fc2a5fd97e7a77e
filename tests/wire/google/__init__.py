"""Gemini Live: its loopback fake (TLS), google-genai's schemas, its tests."""
