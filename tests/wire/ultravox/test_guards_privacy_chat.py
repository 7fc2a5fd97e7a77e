"""The chat keeps what users say out of the provider plugin's log records too.

A logging filter reaches only the loggers that exist when it is installed, and the chat
imports the chosen provider's plugin (whose logger comes with it) only at start-up. The
Ultravox plugin, with its debug switch on (``LK_ULTRAVOX_DEBUG=true``), logs every message
it sends and receives at DEBUG under ``lk.pii.event``, the user's words included. So the chat is run here as its own process (a fresh import,
as on the command line), at DEBUG, against the loopback Ultravox fake, and every record
it made is checked.
"""

from __future__ import annotations

import json
import sys

from tests.helpers import process_env, run_process

from .fake_ultravox import FakeUltravox
from .fixtures import ultravox_env

PROCESS_TIMEOUT = 60.0
SECRET = "my PIN is 4321"

# the chat in a process of its own, every record at every level kept, then summed up
SCRIPT = r"""
import asyncio, io, json, logging, sys
records = []
class Keep(logging.Handler):
    def emit(self, record):
        records.append(record)
logging.getLogger().addHandler(Keep(level=1))
logging.getLogger().setLevel(1)
from agent.chat import run_chat
env = json.loads(sys.argv[1])
code = asyncio.run(run_chat(jsonl=True, stdin=io.StringIO(sys.argv[2] + "\n/history\n"), stdout=io.StringIO(), stderr=sys.stderr, env=env))
pii = [(r.name, k, repr(v)) for r in records for k, v in vars(r).items() if k.startswith("lk.pii.")]
print(json.dumps({"code": code, "pii": pii}))
"""


async def _chat_logs(env: dict[str, str], line: str) -> dict[str, object]:
    out, _ = await run_process(
        sys.executable, "-c", SCRIPT, json.dumps(env), line,
        env=process_env() | {"LK_ULTRAVOX_DEBUG": "true"}, timeout=PROCESS_TIMEOUT,
    )  # fmt: skip
    return json.loads(out.strip().splitlines()[-1])


async def test_the_chat_on_ultravox_redacts_the_plugin_records_of_what_the_user_said(fake_ultravox: FakeUltravox) -> None:
    fake_ultravox.queue_text("Noted.")
    env = ultravox_env(fake_ultravox) | {"AGENT_PROVIDER": "ultravox"}
    logged = await _chat_logs(env, SECRET)

    assert logged["code"] == 0
    from_plugin = [p for p in logged["pii"] if p[0] == "livekit.plugins.ultravox"]
    assert from_plugin  # the plugin did log its messages, with personal fields
    leaked = [p for p in logged["pii"] if "4321" in p[2]]
    assert leaked == [], leaked[:5]
    assert all(value == repr("[redacted]") for _, _, value in logged["pii"])
