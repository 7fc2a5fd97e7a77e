"""Which conversation items a forget request removes (pure functions on chat items).

The same rule is applied to the agent's context and to the session's history,
so the words leave both, and the report built from them.
"""

from __future__ import annotations

from collections.abc import Sequence

from livekit.agents import llm

_CONVERSATION = ("message", "function_call", "function_call_output")


def _is_conversation(item: llm.ChatItem) -> bool:
    return item.type in _CONVERSATION and not (item.type == "message" and item.role in ("system", "developer"))


def _user_turns(items: Sequence[llm.ChatItem], before: int) -> list[int]:
    return [i for i, it in enumerate(items[:before]) if it.type == "message" and it.role == "user"]


def _call_index(items: Sequence[llm.ChatItem], call_id: str | None) -> int:
    for i, it in enumerate(items):
        if it.type == "function_call" and it.call_id == call_id:
            return i
    return len(items)


def last_exchanged(items: Sequence[llm.ChatItem]) -> llm.ChatItem | None:
    """The newest message or tool output: what a reply answers."""
    return next((it for it in reversed(items) if it.type in ("message", "function_call_output")), None)


def has_previous_turn(items: Sequence[llm.ChatItem], call_id: str | None = None) -> bool:
    """Whether there is a user turn before the one asking to forget."""
    return len(_user_turns(items, _call_index(items, call_id))) >= 2


def items_to_forget(items: Sequence[llm.ChatItem], scope: str, call_id: str | None) -> list[llm.ChatItem]:
    """The items a forget request removes.

    ``everything``: the whole conversation (instructions stay). ``last_turn``: the
    user's previous turn and the agent's reply to it, plus the request itself, the
    tool call and the acknowledgement, so no dangling call is left behind.
    """
    if scope == "everything":
        return [it for it in items if _is_conversation(it)]
    turns = _user_turns(items, _call_index(items, call_id))
    if len(turns) < 2:
        return []
    return [it for it in items[turns[-2] :] if _is_conversation(it)]


def without(chat_ctx: llm.ChatContext, forgotten: Sequence[llm.ChatItem]) -> llm.ChatContext:
    ids = {it.id for it in forgotten}
    kept = chat_ctx.copy()
    kept.items = [it for it in kept.items if it.id not in ids]
    return kept


def without_call(chat_ctx: llm.ChatContext, call_id: str) -> llm.ChatContext:
    """The context without a tool call still in flight (a fresh session must not
    inherit a call with no output)."""
    kept = chat_ctx.copy()
    kept.items = [it for it in kept.items if getattr(it, "call_id", None) != call_id]
    return kept


def spoken_texts(forgotten: Sequence[llm.ChatItem]) -> list[str]:
    return [it.text_content for it in forgotten if it.type == "message" and it.text_content]
