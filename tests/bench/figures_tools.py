"""What the ``tools/list`` answer costs a client: characters on the wire and in the model's context.

The answer is taken from the real server process over stdio (the official SDK client), not rebuilt
here. Hosts put each tool's name, description and input schema in the model's context (output
schemas, annotations and icons stay with the client), so that part is counted on its own. Tokens are
approximated as characters / 4, the usual rule of thumb for English and JSON with common tokenisers;
the baseline is the same answer trimmed by ``LABMCP_TOOLS`` to the three tools a read-only
question needs (what an administrator can choose).
"""

from __future__ import annotations

import json
from typing import Any

from tests.bench.context import ORDER_ECONOMY, Bench, Section
from tests.bench.report import Row
from tests.e2e.helpers import server_env, stdio_client

TRIMMED = "list_notebooks,read_page,search"
CHARS_PER_TOKEN = 4
MODEL_TOKEN_GOAL = 2_000
"""Our own line: the model-facing tool list should stay under 1 % of a 200k-token context."""


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


async def _listed(bench: Bench, **env: str) -> tuple[int, int]:
    """(characters of the whole tools/list result, characters the model sees) from the real server."""
    async with stdio_client(server_env(bench.fake, **env)) as client:
        result = await client.list_tools()
    wire = _compact(result.model_dump(by_alias=True, exclude_none=True, mode="json"))
    model = _compact(
        [{"name": t.name, "description": t.description, "inputSchema": t.input_schema} for t in result.tools]
    )
    return len(wire), len(model)


async def tool_surface(bench: Bench) -> list[Row]:
    wire, model = await _listed(bench)
    trimmed_wire, trimmed_model = await _listed(bench, LABMCP_TOOLS=TRIMMED)
    tokens, trimmed_tokens = model // CHARS_PER_TOKEN, trimmed_model // CHARS_PER_TOKEN
    bench.note(
        f"tools/list cost: the baseline column is the same list with LABMCP_TOOLS={TRIMMED}; tokens are "
        f"characters / {CHARS_PER_TOKEN}; the wire figure includes output schemas and the 32 px data: icons."
    )
    return [
        Row("tools/list: whole answer on the wire", wire, trimmed_wire, "chars"),
        Row(
            "tools/list: what the model reads (names, descriptions, input schemas)",
            tokens,
            trimmed_tokens,
            "≈tokens",
            goal=f"≤ {MODEL_TOKEN_GOAL}",
            met=tokens <= MODEL_TOKEN_GOAL,
        ),
    ]


SECTIONS = (Section("tool-surface", ORDER_ECONOMY + 5, tool_surface, smoke=("tools/list:",)),)
