"""The pipeline: the Chat Completions fake (an OpenAI-compatible LLM) and the pipeline's tests."""
