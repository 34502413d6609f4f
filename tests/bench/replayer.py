"""The raw side of the overhead figure: a process of its own that makes given LabArchives calls with bare httpx.

Our server reaches the fake from another process, so the raw calls must too: replayed from the
bench's own process (where the fake serves) they skipped the cross-process wake-ups and read about
0.15 ms per call faster, which the figure then counted as our overhead.

Speaks the bench's JSON-RPC lines over stdio (``tests/bench/peer.py``'s ``StdioPeer``): a request
``replay`` with ``{"urls": [...]}`` (signed by the bench) answers ``{"seconds": s, "statuses": [...]}``,
the wall time of the GETs one after another on one keep-alive ``httpx.AsyncClient`` under trio,
as the server makes them.
"""

from __future__ import annotations

import json
import sys
import time

import httpx
import trio


async def main() -> None:
    stdin = trio.lowlevel.FdStream(sys.stdin.fileno())
    buffer = b""
    async with httpx.AsyncClient(headers={"Accept-Encoding": "identity"}) as http:
        while True:
            while (newline := buffer.find(b"\n")) < 0:
                chunk = await stdin.receive_some(1 << 16)
                if not chunk:
                    return
                buffer += chunk
            line, buffer = buffer[:newline], buffer[newline + 1 :]
            request = json.loads(line)
            statuses: list[int] = []
            started = time.perf_counter()
            for url in request["params"]["urls"]:
                reply = await http.get(url)
                statuses.append(reply.status_code)
            seconds = time.perf_counter() - started
            answer = {"jsonrpc": "2.0", "id": request["id"], "result": {"seconds": seconds, "statuses": statuses}}
            sys.stdout.write(json.dumps(answer) + "\n")
            sys.stdout.flush()


if __name__ == "__main__":
    trio.run(main)
