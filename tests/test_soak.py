"""Load soak: echo and banner_echo with 1,000 clients at once, for SOAK_SECONDS.

Every client sends numbered messages and checks each reply byte for byte, so a lost,
duplicated or reordered byte on any connection fails the test. Afterwards the server's
thread and file-descriptor counts must be back where they started. CI runs it briefly
(3 s); ``SOAK_SECONDS=30 python -m pytest -m soak`` runs the long version.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time

import pytest

from services import serve
from tests.helpers import wait_until

CLIENTS = 1000
SECONDS = float(os.environ.get("SOAK_SECONDS", "3"))
BANNER = b"Welcome to the server. Type something and hit enter\n"


async def client(
    number: int, address: tuple[str, int], name: str, until: float, counts: list[int]
) -> None:
    reader, writer = await asyncio.wait_for(asyncio.open_connection(*address), 30)
    try:
        if name == "banner_echo":
            assert await asyncio.wait_for(reader.readexactly(len(BANNER)), 30) == BANNER
        prefix = b"Echo=>" if name == "echo" else b"OK..."
        sequence = 0
        while sequence == 0 or time.monotonic() < until:  # late connectors still get one
            message = b"client %d message %d" % (number, sequence)
            writer.write(message)
            reply = await asyncio.wait_for(reader.readexactly(len(prefix + message)), 30)
            assert reply == prefix + message, (number, sequence, reply)
            sequence += 1
        counts.append(sequence)
    finally:
        writer.close()
        await writer.wait_closed()


async def soak(address: tuple[str, int], name: str) -> list[int]:
    counts: list[int] = []
    until = time.monotonic() + SECONDS
    await asyncio.gather(*(client(n, address, name, until, counts) for n in range(CLIENTS)))
    return counts


@pytest.mark.soak
@pytest.mark.slow
@pytest.mark.timeout(SECONDS + 300)
@pytest.mark.parametrize("name", ["echo", "banner_echo"])
def test_thousand_clients(name):
    with serve(name) as address:
        fds = len(os.listdir("/proc/self/fd"))
        threads = threading.active_count()
        counts = asyncio.run(soak(address, name))
        assert len(counts) == CLIENTS, "every client finished without an error"
        assert min(counts) > 0, "every client got answers"
        # more than before is a leak; fewer is an earlier test's thread finishing meanwhile
        wait_until(
            lambda: len(os.listdir("/proc/self/fd")) <= fds and threading.active_count() <= threads,
            timeout=30,
            what="threads and sockets of the soak to be released",
        )
    print(f"{name}: {CLIENTS} clients, {sum(counts)} round trips in {SECONDS:g}s")
