"""The model-facing surface: the three session-control tools.

Tool and argument names are a public interface (frontends and evals depend on
them): ``switch_persona(persona)``, ``forget_conversation(scope?, about?)`` and
``mark_user_away(reason?, minutes?)``.
"""

from .arguments import FORGET_SCOPES, MAX_AWAY_MINUTES, Arguments, ForgetArgs, ForgetScopeArgs, MarkAwayArgs, SwitchPersonaArgs
from .session_tools import Outcome, PersonaChoice, SessionControl, about_minutes, build_session_tools

__all__ = [
    "FORGET_SCOPES",
    "MAX_AWAY_MINUTES",
    "Arguments",
    "ForgetArgs",
    "ForgetScopeArgs",
    "MarkAwayArgs",
    "Outcome",
    "PersonaChoice",
    "SessionControl",
    "SwitchPersonaArgs",
    "about_minutes",
    "build_session_tools",
]
