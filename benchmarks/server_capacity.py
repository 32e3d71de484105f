"""Reference servers under load, against the seed programs themselves.

For echo and banner_echo, the reference server and the port of its seed program in
``tests/seeds/`` (echo: one client at a time, ``listen(5)``; banner_echo: a thread per
client, ``listen(10)``), at 1, 10, 100 and 1,000 concurrent clients: round trips per
second, p50/p99 latency and errors, each client doing request/reply round trips for a
fixed time once all of them are connected. Errors are clients that could not connect
within 10 s (the seed's backlog overflows) or whose round trip failed or waited 10 s (the
echo seed serves the others only once the first client leaves); throughput counts only
the clients that got through. Also a fresh server's memory (RSS) holding 1,000 idle
clients it has served once. The load comes from one asyncio process; both servers run as
separate processes, started the same way. Each figure is the median over the repeats.

Run: python benchmarks/server_capacity.py [--seconds 3] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import resource
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from SocketLibrary.processes import ManagedProcess

ROOT = Path(__file__).resolve().parent.parent

BANNER = b"Welcome to the server. Type something and hit enter\n"
PREFIX = {"echo": b"Echo=>", "banner_echo": b"OK..."}
LEVELS = (1, 10, 100, 1000)
TIMEOUT = 10.0
MESSAGE = b"ping"


@dataclass
class Run:
    until: float = float("inf")
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    connected: int = 0
    go: asyncio.Event = field(default_factory=asyncio.Event)


def start(kind: str, behaviour: str, folder: Path) -> tuple[ManagedProcess, int]:
    if kind == "reference":
        command = [sys.executable, "-m", "services", behaviour, "--port", "0"]
    else:
        command = [sys.executable, str(ROOT / "tests" / "seeds" / f"{behaviour}.py"), "0"]
    server = ManagedProcess(command, folder / f"{kind}-{behaviour}.log", cwd=ROOT)
    return server, server.wait_until_bound(0, "tcp").port


async def connect(port: int, behaviour: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), TIMEOUT)
    if behaviour == "banner_echo":
        await asyncio.wait_for(reader.readexactly(len(BANNER)), TIMEOUT)
    return reader, writer


async def client(port: int, behaviour: str, run: Run) -> None:
    expected = PREFIX[behaviour] + MESSAGE
    try:
        reader, writer = await connect(port, behaviour)
    except (TimeoutError, OSError, asyncio.IncompleteReadError) as error:
        run.errors.append(f"connect: {type(error).__name__}")
        return
    run.connected += 1
    await run.go.wait()
    try:
        while time.perf_counter() < run.until:
            sent = time.perf_counter()
            writer.write(MESSAGE)
            reply = await asyncio.wait_for(reader.readexactly(len(expected)), TIMEOUT)
            if reply != expected:
                run.errors.append(f"wrong reply {reply!r}")
                return
            run.latencies.append(time.perf_counter() - sent)
    except (TimeoutError, OSError, asyncio.IncompleteReadError) as error:
        run.errors.append(f"round trip: {type(error).__name__}")
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def load(port: int, behaviour: str, clients: int, seconds: float) -> dict[str, float]:
    run = Run()
    started = time.perf_counter()
    tasks = [asyncio.create_task(client(port, behaviour, run)) for _ in range(clients)]
    while run.connected + len(run.errors) < clients:  # everyone connected (or failed)
        await asyncio.sleep(0.005)
    connect_seconds = time.perf_counter() - started
    run.until = time.perf_counter() + seconds
    run.go.set()
    await asyncio.gather(*tasks)
    latencies = sorted(run.latencies)
    return {
        "rt/s": len(latencies) / seconds,
        "p50 ms": 1000 * latencies[len(latencies) // 2] if latencies else float("nan"),
        "p99 ms": 1000 * latencies[int(len(latencies) * 0.99)] if latencies else float("nan"),
        "errors": len(run.errors),
        "connect s": connect_seconds,
    }


async def idle_rss(
    port: int, behaviour: str, server: ManagedProcess, count: int
) -> dict[str, float]:
    """Resident memory (MB) of a fresh server once ``count`` clients have each been served
    one round trip (so every connection is accepted and being handled) and then idle."""

    async def served_client() -> asyncio.StreamWriter:
        reader, writer = await connect(port, behaviour)
        writer.write(MESSAGE)
        await asyncio.wait_for(reader.readexactly(len(PREFIX[behaviour] + MESSAGE)), TIMEOUT)
        return writer

    attempts = await asyncio.gather(
        *(served_client() for _ in range(count)), return_exceptions=True
    )
    writers = [attempt for attempt in attempts if not isinstance(attempt, BaseException)]
    status = Path(f"/proc/{server.pid}/status").read_text()
    rss_kb = int(next(line for line in status.splitlines() if line.startswith("VmRSS")).split()[1])
    for writer in writers:
        writer.close()
    return {"MB": rss_kb / 1024, "connected": len(writers)}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 8192)), hard))
    results: dict[tuple, list[dict[str, float]]] = {}
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(args.repeat):
            for behaviour in PREFIX:
                for kind in ("reference", "seed"):
                    server, port = start(kind, behaviour, Path(folder))
                    try:
                        for clients in LEVELS:
                            figures = asyncio.run(load(port, behaviour, clients, args.seconds))
                            results.setdefault((behaviour, kind, clients), []).append(figures)
                    finally:
                        server.stop()
                    server, port = start(kind, behaviour, Path(folder))  # fresh, for memory
                    try:
                        idle = asyncio.run(idle_rss(port, behaviour, server, 1000))
                        results.setdefault((behaviour, kind, "rss"), []).append(idle)
                    finally:
                        server.stop()
    print(f"median of {args.repeat} runs, {args.seconds:g} s of round trips per level")
    print(
        f"{'server':<24}{'clients':>8}{'rt/s':>10}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'errors':>8}{'connect s':>11}"
    )
    for behaviour in PREFIX:
        for clients in LEVELS:
            for kind in ("reference", "seed"):
                runs = results[(behaviour, kind, clients)]
                median = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
                print(
                    f"{behaviour + ' ' + kind:<24}{clients:>8}{median['rt/s']:>10.0f}"
                    f"{median['p50 ms']:>9.2f}{median['p99 ms']:>9.2f}"
                    f"{median['errors']:>8.0f}{median['connect s']:>11.2f}"
                )
            reference = statistics.median(
                r["rt/s"] for r in results[(behaviour, "reference", clients)]
            )
            seed = statistics.median(r["rt/s"] for r in results[(behaviour, "seed", clients)])
            print(f"{'':<24}{'':>8}  reference/seed throughput {reference / seed:.2f}")
        for kind in ("reference", "seed"):
            runs = results[(behaviour, kind, "rss")]
            rss = statistics.median(run["MB"] for run in runs)
            connected = statistics.median(run["connected"] for run in runs)
            print(
                f"{behaviour + ' ' + kind:<24} RSS holding 1,000 idle clients: {rss:.1f} MB "
                f"({connected:.0f} of them served within {TIMEOUT:g} s)"
            )


if __name__ == "__main__":
    main()
