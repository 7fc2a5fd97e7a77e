"""The agent: the mechanism (``session/``), the offline default (``offline/``), which
models a session runs on (``providers``) and the ways in (``chat``, ``worker``,
``prompts_cli``, ``__main__``)."""
