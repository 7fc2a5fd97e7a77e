"""The mechanism: the Agent subclass, the controller that commits session changes
only when they really happened, per-provider strategies, the away hold, forgetting,
and every LiveKit private name (lk_private)."""
