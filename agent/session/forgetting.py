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

import re
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


def previous_turn(items: Sequence[llm.ChatItem], call_id: str | None = None, reply_ids: Collection[str] = ()) -> llm.ChatItem | None:
    """The user turn before the one asking to forget, if its transcript is there."""
    turns = _user_turns(items, _call_index(items, call_id), reply_ids)
    return items[turns[-2]] if len(turns) >= 2 and turns[-2] is not None else None


def items_to_forget(
    items: Sequence[llm.ChatItem],
    scope: str,
    call_id: str | None,
    reply_ids: Collection[str] = (),
    *,
    about: str | None = None,
) -> list[llm.ChatItem]:
    """The items a forget request removes.

    ``everything``: the whole conversation up to the request (instructions stay).
    ``last_turn``: the user's previous turn and the agent's reply to it, plus the
    request itself. ``about``: every earlier user turn that mentions it (``mentions``)
    and the replies to it, plus the request; nothing at all when no turn mentions it.
    Either way the tool call, its output and the acknowledgement go too, so no
    dangling call is left behind; a later turn is kept.
    """
    call = _call_index(items, call_id)
    turns = _user_turns(items, call, reply_ids)
    if about is not None and topic_words(about):
        matched = [t for t in turns[:-1] if t is not None and mentions(items[t], about)]
        if not matched:
            return []
        # each matching turn up to the next user turn (its replies), and the request onwards
        bounds = [(t, next((u for u in turns if u is not None and u > t), call)) for t in matched]
        bounds.append((turns[-1] if turns[-1] is not None else call, call))
        inside = lambda i: any(a <= i < b for a, b in bounds)  # noqa: E731
    elif scope == "everything":
        inside = lambda i: True  # noqa: E731
    else:
        if len(turns) < 2 or turns[-2] is None:
            return []
        inside = lambda i, start=turns[-2]: i >= start  # noqa: E731
    return [
        it
        for i, it in enumerate(items)
        if _is_conversation(it) and ((i < call and inside(i)) or (i >= call and _of_this_reply(it, call_id, reply_ids)))
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


# words that say nothing about what to forget ("what I said about my card number")
_NOT_TOPIC = frozenset(
    "a an the my your our his her their its me i you we it this that these those about what said told say tell "
    "mentioned of on to for and or all any some stuff thing things part bit everything anything user user's "
    "please just".split()
)


def _stem(word: str) -> str:
    word = word.removesuffix("'s")
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def topic_words(about: str) -> set[str]:
    """The words that name what to forget: "my card number" -> {"card", "number"}."""
    return {_stem(w) for w in re.findall(r"[a-z0-9']+", about.lower().replace("\u2019", "'"))} - _NOT_TOPIC


def mentions(item: llm.ChatItem, about: str) -> bool:
    """A message mentions ``about`` when it has every word that names it (plurals alike)."""
    said = {_stem(w) for w in re.findall(r"[a-z0-9']+", (item.text_content or "").lower().replace("\u2019", "'"))}
    wanted = topic_words(about)
    return bool(wanted) and wanted <= said


def earlier_turns(items: Sequence[llm.ChatItem], call_id: str | None = None, reply_ids: Collection[str] = ()) -> list[llm.ChatItem]:
    """The user's turns before the one asking to forget, oldest first."""
    return [items[t] for t in _user_turns(items, _call_index(items, call_id), reply_ids)[:-1] if t is not None]
