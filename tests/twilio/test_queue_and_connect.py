"""Waiting with position and estimated wait, connecting to the agent with dual-channel recording,
ring timeouts going back to the router, and callbacks that keep the caller's place."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import yaml
from sqlmodel import select

from calls.models import CallRecord
from recordings.models import Recording, RecordingStatus
from routing import AgentState
from tests.twilio.harness import CALLCENTER, FIXTURE_WAV, TwilioHotline, spoken, twilio_hotline


def _redirect(element: ET.Element) -> str:
    redirect = element.find("Redirect")
    assert redirect is not None and redirect.text is not None, ET.tostring(element)
    return redirect.text


async def _hold_turn(hotline: TwilioHotline, held: ET.Element, sid: str, caller: str) -> ET.Element:
    """Twilio follows the hold loop's <Redirect> once."""
    return await hotline.twiml(_redirect(held), hotline.call_params(sid, caller))


def _dial_of(twiml: str) -> ET.Element:
    dial = ET.fromstring(twiml).find("Dial")
    assert dial is not None, twiml
    return dial


def _misses(hotline: TwilioHotline) -> dict[str, int]:
    return {a.agent_id: a.missed for a in hotline.container.router.snapshot(hotline.clock()).agents}


async def _agent_leg_not_answered(
    hotline: TwilioHotline, caller: str, leg_sid: str
) -> tuple[str, ET.Element]:
    """1002 signs in, `caller` waits and is dialled to 1002, whose leg reports no-answer.
    Returns the caller's CallSid and the <Dial> Twilio was given."""
    await hotline.login("1002")
    sid, _ = await hotline.waiting(caller)
    dial = _dial_of((await hotline.rest_update(sid, "<Dial")).get("Twiml") or "")
    sip = dial.find("Sip")
    assert sip is not None and sip.text == "sip:1002@hotline.sip.twilio.com"
    leg = {"CallSid": leg_sid, "ParentCallSid": sid, "AccountSid": hotline.standin.account_sid}
    await hotline.post(sip.attrib["statusCallback"], {**leg, "CallStatus": "no-answer"})
    return sid, dial


async def test_waiting_callers_hear_their_position_and_estimated_wait(
    database_url: str, tmp_path: Path
) -> None:
    async with twilio_hotline(database_url, tmp_path) as hotline:
        await hotline.waiting("+8613900000011")
        sid, held = await hotline.waiting("+8613900000012")
        await hotline.settle()
        turn = await _hold_turn(hotline, held, sid, "+8613900000012")
        again = await _hold_turn(hotline, turn, sid, "+8613900000012")
    assert "您目前排在第 2 位，预计等待约 6 分钟" in spoken(turn)  # 2 x the default 180 s handle time
    assert "请按 1" in spoken(turn)  # the callback offer
    gather = turn.find("Gather")
    assert gather is not None and "/twilio/hold-key?" in gather.attrib["action"]
    assert _redirect(turn) != _redirect(again)  # each turn's URL is its own: retries are told apart


