"""OpenAI Realtime: its loopback fake, the openai SDK's schemas (also the Chat Completions fake's), its tests."""
