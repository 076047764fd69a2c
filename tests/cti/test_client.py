"""AmiClient against a real TCP peer on 127.0.0.1."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable

import pytest

from cti.ami.client import AmiClient
from cti.ami.errors import ActionRefused, ActionTimeout, HeaderInjection, NotConnected
from cti.ami.protocol import AmiMessage
from tests.cti.peer import AmiPeer, frame, trace_body

SECRET = "hotline-secret"


def make_client(peer: AmiPeer, **options: object) -> AmiClient:
    defaults: dict[str, object] = {"action_timeout": 2.0, "backoff": (0.05, 0.2)}
    defaults.update(options)
    return AmiClient("127.0.0.1", peer.port, "hotline", SECRET, **defaults)  # type: ignore[arg-type]


async def until(predicate: Callable[[], bool], seconds: float = 5.0) -> None:
    """Poll a condition on the peer (test helper; the peer has no event to wait on for each)."""
    async with asyncio.timeout(seconds):
        while not predicate():  # noqa: ASYNC110
            await asyncio.sleep(0.01)


@pytest.fixture
async def peer() -> AsyncIterator[AmiPeer]:
    async with AmiPeer(secret=SECRET) as p:
        yield p


async def test_login_and_action_round_trip_never_log_the_secret(
    peer: AmiPeer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = make_client(peer)
    async with asyncio.TaskGroup() as tg:
        task = tg.create_task(client.run())
        await client.wait_connected(5)
        reply = await client.action("Setvar", Channel="Local/x", Variable="A", Value="1")
        assert reply.response == "Success"
        task.cancel()
    assert peer.received[0]["Action"] == "Login" and peer.received[0]["Secret"] == SECRET
    assert "Login" in caplog.text
    assert SECRET not in caplog.text
    assert SECRET not in repr(client)


async def test_md5_challenge_login_sends_a_key_not_the_secret(peer: AmiPeer) -> None:
    client = make_client(peer, auth="md5")
    async with asyncio.TaskGroup() as tg:
        task = tg.create_task(client.run())
        await client.wait_connected(5)
        task.cancel()
    login = next(m for m in peer.received if m.get("Action") == "Login")
    assert login["AuthType"] == "MD5" and "Secret" not in login and len(login["Key"]) == 32


async def test_wrong_secret_is_refused_clearly_and_retried_with_backoff(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with AmiPeer(secret="the-pbx-wants-this-one") as peer:
        client = make_client(peer, backoff=(0.1, 0.4))
        async with asyncio.TaskGroup() as tg:
            task = tg.create_task(client.run())
            await asyncio.sleep(1.2)
            task.cancel()
    # 0.05-0.1, 0.1-0.2, 0.2-0.4, then 0.2-0.4 … : at most 7 attempts in 1.2 s, never a tight loop
    assert 2 <= peer.login_attempts <= 7
    assert client.stats.login_refusals == peer.login_attempts
    assert "Authentication failed" in caplog.text and "secret" in caplog.text
    assert SECRET not in caplog.text and "the-pbx-wants-this-one" not in caplog.text
    with pytest.raises(NotConnected):
        await client.wait_connected(0.01)


async def test_refused_action_raises_with_the_pbx_message(peer: AmiPeer) -> None:
    peer.replies["QueueRemove"] = lambda m: frame(
        Response="Error", ActionID=m["ActionID"], Message="Unable to remove interface: Not there"
    )
    client = make_client(peer)
    async with asyncio.TaskGroup() as tg:
        task = tg.create_task(client.run())
        await client.wait_connected(5)
        with pytest.raises(ActionRefused, match="Not there"):
            await client.action("QueueRemove", Queue="sales", Interface="Local/1004@agents/n")
        with pytest.raises(HeaderInjection):
            await client.action("Setvar", Channel="x\r\nAction: Originate")
        task.cancel()


async def test_unanswered_action_times_out_and_the_link_stays_up(peer: AmiPeer) -> None:
    peer.replies["Status"] = lambda m: None
    client = make_client(peer, action_timeout=0.2)
    async with asyncio.TaskGroup() as tg:
        task = tg.create_task(client.run())
        await client.wait_connected(5)
        with pytest.raises(ActionTimeout):
            await client.action("Status")
        assert (await client.action("Ping")).get("Ping") == "Pong"
        task.cancel()


async def test_list_action_collects_items_until_complete() -> None:
    body = trace_body("06-resync-status.ami")
    start = body.index(b"Response: Success\r\nActionID: cti-2\r\n")
    end = body.index(b"Response: Success\r\nActionID: cti-3\r\n")
    queue_status = body[start:end]
    async with AmiPeer(secret=SECRET) as peer:
        peer.replies["QueueStatus"] = lambda m: queue_status.replace(b"cti-2", m["ActionID"].encode())
        client = make_client(peer)
        events = client.subscribe()
        async with asyncio.TaskGroup() as tg:
            task = tg.create_task(client.run())
            await client.wait_connected(5)
            items = await client.action_list("QueueStatus")
            task.cancel()
    names = [i.event for i in items]
    assert names.count("QueueParams") == 3 and names.count("QueueMember") == 4 and names == [
        "QueueParams", "QueueMember", "QueueMember", "QueueParams", "QueueMember", "QueueMember",
        "QueueEntry", "QueueParams",
    ]  # fmt: skip
    assert len(events) == 0  # list items are not broadcast as events


async def test_dropped_link_fails_pending_actions_then_reconnects_and_resyncs(peer: AmiPeer) -> None:
    peer.replies["CoreShowChannels"] = lambda m: None  # never answered: pending when the link drops
    client = make_client(peer)
    resyncs: list[int] = []

    async def resync() -> None:
        resyncs.append(peer.logins)

    client.on_connected(resync)

    async def cut_short() -> Exception | None:
        try:
            await client.action("CoreShowChannels")
        except NotConnected as exc:
            return exc
        return None

    async with asyncio.TaskGroup() as tg:
        task = tg.create_task(client.run())
        await client.wait_connected(5)
        pending = tg.create_task(cut_short())
        await until(lambda: any(m.get("Action") == "CoreShowChannels" for m in peer.received))
        peer.drop()
        assert isinstance(await pending, NotConnected)
        await until(lambda: peer.logins == 2)
        await client.wait_connected(5)
        assert (await client.action("Ping")).get("Ping") == "Pong"
        task.cancel()
    assert resyncs == [1, 2]
    assert client.stats.disconnects >= 1


async def test_missing_pong_drops_the_link_and_reconnects() -> None:
    async with AmiPeer(secret=SECRET, answer_pings=False) as peer:
        client = make_client(peer, ping_interval=0.1, ping_timeout=0.1)
        async with asyncio.TaskGroup() as tg:
            task = tg.create_task(client.run())
            await until(lambda: peer.logins >= 2)
            task.cancel()
    assert client.stats.disconnects >= 1


async def test_bad_frames_are_counted_and_skipped_without_dropping_the_link(peer: AmiPeer) -> None:
    client = make_client(peer)
    events = client.subscribe()
    async with asyncio.TaskGroup() as tg:
        task = tg.create_task(client.run())
        await client.wait_connected(5)
        peer.send(b"garbage without colon\r\n\r\n")
        peer.send(b"Foo: bar\r\n\r\n")  # neither Event nor Response
        peer.send(b"Event: VarSet\r\nValue: caf\xe9 \xff\r\nVariable: X\r\n\r\n")  # not UTF-8
        peer.send(b"Event: Hangup\r\nChannel: a\r\nChannel: b\r\nWeird-Key: 1\r\n\r\n")
        first = await anext(events)
        second = await anext(events)
        assert (await client.action("Ping")).get("Ping") == "Pong"
        task.cancel()
    assert client.stats.bad_frames == 2
    assert first["Value"].startswith("caf") and second.getall("Channel") == ["a", "b"]
    assert peer.logins == 1


async def test_utf8_name_split_across_reads_is_kept(peer: AmiPeer) -> None:
    client = make_client(peer)
    events = client.subscribe()
    data = "Event: UserEvent\r\nCallerIDName: 王小明\r\n\r\n".encode()
    cut = data.index("小".encode()) + 1
    async with asyncio.TaskGroup() as tg:
        task = tg.create_task(client.run())
        await client.wait_connected(5)
        peer.send(data[:cut])
        await asyncio.sleep(0.05)
        peer.send(data[cut:])
        event = await anext(events)
        task.cancel()
    assert event["CallerIDName"] == "王小明"


async def test_a_slow_subscriber_loses_its_oldest_events_and_never_blocks_the_reader(peer: AmiPeer) -> None:
    client = make_client(peer)
    slow = client.subscribe(maxsize=3)
    fast = client.subscribe(maxsize=1000)
    async with asyncio.TaskGroup() as tg:
        task = tg.create_task(client.run())
        await client.wait_connected(5)
        peer.send(b"".join(frame(Event="UserEvent", N=str(i)) for i in range(10)))
        got: list[AmiMessage] = [await anext(fast) for _ in range(10)]
        task.cancel()
    assert [m["N"] for m in got] == [str(i) for i in range(10)]
    assert slow.dropped == 7 and client.stats.dropped == 7
    assert [slow.get_nowait()["N"] for _ in range(3)] == ["7", "8", "9"]  # type: ignore[index]


async def test_actions_before_login_fail_fast() -> None:
    client = AmiClient("127.0.0.1", 9, "hotline", SECRET)
    with pytest.raises(NotConnected):
        await client.action("Ping")
