"""Which conversation items a forget request removes (pure functions on chat items).

The same rule is applied to the agent's context, the realtime provider's own copy
of it and the session's history, so the words leave all of them, and the report
built from them.

Two things make "the turn before the request" harder than counting user messages:
a realtime model may add the user's transcript only after it replied (so the
request itself may be missing when the tool runs), and the next user turn may land
before the edit is applied. Items after the tool call are therefore forgotten only
when they belong to the tool's own reply (``reply_ids``: the speech handle's items).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from livekit.agents import llm

_CONVERSATION = ("message", "function_call", "function_call_output")


def _is_conversation(item: llm.ChatItem) -> bool:
    return item.type in _CONVERSATION and not (item.type == "message" and item.role in ("system", "developer"))


def _is_user(item: llm.ChatItem) -> bool:
    return item.type == "message" and item.role == "user"


def _call_index(items: Sequence[llm.ChatItem], call_id: str | None) -> int:
    for i, it in enumerate(items):
        if it.type == "function_call" and it.call_id == call_id:
            return i
    return len(items)


def _user_turns(items: Sequence[llm.ChatItem], call: int, reply_ids: Collection[str]) -> list[int | None]:
    """Indexes of the user turns before the call; the last is the request (None while
    its transcript has not arrived: an earlier reply follows the last user message)."""
    turns: list[int | None] = [i for i in range(call) if _is_user(items[i])]
    if turns:
        after_last = items[turns[-1] + 1 : call]  # type: ignore[operator]
        if any(it.type == "message" and it.role == "assistant" and it.id not in reply_ids for it in after_last):
            turns.append(None)
    return turns


def _of_this_reply(item: llm.ChatItem, call_id: str | None, reply_ids: Collection[str]) -> bool:
    return item.id in reply_ids or getattr(item, "call_id", None) == call_id


def last_exchanged(items: Sequence[llm.ChatItem]) -> llm.ChatItem | None:
    """The newest message or tool output: what a reply answers."""
    return next((it for it in reversed(items) if it.type in ("message", "function_call_output")), None)


def has_previous_turn(items: Sequence[llm.ChatItem], call_id: str | None = None, reply_ids: Collection[str] = ()) -> bool:
    """Whether there is a user turn before the one asking to forget."""
    return len(_user_turns(items, _call_index(items, call_id), reply_ids)) >= 2


def items_to_forget(
    items: Sequence[llm.ChatItem], scope: str, call_id: str | None, reply_ids: Collection[str] = ()
) -> list[llm.ChatItem]:
    """The items a forget request removes.

    ``everything``: the whole conversation up to the request (instructions stay).
    ``last_turn``: the user's previous turn and the agent's reply to it, plus the
    request itself. Either way the tool call, its output and the acknowledgement go
    too, so no dangling call is left behind; a later turn is kept.
    """
    call = _call_index(items, call_id)
    if scope == "everything":
        start = 0
    else:
        turns = _user_turns(items, call, reply_ids)
        if len(turns) < 2 or turns[-2] is None:
            return []
        start = turns[-2]
    return [
        it
        for i, it in enumerate(items)
        if _is_conversation(it) and ((start <= i < call) or (i >= call and _of_this_reply(it, call_id, reply_ids)))
    ]


def without(chat_ctx: llm.ChatContext, forgotten: Collection[llm.ChatItem] | Collection[str]) -> llm.ChatContext:
    ids = {it if isinstance(it, str) else it.id for it in forgotten}
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
