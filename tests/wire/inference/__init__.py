"""LiveKit Inference (openai/* models): the inference RealtimeModel against the OpenAI Realtime fake."""
