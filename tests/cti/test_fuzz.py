"""The parser and the translator never die on bad input, and never get stuck.

A seeded mutation loop feeds 10^5 mutated real frames (bit flips, truncation,
stray CR/LF, repeated and unknown keys, non-UTF-8 bytes, lines without colon,
old-style `Response: Follows`) through the splitter in random chunkings; after
each batch a sentinel frame must come out, proving the splitter resynchronised.
Every message that parses is also fed to the translator.
"""

from __future__ import annotations

import asyncio
import contextlib
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from cti.ami.client import AmiClient
from cti.ami.errors import FrameError
from cti.ami.protocol import FRAME_END, FrameSplitter, parse_frame
from cti.ami.translate import AmiTranslator
from tests.cti.peer import FIXTURES, AmiPeer

SENTINEL = b"Event: UserEvent\r\nUserEvent: Sentinel\r\n\r\n"


def corpus() -> list[bytes]:
    frames: list[bytes] = []
    for path in sorted(FIXTURES.glob("*.ami")):
        frames.extend(FrameSplitter().feed(path.read_bytes()))
    return frames


def mutate(frame: bytes, rng: random.Random) -> bytes:
    data = bytearray(frame)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(10)
        pos = rng.randrange(len(data) + 1)
        if op == 0 and data:  # flip a byte
            data[min(pos, len(data) - 1)] = rng.randrange(256)
        elif op == 1:  # truncate
            del data[pos:]
        elif op == 2:  # stray line ends
            data[pos:pos] = rng.choice([b"\r\n", b"\n", b"\r", b"\r\n\r\n"])
        elif op == 3:  # repeated key
            data += b"\r\nChannel: dup\r\nChannel: dup2"
        elif op == 4:  # unknown key / no colon / empty key
            data[pos:pos] = rng.choice(
                [b"\r\nX-Weird: 1", b"\r\nno colon here", b"\r\n: empty key", b"\r\n   "]
            )
        elif op == 5:  # non-UTF-8 and split multibyte characters
            data[pos:pos] = rng.choice([b"\xff\xfe", b"\xe7\x8e", b"\xc3", "王".encode()[:2]])
        elif op == 6:  # old-style command response
            data = bytearray(b"Response: Follows\r\nPrivilege: Command\r\n" + bytes(data[:pos]))
            if rng.random() < 0.5:
                data += b"\r\n--END COMMAND--"
        elif op == 7:  # random garbage
            data[pos:pos] = rng.randbytes(rng.randint(1, 40))
        elif op == 8 and data:  # drop a slice
            del data[pos : pos + rng.randint(1, 30)]
        else:  # an empty value, a value with colons
            data += rng.choice([b"\r\nValue:", b"\r\nValue: a:b:c", b"\r\nEvent: ", b"\r\nEvent"])
    return bytes(data)


def feed_in_chunks(splitter: FrameSplitter, data: bytes, rng: random.Random) -> list[bytes]:
    out: list[bytes] = []
    i = 0
    while i < len(data):
        step = rng.choice([1, 3, 17, 200, 4096])
        out.extend(splitter.feed(data[i : i + step]))
        i += step
    return out


def test_a_hundred_thousand_mutated_frames_neither_crash_nor_stall_the_parser() -> None:
    rng = random.Random(20261122)
    frames = corpus()
    splitter = FrameSplitter()
    translator = AmiTranslator()
    total = parsed = bad = 0
    batch = 50
    while total < 100_000:
        blob = FRAME_END.join(mutate(rng.choice(frames), rng) for _ in range(batch))
        # a clean frame boundary, then the sentinel: it must come out
        out = feed_in_chunks(splitter, blob + FRAME_END + b"\r\n--END COMMAND--\r\n\r\n" + SENTINEL, rng)
        total += batch
        assert out, "splitter produced nothing"
        assert out[-1] == SENTINEL.removesuffix(FRAME_END), "splitter lost sync"
        for raw in out:
            try:
                msg = parse_frame(raw)
            except FrameError:
                bad += 1
                continue
            parsed += 1
            translator.feed(msg)
    assert parsed > 40_000 and bad > 1_000  # both paths exercised
    assert translator.bad_messages == 0  # no handler needed the last-resort guard


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600), st.lists(st.integers(1, 64), min_size=1, max_size=20))
def test_arbitrary_bytes_in_arbitrary_chunks_never_raise(data: bytes, cuts: list[int]) -> None:
    splitter = FrameSplitter()
    translator = AmiTranslator()
    i = 0
    frames: list[bytes] = []
    for cut in cuts * (len(data) // max(1, sum(cuts)) + 1):
        frames.extend(splitter.feed(data[i : i + cut]))
        i += cut
        if i >= len(data):
            break
    frames.extend(splitter.feed(FRAME_END + SENTINEL))
    assert frames[-1] == SENTINEL.removesuffix(FRAME_END)
    for raw in frames:
        with contextlib.suppress(FrameError):
            translator.feed(parse_frame(raw))


async def test_mutated_stream_over_tcp_keeps_the_link_up() -> None:
    rng = random.Random(7)
    frames = corpus()
    blob = FRAME_END.join(mutate(rng.choice(frames), rng) for _ in range(3000)) + FRAME_END
    blob += b"\r\n--END COMMAND--\r\n\r\n" + SENTINEL
    async with AmiPeer(stream=blob, chunk=333) as peer:
        client = AmiClient("127.0.0.1", peer.port, "hotline", "hotline-secret", action_timeout=5)
        events = client.subscribe(maxsize=100_000)
        translator = AmiTranslator()
        async with asyncio.TaskGroup() as tg:
            task = tg.create_task(client.run())
            async with asyncio.timeout(20):
                async for msg in events:
                    translator.feed(msg)
                    if msg.get("UserEvent") == "Sentinel":
                        break
            assert (await client.action("Ping")).get("Ping") == "Pong"
            task.cancel()
    assert client.stats.bad_frames > 0 and peer.logins == 1 and client.stats.connects == 1
