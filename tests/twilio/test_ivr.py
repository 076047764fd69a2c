"""The IVR on Twilio: greeting and menu in Simplified Chinese and English, after hours, voicemail."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import select

from calls.models import CallRecord
from recordings.models import Recording, RecordingStatus
from tests.twilio.harness import FIXTURE_WAV, HOTLINE_NUMBER, spoken, twilio_hotline
from tickets.lifecycle import Actor
from tickets.schemas import CustomerCreate, PhoneIn

ADMIN = Actor("admin", "admin")


async def test_an_incoming_call_hears_the_greeting_and_menu_in_chinese_by_default(
    database_url: str, tmp_path: Path
) -> None:
    async with twilio_hotline(database_url, tmp_path) as hotline:
        _, menu = await hotline.incoming("+8613900000001")
    gather = menu.find("Gather")
    assert gather is not None
    assert gather.attrib["numDigits"] == "1"
    assert gather.attrib["input"] == "dtmf speech"
    assert gather.attrib["language"] == "cmn-Hans-CN"
    assert gather.attrib["action"] == "https://hotline.example.com/twilio/menu?lang=zh-CN&attempt=1"
    says = gather.findall("Say")
    assert says[0].attrib["language"] == "cmn-CN"
    assert "欢迎致电" in says[0].text  # type: ignore[operator]
    assert "技术支持请按 1" in spoken(gather) and "账务查询请按 2" in spoken(gather)
    offer = says[-1]  # the English offer, spoken in English
    assert offer.attrib["language"] == "en-US" and offer.text == "For English, press 9."


async def test_the_language_key_switches_the_menu_to_english_and_back(
    database_url: str, tmp_path: Path
) -> None:
    async with twilio_hotline(database_url, tmp_path) as hotline:
        sid, menu = await hotline.incoming("+8613900000002")
        english = await hotline.choose(menu, sid, "+8613900000002", Digits="9")
        chinese = await hotline.choose(english, sid, "+8613900000002", Digits="9")
    gather = english.find("Gather")
    assert gather is not None and gather.attrib["language"] == "en-US"
    assert "For technical support, press 1." in spoken(english)
    assert "For billing, press 2." in spoken(english)
    assert "欢迎" not in spoken(english)  # no second greeting
    assert "普通话服务请按 9" in spoken(english)
    assert "技术支持请按 1" in spoken(chinese)


async def test_a_caller_whose_record_says_english_hears_the_english_greeting(
    database_url: str, tmp_path: Path
) -> None:
    async with twilio_hotline(database_url, tmp_path) as hotline:
        await hotline.container.desk.customers.create(
            CustomerCreate(name="Anna Caller", phones=[PhoneIn(number="+49 30 123456")], tags=["lang:en"]),
            ADMIN,
        )
        _, menu = await hotline.incoming("+4930123456")
    assert "Hello, and thank you for calling our hotline." in spoken(menu)
    assert "For technical support, press 1." in spoken(menu)


async def test_choosing_by_key_or_by_speech_queues_the_caller_in_that_queue(
    database_url: str, tmp_path: Path
) -> None:
    async with twilio_hotline(database_url, tmp_path) as hotline:
        sid1, menu1 = await hotline.incoming("+8613900000003")
        held = await hotline.choose(menu1, sid1, "+8613900000003", Digits="1")
        sid2, menu2 = await hotline.incoming("+8613900000004")
        await hotline.choose(
            menu2, sid2, "+8613900000004", SpeechResult="我想问一下缴费的事", Confidence="0.9"
        )
        await hotline.settle()
        async with hotline.container.sessions() as session:
            calls = {c.call_id: c for c in (await session.exec(select(CallRecord))).all()}
        ticket2 = await hotline.container.desk.calls.context(sid2)
    assert calls[sid1].queue == "support" and calls[sid2].queue == "billing"
    assert calls[sid1].dialed == HOTLINE_NUMBER and calls[sid1].source == "twilio"
    assert "正在为您转接客服" in spoken(held)
    redirect = held.find("Redirect")
    assert redirect is not None and redirect.text is not None and "/twilio/hold?" in redirect.text
    assert ticket2.ticket_id > 0


async def test_no_answer_to_the_menu_asks_again_then_takes_the_first_entry(
    database_url: str, tmp_path: Path
) -> None:
    async with twilio_hotline(database_url, tmp_path) as hotline:
        sid, menu = await hotline.incoming("+8613900000005")
        silent = menu.find("Redirect")
        assert silent is not None and silent.text is not None
        again = await hotline.twiml(silent.text, hotline.call_params(sid, "+8613900000005"))
        assert "没有听清" in spoken(again)
        silent = again.find("Redirect")
        assert silent is not None and silent.text is not None
        held = await hotline.twiml(silent.text, hotline.call_params(sid, "+8613900000005"))
        await hotline.settle()
    assert "正在为您转接客服" in spoken(held)
    assert hotline.link.book.calls[sid].queue == "support"


async def test_after_hours_the_caller_hears_the_closed_message_and_leaves_a_voicemail(
    database_url: str, tmp_path: Path
) -> None:
    async with twilio_hotline(database_url, tmp_path) as hotline:
        hotline.clock.advance(12 * 3600)  # Monday 22:00 in Shanghai: billing (09:00-17:00) is closed
        caller = "+8613900000006"
        sid, menu = await hotline.incoming(caller)
        english = await hotline.choose(menu, sid, caller, Digits="9")
        closed = await hotline.choose(english, sid, caller, Digits="2")
        record = closed.find("Record")
        assert record is not None
        media_sid, media_url = hotline.standin.add_recording(FIXTURE_WAV.read_bytes())
        ready = await hotline.post(
            record.attrib["recordingStatusCallback"],
            {
                "AccountSid": hotline.standin.account_sid,
                "CallSid": sid,
                "RecordingSid": media_sid,
                "RecordingUrl": media_url,
                "RecordingStatus": "completed",
                "RecordingDuration": "7",
                "RecordingChannels": "1",
            },
        )
        thanks = await hotline.twiml(
            record.attrib["action"], hotline.call_params(sid, caller, RecordingSid=media_sid)
        )
        await hotline.settle()
        context = await hotline.container.desk.calls.context(sid)
        snapshot = hotline.container.router.snapshot(hotline.clock())
        async with hotline.container.sessions() as session:
            voicemail = (await session.exec(select(Recording).where(Recording.call_id == sid))).one()
    assert "We are closed right now" in spoken(closed)
    assert record.attrib["playBeep"] == "true" and record.attrib["maxLength"] == "120"
    assert ready.status_code == 200
    assert "Thank you for your message" in spoken(thanks)
    assert thanks.find("Hangup") is not None
    assert context.ticket_id > 0  # the voicemail's caller has a ticket to call back on
    assert all(not q.waiting for q in snapshot.queues)  # the router refused it too: nobody waits
    assert not [r for r in hotline.standin.requests if r.call_sid == sid]  # no REST order was needed
    assert voicemail.status == RecordingStatus.STORED and voicemail.source_ref == media_url