async def test_the_router_connects_the_caller_with_dual_channel_recording_and_the_recording_is_ingested(
    database_url: str, tmp_path: Path
) -> None:
    caller = "+8613800138000"  # 王小明, a seeded VIP customer
    async with twilio_hotline(database_url, tmp_path) as hotline:
        await hotline.login("1001")
        sid, _ = await hotline.waiting(caller)
        update = await hotline.rest_update(sid, "<Dial")
        dial = _dial_of(update.get("Twiml") or "")
        client = dial.find("Client")
        assert client is not None and client.text == "1001"
        leg = {"CallSid": "CA" + "1" * 32, "ParentCallSid": sid, "AccountSid": hotline.standin.account_sid}
        for status in ("initiated", "ringing", "in-progress"):
            reply = await hotline.post(client.attrib["statusCallback"], {**leg, "CallStatus": status})
            assert reply.status_code == 200
        await hotline.settle()
        assert hotline.container.router.agent_state("1001") is AgentState.ON_CALL

        media_sid, media_url = hotline.standin.add_recording(FIXTURE_WAV.read_bytes())
        recording = {
            "AccountSid": hotline.standin.account_sid,
            "CallSid": sid,
            "RecordingSid": media_sid,
            "RecordingUrl": media_url,
            "RecordingStatus": "completed",
            "RecordingChannels": "2",
            "RecordingDuration": "14",
            "RecordingStartTime": "Mon, 23 Nov 2026 02:00:05 +0000",
        }
        assert (await hotline.post(dial.attrib["recordingStatusCallback"], recording)).status_code == 200
        done = await hotline.twiml(
            dial.attrib["action"],
            hotline.call_params(sid, caller, DialCallStatus="completed", DialCallDuration="14"),
        )
        await hotline.post("/twilio/status", hotline.call_params(sid, caller, CallStatus="completed"))
        await hotline.settle()
        async with hotline.container.sessions() as session:
            stored = (await session.exec(select(Recording).where(Recording.call_id == sid))).one()
            call = await session.get(CallRecord, sid)
        media = await hotline.standin.wait_for(lambda r: r.path.endswith(f"/Recordings/{media_sid}.wav"))
        state = hotline.container.router.agent_state("1001")
    assert dial.attrib["record"] == "record-from-answer-dual"
    assert dial.attrib["timeout"] == "20"  # the router's 15 s ring timeout fires first; Twilio's is the net
    assert stored.status == RecordingStatus.STORED
    assert stored.agent_id == "1001" and stored.queue == "support" and stored.source == "twilio"
    assert stored.started_at is not None and stored.started_at.isoformat().startswith("2026-11-23T02:00:05")
    assert media.status == 200  # fetched from the stand-in, with the account's credentials
    assert call is not None and call.agent_id == "1001" and call.answered_at is not None
    assert call.outcome == "answered"
    assert done.find("Hangup") is not None
    assert state is AgentState.AVAILABLE  # wrap-up 0 in the test call center


async def test_a_ring_timeout_returns_the_call_to_the_router_which_rings_again(
    database_url: str, tmp_path: Path
) -> None:
    async with twilio_hotline(database_url, tmp_path) as hotline:
        await hotline.login("1001", "1002")
        sid, _ = await hotline.waiting("+8613900000013")
        first = _dial_of((await hotline.rest_update(sid, "<Dial")).get("Twiml") or "")
        await hotline.tick(15)  # the router's ring timeout
        back = await hotline.rest_update(sid, "/twilio/hold?")
        second = await hotline.standin.wait_for(
            lambda r: (
                r.call_sid == sid
                and "attempt=2" in (r.get("Twiml") or "")
                and "<Dial" in (r.get("Twiml") or "")
            )
        )
        missed = _misses(hotline)
    assert "attempt=1" in first.attrib["action"]
    assert ET.fromstring(back.get("Twiml") or "").find("Redirect") is not None
    assert hotline.standin.requests.index(back) < hotline.standin.requests.index(second)
    assert missed["1001"] == 1


async def test_an_agent_leg_that_is_not_answered_goes_back_to_the_router_once(
    database_url: str, tmp_path: Path
) -> None:
    caller = "+8613900000014"
    async with twilio_hotline(database_url, tmp_path) as hotline:
        sid, dial = await _agent_leg_not_answered(hotline, caller, "CA" + "2" * 32)
        # Twilio reports the same outcome twice: the leg's status callback and the Dial's action.
        held = await hotline.twiml(
            dial.attrib["action"], hotline.call_params(sid, caller, DialCallStatus="no-answer")
        )
        await hotline.settle()
        again = await hotline.standin.wait_for(
            lambda r: (
                r.call_sid == sid
                and "attempt=2" in (r.get("Twiml") or "")
                and "<Dial" in (r.get("Twiml") or "")
            )
        )
        missed = _misses(hotline)
    assert held.find("Gather") is not None  # the caller is back in the hold loop meanwhile
    assert missed["1002"] == 1  # one miss, not two
    assert again.status == 200


