"""Hotline reads which Asterisk it talks to at login, says once which profile it applies,
and never drives a version it does not support (the README's version matrix)."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from cti.ami.versions import Support, ami_version, asterisk_major_from_ami, profile_for
from cti.asterisk import AsteriskLink
from cti.bus import EventBus
from cti.simulator import SimulatedPbx
from cti.telephony import TelephonyError
from tests.cti.peer import AmiPeer, frame, list_reply, trace_body
from tests.sim.test_fidelity import AGENTS, generate, queues_conf

SECRET = "hotline-secret"


@pytest.mark.parametrize(
    ("banner", "major"),
    [
        # AMI_VERSION of include/asterisk/manager.h at each tag
        ("Asterisk Call Manager/11.0.0", 22),  # 22.10.1 (and the recorded fixtures)
        ("Asterisk Call Manager/9.0.0", 20),  # 20.20.1
        ("Asterisk Call Manager/7.0.3", 18),  # 18.26.4
        ("Asterisk Call Manager/5.0.5", 16),  # 16.30.1
        ("Asterisk Call Manager/2.10.6", 13),  # 13.38.3
        ("Asterisk Call Manager/2.10.2", 13),  # 13.18 (the vistep capture)
        ("Asterisk Call Manager/1.3", 11),  # 11.25.3
        ("Asterisk Call Manager/1.1", 1),  # 1.6 / 1.8
    ],
)
def test_the_banner_names_the_ami_protocol_and_through_it_the_asterisk_line(banner: str, major: int) -> None:
    ami = ami_version(banner)
    assert ami is not None and asterisk_major_from_ami(ami) == major


@pytest.mark.parametrize(
    ("version", "name", "support", "mixmonitor_start"),
    [
        ("22.10.1", "asterisk-22", Support.SUPPORTED, True),
        ("20.20.1", "asterisk-20", Support.SUPPORTED, True),
        ("18.26.4", "asterisk-18", Support.SUPPORTED, True),
        ("18.2.2", "asterisk-18", Support.SUPPORTED, False),  # MixMonitorStart came with 18.3.0
        ("16.30.1", "asterisk-16", Support.SUPPORTED, True),
        ("16.16.2", "asterisk-16", Support.SUPPORTED, False),  # … and with 16.17.0
        ("certified/18.9-cert4", "asterisk-18", Support.SUPPORTED, True),
        ("21.5.0", "asterisk-21", Support.SUPPORTED, True),
        ("13.38.3", "asterisk-13", Support.BEST_EFFORT, False),
        ("11.25.3", "asterisk-11", Support.BEST_EFFORT, False),
        ("10.12.4", "asterisk-1.x", Support.REFUSED, False),
        ("1.8.32.3", "asterisk-1.x", Support.REFUSED, False),
    ],
)
def test_coresettings_version_picks_the_profile(
    version: str, name: str, support: Support, mixmonitor_start: bool
) -> None:
    profile = profile_for(version, "Asterisk Call Manager/11.0.0")  # CoreSettings wins over the banner
    assert (profile.name, profile.support, profile.mixmonitor_start) == (name, support, mixmonitor_start)
    assert profile.drives is (support is Support.SUPPORTED)
    assert version in profile.describe()


def test_without_coresettings_the_banner_decides_and_without_either_it_is_not_silent() -> None:
    assert profile_for(None, "Asterisk Call Manager/7.0.3").name == "asterisk-18"
    assert profile_for(None, "Asterisk Call Manager/1.3").support is Support.BEST_EFFORT
    unknown = profile_for(None, "Welcome to something else")
    assert unknown.support is Support.REFUSED and "neither" in unknown.reason
    newer = profile_for("23.0.0")
    assert newer.support is Support.SUPPORTED and "newer" in newer.reason


def _link(port: int) -> AsteriskLink:
    return AsteriskLink(
        host="127.0.0.1",
        port=port,
        username="hotline",
        secret=SECRET,
        bus=EventBus(),
        agents={"1001": "Local/1001@agents"},
        default_queue="support",
    )


async def _logged_in_again(link: AsteriskLink, pbx: SimulatedPbx, logins: int) -> None:
    """Wait for the re-login after a drop (resync done). The reconnect waits 0.25-0.5 s
    (cti.ami.client RECONNECT_BACKOFF); 150 drops each followed by a second one during the
    re-login, at load 13-18, were all logged in again within 0.3 s of the second (1.1 s with
    every PBX read delayed up to 30 ms). Once in CI it was not done within 10 s, not reproduced
    since: the failure says how far the link got."""
    since = time.time()
    try:
        async with asyncio.timeout(10):
            while link.client.stats.logins == logins or not link.client.connected:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
    except TimeoutError:
        client = link.client
        heard = [
            f"+{a.at - since:.2f}s {a.name} from :{a.peer[1]}" for a in pbx.server.action_log if a.at >= since
        ]
        raise AssertionError(
            f"no re-login within 10 s of the drop: {client.stats}, last failure {client.last_failure!r},"
            f" connected {client.connected}; actions the PBX received since: {heard}"
        ) from None


@pytest.mark.parametrize(
    ("version", "line"),
    [
        ("22.10.1", "Asterisk 22.10.1: profile asterisk-22 (supported)"),
        ("20.20.1", "Asterisk 20.20.1: profile asterisk-20 (supported)"),
        ("18.26.4", "Asterisk 18.26.4: profile asterisk-18 (supported)"),
    ],
)
async def test_login_logs_the_profile_once_even_after_a_reconnect(
    version: str, line: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="cti.ami.versions")
    caplog.set_level(logging.INFO, logger="cti.ami.client")  # the reconnect's steps, on a failure
    pbx = SimulatedPbx(secret=SECRET, asterisk_version=version)
    async with asyncio.TaskGroup() as group:
        pbx_task = group.create_task(pbx.run())
        await pbx.wait_ready()
        link = _link(pbx.port)
        link_task = group.create_task(link.run())
        await link.wait_connected(10)
        logins = link.client.stats.logins
        pbx.drop_connections()
        await _logged_in_again(link, pbx, logins)
        profile = link.versions.profile
        health = link.health()
        link_task.cancel()
        pbx_task.cancel()
    records = [r for r in caplog.records if r.name == "cti.ami.versions"]
    assert [r.getMessage() for r in records] == [f"AMI: {line}"]
    assert records[0].levelno == logging.INFO
    assert profile is not None and profile.drives and health.up and health.reason == "logged in to the AMI"


async def _live_call(link: AsteriskLink) -> str:
    async with asyncio.timeout(10):
        while not link.translator.live_calls():  # noqa: ASYNC110 - the translator's state is the condition
            await asyncio.sleep(0.01)
    return link.translator.live_calls()[0]


async def test_a_best_effort_version_is_one_warning_its_calls_are_read_but_not_driven(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="cti.ami.versions")
    pbx = SimulatedPbx(secret=SECRET, asterisk_version="13.38.3", agents=AGENTS, queues=queues_conf())
    async with asyncio.TaskGroup() as group:
        pbx_task = group.create_task(pbx.run())
        await pbx.wait_ready()
        link = _link(pbx.port)
        link_task = group.create_task(link.run())
        await link.wait_connected(10)
        await generate(pbx, "support", '"Anna Caller" <0401000001>', talk=600)
        call_id = await _live_call(link)  # read through the 13 dialect (no MixMonitorStart, …)
        with pytest.raises(TelephonyError, match="best effort"):
            await link.hangup(call_id)
        health = link.health()
        link_task.cancel()
        pbx_task.cancel()
    records = [r for r in caplog.records if r.name == "cti.ami.versions"]
    assert len(records) == 1 and records[0].levelno == logging.WARNING
    assert "Asterisk 13.38.3: profile asterisk-13 (best effort)" in records[0].getMessage()
    assert health.up and "best effort" in health.reason
    assert [a["Action"] for a in pbx.actions_received if a.get("Action") == "Hangup"] == []


async def test_a_refused_version_is_one_clear_warning_an_unhealthy_link_and_no_action(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="cti.ami.versions")
    body = trace_body("01-answered.ami")
    peer = AmiPeer(
        banner=b"Asterisk Call Manager/1.1\r\n",
        stream_after="DeviceStateList",  # after the version check and the resync: no interleaving
        stream=body[: body.index(b"\r\n\r\nEvent: Hangup\r\n") + 4],
    )
    peer.replies["CoreSettings"] = lambda m: frame(
        Response="Success", ActionID=m["ActionID"], AMIversion="1.1", AsteriskVersion="1.8.32.3"
    )
    for action in ("CoreShowChannels", "QueueStatus", "DeviceStateList"):
        peer.replies[action] = lambda m, a=action: list_reply(m["ActionID"], [], f"{a}Complete")
    async with peer:
        link = _link(peer.port)
        async with asyncio.TaskGroup() as group:
            task = group.create_task(link.run())
            await link.wait_connected(10)
            call_id = await _live_call(link)
            health = link.health()
            with pytest.raises(TelephonyError, match="refused"):
                await link.hangup(call_id)
            task.cancel()
    records = [r for r in caplog.records if r.name == "cti.ami.versions"]
    assert len(records) == 1 and records[0].levelno == logging.WARNING
    message = records[0].getMessage()
    assert message.startswith("AMI: unsupported PBX version. Asterisk 1.8.32.3: profile asterisk-1.x")
    assert "no test" in message
    assert not health.up and "1.8.32.3" in health.reason
    assert [a.get("Action") for a in peer.received if a.get("Action") == "Hangup"] == []
