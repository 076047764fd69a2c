"""AMI throughput: Hotline's parse+translate beside the parse-only rates of the alternatives.

Input: every recorded Asterisk trace (real Asterisk 22 bytes, mostly VarSet /
Newexten / DeviceStateChange noise, as on a real PBX), concatenated and
repeated, fed from memory in 64 KiB reads (what asyncio hands a Protocol).
Rates are messages of the stream per second, best of several rounds, one core,
all measured in the same run:

* hotline parse+translate: split, skip noise by `peek_name`, parse the rest,
  feed the translator (CallEvents/AgentEvents out): the production path.
* hotline parse-only: split and fully parse every frame.
* panoramisk 1.4 parse-only: its `AMIProtocol.data_received` (decode the chunk,
  split, `Message.from_line`), dispatch stubbed out.
* asterisk-ami 0.1.7 parse-only: its `_next_pack` generator over 1 KiB reads
  (its default buffer) and `Event.read` / `Response.read`, listeners stubbed out.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from cti.ami.protocol import FrameSplitter, parse_frame, peek_name
from cti.ami.translate import AmiTranslator, wanted_frame

FIXTURES = Path(__file__).parent.parent / "fixtures" / "ami"
BANNER = b"Asterisk Call Manager/11.0.0\r\n"
READ = 65536
ROUNDS = 5


def corpus(repeat: int) -> tuple[bytes, int]:
    """The traces without their banners, `repeat` times, behind one banner; and its message count."""
    bodies = []
    for path in sorted(FIXTURES.glob("*.ami")):
        data = path.read_bytes()
        bodies.append(data[data.index(b"\r\n") + 2 :])
    one = b"".join(bodies)
    messages = len(FrameSplitter().feed(BANNER + one))
    return BANNER + one * repeat, messages * repeat


def chunks(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def hotline_translate(reads: list[bytes], passes: int) -> int:
    splitter = FrameSplitter()
    translator = AmiTranslator()
    produced = 0
    per_pass = max(1, len(reads) // passes)
    for i, data in enumerate(reads):
        if i % per_pass == 0:
            translator = AmiTranslator()  # each pass replays the same calls: start afresh
        for frame in splitter.feed(data):
            name = peek_name(frame)
            if name is not None and not wanted_frame(name, frame):
                continue
            produced += len(translator.feed(parse_frame(frame)))
    return produced


def hotline_parse(reads: list[bytes]) -> int:
    splitter = FrameSplitter()
    n = 0
    for data in reads:
        for frame in splitter.feed(data):
            parse_frame(frame)
            n += 1
    return n


def panoramisk_parse(reads: list[bytes]) -> int:
    from panoramisk.ami_protocol import AMIProtocol

    count = 0

    def handle(message: object) -> None:
        nonlocal count
        count += 1

    proto = AMIProtocol()
    proto.connection_made(None)
    proto.encoding = "utf8"
    proto.handle_message = handle
    for data in reads:
        proto.data_received(data)
    return count


class _Socket:
    def __init__(self, data: bytes, size: int) -> None:
        self._reads = iter(chunks(data, size))

    def recv(self, size: int) -> bytes:
        return next(self._reads, b"")

    def close(self) -> None:
        pass


def asterisk_ami_parse(data: bytes) -> int:
    from asterisk.ami import AMIClient, Event, Response

    client = AMIClient()
    client.finished = threading.Event()
    client._socket = _Socket(data, client._buffer_size)
    count = 0
    packs = client._next_pack()
    next(packs)  # the banner line
    for pack in packs:
        if Response.match(pack):
            Response.read(pack)
            count += 1
        elif Event.match(pack):
            Event.read(pack)
            count += 1
    return count


def defects() -> None:
    """Correctness on the same bytes, printed beside the rates."""
    from asterisk.ami import Event
    from panoramisk.ami_protocol import AMIProtocol

    data = (FIXTURES / "07g-control-mode.ami").read_bytes()
    name = "王小明"
    at = data.index(f"CallerIDName: {name}".encode()) + len("CallerIDName: ") + 1  # inside 王
    reads = [data[:at], data[at:]]  # one TCP read ends in the middle of a character
    got: list[str] = []
    proto = AMIProtocol()
    proto.connection_made(None)
    proto.encoding = "utf8"
    proto.handle_message = lambda m: got.append(m.get("CallerIDName", ""))
    for chunk in reads:
        proto.data_received(chunk)
    ours: list[str] = []
    splitter = FrameSplitter()
    for chunk in reads:
        ours.extend(parse_frame(f).get("CallerIDName", "") for f in splitter.feed(chunk))
    damaged = sorted({g for g in got if g and g != name and "明" in g})
    print(
        f"a read ending inside '{name}': hotline keeps {ours.count(name)}/56, panoramisk {got.count(name)}/56"
    )
    print(f"  panoramisk's damaged names: {damaged}")
    frame = "Event: Foo\r\nOutput: line 1\r\nOutput: line 2"
    kept = Event.read(frame).keys
    ours_kept = parse_frame(frame.encode()).getall("Output")
    print(f"repeated key Output x2: hotline {ours_kept}, asterisk-ami {kept}")


def main() -> None:
    logging.disable(logging.WARNING)  # the alternatives log per message at DEBUG/INFO
    repeat = 10
    data, messages = corpus(repeat)
    reads = chunks(data, READ)
    print(f"input: {len(data) / 1e6:.1f} MB, {messages} messages ({repeat} x 14 Asterisk 22 traces)")
    rows = [
        ("hotline parse+translate (peek_name filter)", lambda: hotline_translate(reads, repeat)),
        ("hotline parse-only", lambda: hotline_parse(reads)),
        ("panoramisk 1.4 parse-only", lambda: panoramisk_parse(reads)),
        ("asterisk-ami 0.1.7 parse-only", lambda: asterisk_ami_parse(data)),
    ]
    best: dict[str, float] = {}
    outputs: dict[str, int] = {}
    for _ in range(ROUNDS):  # interleaved, so a noisy neighbour hurts every contender alike
        for label, fn in rows:
            started = time.perf_counter()
            outputs[label] = fn()
            elapsed = time.perf_counter() - started
            best[label] = min(best.get(label, elapsed), elapsed)
    results = {label: messages / seconds for label, seconds in best.items()}
    for label, _ in rows:
        out = outputs[label]
        extra = f"  ({out} Hotline events)" if "translate" in label else f"  ({out} messages parsed)"
        print(f"{label:45s} {results[label] / 1000:8.0f} k msg/s{extra}")
    ours = results["hotline parse+translate (peek_name filter)"]
    pano = results["panoramisk 1.4 parse-only"]
    print(f"hotline parse+translate / panoramisk parse-only: {ours / pano:.1f}x (goal >= 2x)")
    defects()
    logging.disable(logging.NOTSET)


if __name__ == "__main__":
    main()