async def test_a_dial_action_that_comes_after_the_router_rang_again_keeps_the_caller_waiting(
    database_url: str, tmp_path: Path
) -> None:
    """The order the bus's front lane makes usual: the leg's no-answer reaches the router, which
    rings again (attempt 2), before Twilio asks the first Dial's action what next. That answer
    must not hang the caller up, nor count the miss twice."""
    caller = "+8613900000017"
    async with twilio_hotline(database_url, tmp_path) as hotline:
        sid, dial = await _agent_leg_not_answered(hotline, caller, "CA" + "3" * 32)
        again = await hotline.standin.wait_for(
            lambda r: r.call_sid == sid and "attempt=2" in (r.get("Twiml") or "")
        )
        held = await hotline.twiml(
            dial.attrib["action"], hotline.call_params(sid, caller, DialCallStatus="no-answer")
        )
        await hotline.settle()
        missed = _misses(hotline)
        state = hotline.container.router.agent_state("1002")
    assert held.find("Gather") is not None and held.find("Hangup") is None
    assert "<Dial" in (again.get("Twiml") or "")
    assert missed["1002"] == 1
    assert state is AgentState.RESERVED  # the second Dial still rings: the stale answer changed nothing


async def test_an_agent_whose_leg_is_busy_stops_ringing_and_is_not_rung_again_with_the_next(
    database_url: str, tmp_path: Path
) -> None:
    """1001's leg reports busy (twice, as a retried callback with a new SequenceNumber would):
    1001 leaves the link's ringing set and the router counts one miss; the router offers the
    call to 1002 (1001 is paused after one miss here), and that Dial rings 1002 alone, not the
    paused 1001 again beside them."""
    caller = "+8613900000018"
    center = yaml.safe_load(CALLCENTER.read_text(encoding="utf-8"))
    center["queues"][0]["routing"] = {"max_misses": 1}  # support: one miss pauses the agent
    path = tmp_path / "callcenter.yaml"
    path.write_text(yaml.safe_dump(center, allow_unicode=True), encoding="utf-8")
    async with twilio_hotline(database_url, tmp_path, callcenter_file=path) as hotline:
        await hotline.login("1001", "1002")
        sid, _ = await hotline.waiting(caller)
        first = _dial_of((await hotline.rest_update(sid, "<Dial")).get("Twiml") or "")
        client = first.find("Client")
        assert client is not None and client.text == "1001"
        leg = {"CallSid": "CA" + "4" * 32, "ParentCallSid": sid, "AccountSid": hotline.standin.account_sid}
        for sequence in ("2", "3"):
            reply = await hotline.post(
                client.attrib["statusCallback"], {**leg, "CallStatus": "busy", "SequenceNumber": sequence}
            )
            assert reply.status_code == 200
        second = await hotline.standin.wait_for(
            lambda r: r.call_sid == sid and "attempt=2" in (r.get("Twiml") or "")
        )
        await hotline.twiml(first.attrib["action"], hotline.call_params(sid, caller, DialCallStatus="busy"))
        await hotline.settle()
        missed = _misses(hotline)
        call = hotline.link.book.get(sid)
        states = [hotline.container.router.agent_state(agent) for agent in ("1001", "1002")]
    dial = _dial_of(second.get("Twiml") or "")
    assert dial.find("Client") is None  # 1001 missed this call: not rung again
    sip = dial.find("Sip")
    assert sip is not None and (sip.text or "").startswith("sip:1002@")
    assert call is not None and call.ringing == ["1002"]
    assert missed["1001"] == 1 and missed["1002"] == 0  # the repeated callback: still one miss
    assert states == [AgentState.PAUSED, AgentState.RESERVED]


