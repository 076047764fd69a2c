"""`python -m tests.bench.echo`: a bare websocket echo server in its own process (the storm's baseline).

It prints `ready <port>` once it listens. The storm bench measures round trips to it on the same
loopback, at the same time as the pops, so the transport's own latency under the same load sits
beside Hotline's ring → pop.
"""

from __future__ import annotations

import asyncio
import signal

from websockets.asyncio.server import ServerConnection, serve


async def _echo(connection: ServerConnection) -> None:
    async for message in connection:
        await connection.send(message)


async def main() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with serve(_echo, "127.0.0.1", 0) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        print(f"ready {port}", flush=True)
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(main())
