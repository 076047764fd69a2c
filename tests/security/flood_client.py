"""A login flood from another process: N concurrent wrong logins, raw HTTP/1.1, one connection each.

`python -m tests.security.flood_client <base_url> <count>` prints one JSON line: the status counts.
Run as a separate process so that the attacker's own work does not share the event loop (and the
GIL) of the server under test, as a real attacker's would not.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections import Counter
from urllib.parse import urlsplit


async def wrong_login(base_url: str, login: str) -> int:
    parts = urlsplit(base_url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    body = json.dumps({"login": login, "password": "guess"}).encode()
    head = (
        f"POST /api/auth/login HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    writer.write(head.encode() + body)
    try:
        status = await reader.readline()
        await reader.read()
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    return int(status.split()[1])


async def flood(base_url: str, count: int) -> Counter[int]:
    connected = asyncio.Event()
    statuses: Counter[int] = Counter()

    async def one(i: int) -> None:
        await connected.wait()
        statuses[await wrong_login(base_url, f"10{i % 40:02d}")] += 1

    tasks = [asyncio.create_task(one(i)) for i in range(count)]
    connected.set()
    await asyncio.gather(*tasks)
    return statuses


def main() -> None:
    base_url, count = sys.argv[1], int(sys.argv[2])
    print(json.dumps(asyncio.run(flood(base_url, count))))


if __name__ == "__main__":
    main()
