"""``python -m labmcp fake-server``: run the demo fake and print one JSON line with its URL and credentials.

A development tool: the printed password and token are the public demo credentials, so printing them
here is intended. Serves until SIGINT or SIGTERM, then exits 0.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from collections.abc import Sequence

import trio

from labmcp.fake.exchange import FakeConfig
from labmcp.fake.serve import FakeLabArchives


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="labmcp fake-server", description="Run the fake LabArchives with demo data.")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to bind; 0 picks a free one (default 0)")
    parser.add_argument("--clock-offset-ms", type=int, default=0, help="fake server time = real time + this")
    parser.add_argument("--accept-sha1", action="store_true", help="also accept legacy HMAC-SHA-1 signatures")
    parser.add_argument("--shuffle-seed", type=int, default=None, help="shuffle XML child order with this seed")
    parser.add_argument(
        "--institution",
        action="store_true",
        help="serve three researchers who sign in through api_user_login (for LABMCP_AUTH=oauth)",
    )
    return parser


def _describe(fake: FakeLabArchives, base_url: str) -> dict[str, object]:
    if fake.store.users and all(u.password for u in fake.store.users.values()):
        from labmcp.fake import institution  # noqa: PLC0415

        return {
            "base_url": base_url,
            "akid": institution.AKID,
            "password": institution.PASSWORD,
            "users": [{"email": r.email, "password": r.password} for r in institution.RESEARCHERS],
        }
    creds = fake.credentials
    return {
        "base_url": base_url,
        "akid": creds.akid,
        "password": creds.secret.reveal(),
        "email": creds.email,
        "token": creds.token.reveal(),
        "uid": creds.uid,
    }


async def _run(fake: FakeLabArchives, host: str, port: int) -> None:
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with trio.open_nursery() as nursery:
            base_url = await nursery.start(fake.serve, host, port)
            line = _describe(fake, base_url)
            sys.stdout.write(json.dumps(line) + "\n")
            sys.stdout.flush()
            async for _ in signals:
                nursery.cancel_scope.cancel()
                break


def main(argv: Sequence[str]) -> int:
    """Parse options, serve the demo fake until a signal arrives; returns the exit code."""
    args = _parser().parse_args(list(argv))
    config = FakeConfig(
        clock_offset_ms=args.clock_offset_ms, accept_sha1=args.accept_sha1, shuffle_seed=args.shuffle_seed
    )
    fake = FakeLabArchives.institution(config) if args.institution else FakeLabArchives.demo(config)
    trio.run(_run, fake, args.host, args.port)
    return 0