async def test_the_callback_key_keeps_the_callers_place(database_url: str, tmp_path: Path) -> None:
    first, second = "+8613900000015", "+8613900000016"
    async with twilio_hotline(database_url, tmp_path) as hotline:
        sid1, held1 = await hotline.waiting(first)
        sid2, held2 = await hotline.waiting(second)
        await hotline.settle()
        turn = await _hold_turn(hotline, held1, sid1, first)
        gather = turn.find("Gather")
        assert gather is not None
        bye = await hotline.twiml(gather.attrib["action"], hotline.call_params(sid1, first, Digits="1"))
        await hotline.post("/twilio/status", hotline.call_params(sid1, first, CallStatus="completed"))
        await hotline.settle()
        waiting = await _hold_turn(hotline, held2, sid2, second)  # the second caller is still second

        await hotline.login("1001")
        await hotline.settle()
        create = await hotline.standin.wait_for(lambda r: r.path.endswith("/Calls.json"))
        assert create.status == 201
        assert not [r for r in hotline.standin.requests if r.call_sid == sid2]  # the first place goes first
        leg_sid = next(sid for sid, c in hotline.standin.calls.items() if c["to"] == "client:1001")
        leg = {"CallSid": leg_sid, "AccountSid": hotline.standin.account_sid, "To": "client:1001"}
        await hotline.post(create.get("StatusCallback") or "", {**leg, "CallStatus": "ringing"})
        await hotline.post(create.get("StatusCallback") or "", {**leg, "CallStatus": "in-progress"})
        answer = await hotline.twiml(create.get("Url") or "", {**leg, "CallStatus": "in-progress"})
        dial = answer.find("Dial")
        assert dial is not None
        await hotline.post(
            dial.attrib["action"], {**leg, "DialCallStatus": "completed", "DialCallDuration": "30"}
        )
        await hotline.post(
            create.get("StatusCallback") or "", {**leg, "CallStatus": "completed", "CallDuration": "40"}
        )
        await hotline.settle()
        served_next = await hotline.rest_update(sid2, "<Dial")
    assert "排队位置已为您保留" in spoken(bye) and bye.find("Hangup") is not None
    assert "您目前排在第 2 位" in spoken(waiting)
    assert create.get("To") == "client:1001" and create.get("From") == "+861058001000"
    assert create.getlist("StatusCallbackEvent") == ["initiated", "ringing", "answered", "completed"]
    number = dial.find("Number")
    assert number is not None and number.text == first
    assert dial.attrib["record"] == "record-from-answer-dual"
    assert "回拨排队客户" in spoken(answer)  # told to the agent in their language
    assert served_next.status == 200  # after the callback, the next caller is connected


async def test_a_menu_entry_that_requires_a_skill_connects_the_agent_who_has_it(
    database_url: str, tmp_path: Path
) -> None:
    center = yaml.safe_load(CALLCENTER.read_text(encoding="utf-8"))
    center["ivr"]["options"][0]["skills"] = {"network": 50}  # key 1, support
    for agent in center["agents"]:
        if agent["id"] == "1002":  # penalty 1 in support: 1001 (penalty 0) would be first
            agent["skills"] = {"network": 60}
    path = tmp_path / "callcenter.yaml"
    path.write_text(yaml.safe_dump(center, allow_unicode=True), encoding="utf-8")
    async with twilio_hotline(database_url, tmp_path, callcenter_file=path) as hotline:
        await hotline.login("1001", "1002")
        sid, _ = await hotline.waiting("+8613900000021", key="1")
        dial = _dial_of((await hotline.rest_update(sid, "<Dial")).get("Twiml") or "")
    sip = dial.find("Sip")
    assert dial.find("Client") is None and sip is not None and (sip.text or "").startswith("sip:1002@")


async def test_an_admin_change_of_the_ivr_and_an_agents_twilio_identity_applies_without_a_restart(
    database_url: str, tmp_path: Path
) -> None:
    async with twilio_hotline(database_url, tmp_path) as hotline:
        admin = hotline.container.center_admin
        assert admin is not None
        raw = admin.current.model_dump(mode="json")
        raw["ivr"]["messages"]["greeting"] = {
            "zh-CN": "您好，这里是新的问候语。",
            "en": "Hello, a new greeting.",
        }
        raw["agents"][0]["twilio"] = "sip:lina@desk.sip.twilio.com"  # 1001
        await admin.save(raw, actor="admin", role="admin", change="ivr", before=None, after=None)

        _sid, menu = await hotline.incoming("+8613900000041")
        assert "这里是新的问候语" in spoken(menu)
        await hotline.login("1001")
        sid, _ = await hotline.waiting("+8613900000042")
        dial = _dial_of((await hotline.rest_update(sid, "<Dial")).get("Twiml") or "")
    sip = dial.find("Sip")
    assert sip is not None and (sip.text or "").startswith("sip:lina@desk.sip.twilio.com")
