"""The agent: the mechanism (``session/``), the offline default (``offline/``), which
models a session runs on (``providers``) and the ways in (``chat``, ``worker``,
``prompts_cli``, ``__main__``)."""

import os

# onnxruntime (Piper, and LiveKit's local VAD and turn detector) sends telemetry on
# Linux unless told not to; an offline session must attempt no connection
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
