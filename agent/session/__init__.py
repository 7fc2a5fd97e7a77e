"""The mechanism: the Agent subclass, the controller that commits session changes
only when they really happened, per-provider strategies, the away hold (and the gate
in front of a realtime model's own replies while it runs), forgetting, and every
LiveKit private name (lk_private)."""
