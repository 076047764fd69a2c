"""Telephony, built in one call for the composition root (as recordings/wiring.py does for recordings).

    telephony = build_telephony(settings, center, bus=bus, router=router, clock=clock, desk=ivr_desk)
    telephony.link      # a TelephonyLink (Asterisk or Twilio), or None with `pbx: none`
    telephony.pbx       # the demo's simulated PBX, run in-process, or None
    sms = build_sms(settings)   # customer texts through Twilio's Messages API, or None

Which link is built follows `settings.pbx`; the vendor modules are imported
only when configured. The link gets everything it needs here, at
construction: there is no second step that wires it later.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from config.callcenter import CallCenter, check_pbx_names
from config.settings import MAIN_PBX, PbxLink, Settings
from cti.ami.client import ActionFence
from cti.bus import EventBus
from cti.simulator import SimulatedPbx
from cti.simulator.standalone import simulated_queues
from cti.telephony import MemberPort, TelephonyLink
from cti.twilio.ports import CallStore, DeskPort, ReplayLedger
from routing import Router

if TYPE_CHECKING:
    from cti.twilio.sms import TwilioSms


@dataclass(frozen=True, slots=True)
class Telephony:
    link: TelephonyLink | None
    pbx: SimulatedPbx | None = None  # demo: the simulated PBX the link talks to
    pbx_listening: Callable[[int], None] | None = None  # tells the link the simulated PBX's port
    members: MemberPort | None = None  # observe mode: the PBX's queues told of sign-in and pauses

    async def start(self, group: asyncio.TaskGroup) -> None:
        """The simulated PBX (demo), then the link, as tasks of `group`; returns once they run."""
        if self.pbx is not None:
            group.create_task(self.pbx.run(), name="simulated-pbx")
            await self.pbx.wait_ready()
            if self.pbx_listening is not None:
                self.pbx_listening(self.pbx.port)
        if self.link is not None:
            group.create_task(self.link.run(), name="pbx-link")


def build_telephony(
    settings: Settings,
    center: CallCenter,
    *,
    bus: EventBus,
    router: Router,
    clock: Callable[[], float] = time.time,
    desk: DeskPort | None = None,
    replay_ledger: ReplayLedger | None = None,
    call_store: CallStore | None = None,
    fence: ActionFence | None = None,
) -> Telephony:
    """The configured link: `settings.pbx` is "asterisk", "twilio" or "none". `replay_ledger`
    keeps a Twilio link's answered webhooks across restarts (cti.twilio.replay_store);
    `call_store` its call book for a standby router (cti.twilio.call_store). `fence`: the
    elected router's, checked before every AMI action and every Twilio REST order that changes a call."""
    if settings.pbx == "asterisk":
        return _asterisk(settings, center, bus, fence)
    if settings.pbx == "twilio":
        check_pbx_names(center, {MAIN_PBX}, origin=str(settings.callcenter_file))  # one account, one "PBX"
        from cti.twilio.link import TwilioLink  # the SDK only when Twilio is configured

        link = TwilioLink(
            account_sid=settings.twilio_account_sid,
            auth_token=settings.twilio_auth_token.get_secret_value(),
            public_base_url=settings.public_base_url or f"http://{settings.web_host}:{settings.web_port}",
            callcenter=center,
            queues=router.config.queues,
            bus=bus,
            clock=clock,
            position=lambda call_id: router.position(call_id, clock()),
            desk=desk,
            caller_id=settings.twilio_number,
            api_base_url=settings.twilio_api_base_url,
            ledger=replay_ledger,
            call_store=call_store,
            fence=fence,
        )
        return Telephony(link)
    return Telephony(None)


def _asterisk(settings: Settings, center: CallCenter, bus: EventBus, fence: ActionFence | None) -> Telephony:
    from cti.asterisk import AsteriskLink

    links = settings.ami_links()
    check_pbx_names(center, links, origin=str(settings.callcenter_file))
    if len(links) > 1:
        return _several_asterisks(settings, center, bus, links, fence)
    secret = settings.ami_secret.get_secret_value()
    pbx = _demo_pbx(settings, center) if settings.demo else None
    link = AsteriskLink(
        host=settings.ami_host,
        port=settings.ami_port,
        username=settings.ami_username,
        secret=secret,
        bus=bus,
        agents={a.id: a.pbx_interface() for a in center.agents},
        default_queue=center.queues[0].name,
        transfer_context=settings.ami_transfer_context,
        supervisor_phones={u.login: u.phone for u in center.users if u.phone},
        cdr_file=settings.pbx_cdr_file,
        cdr_timezone=ZoneInfo(settings.pbx_cdr_timezone),
        member_names={a.id: a.name for a in center.agents},
        dynamic_queues=[q.name for q in center.queues if q.pbx_members == "dynamic"],
        fence=fence,
    )
    if pbx is None:
        return Telephony(link, members=link.members)

    def listening(port: int) -> None:  # an ephemeral port (ami_port 0) is known once the PBX listens
        link.port = port

    return Telephony(link, pbx, listening, members=link.members)


def _demo_pbx(settings: Settings, center: CallCenter) -> SimulatedPbx:
    """The demo's simulated PBX, in place of the main one."""
    return SimulatedPbx(
        host="127.0.0.1",
        port=settings.ami_port,
        username=settings.ami_username,
        secret=settings.ami_secret.get_secret_value(),
        recordings_dir=settings.recordings_dir / "incoming",
        queues=simulated_queues(center, MAIN_PBX),
    )


def _several_asterisks(
    settings: Settings,
    center: CallCenter,
    bus: EventBus,
    links: Mapping[str, PbxLink],
    fence: ActionFence | None,
) -> Telephony:
    """One AsteriskLink per PBX, each with its own agents and queues, behind a MultiLink (cti.multi).
    The demo's simulated PBX stands in for the main one only: the others are real."""
    from cti.asterisk import AsteriskLink
    from cti.multi import MultiLink, call_prefix

    asterisks: dict[str, AsteriskLink] = {}
    for name, spec in links.items():
        agents = [a for a in center.agents if a.pbx == name]
        queues = [q for q in center.queues if q.pbx == name] or center.queues
        asterisks[name] = AsteriskLink(
            host=spec.host,
            port=spec.port,
            username=spec.username,
            secret=spec.secret.get_secret_value(),
            bus=bus,
            agents={a.id: a.pbx_interface() for a in agents},
            default_queue=queues[0].name,
            transfer_context=settings.ami_transfer_context,
            supervisor_phones={u.login: u.phone for u in center.users if u.phone},
            cdr_file=spec.cdr_file,
            cdr_timezone=ZoneInfo(settings.pbx_cdr_timezone),
            member_names={a.id: a.name for a in agents},
            dynamic_queues=[q.name for q in queues if q.pbx_members == "dynamic"],
            call_prefix=call_prefix(name),
            report_link_loss=True,
            fence=fence,  # one elected router drives every PBX
        )
    link = MultiLink(
        asterisks,
        {a.id: a.pbx for a in center.agents},
        members={name: a.members for name, a in asterisks.items()},
    )
    main = asterisks[MAIN_PBX]
    if not settings.demo:
        return Telephony(link, members=link.members)
    pbx = _demo_pbx(settings, center)

    def listening(port: int) -> None:
        main.port = port

    return Telephony(link, pbx, listening, members=link.members)


def pbx_namer(settings: Settings) -> Callable[[str], str]:
    """Call id -> the name of the PBX that carried it (cti.multi's prefixes), for the call log and
    the recordings, which must not read call ids themselves. Without several PBXs: "main"."""
    from cti.multi import pbx_of_call

    names = frozenset(settings.ami_links()) if settings.pbx == "asterisk" else frozenset({MAIN_PBX})
    if len(names) == 1:
        return lambda call_id: MAIN_PBX
    return lambda call_id: pbx_of_call(call_id, names)


def recording_folders(settings: Settings, monitor: str) -> dict[str, Path]:
    """Where this host sees each PBX's recordings, by the folder as the PBX names it (`monitor`,
    MixMonitor's): the main PBX's under their own path, the others' under `<pbx>:<path>`, as
    their translator names their files (the same path on two PBXs is two files)."""
    main = settings.pbx_recordings_dir or settings.recordings_dir / "incoming"
    folders = {monitor: main}
    for name, spec in settings.pbx_links.items():
        local = spec.recordings_dir or settings.recordings_dir / "incoming" / name
        folders[f"{name}:{monitor}"] = local
        folders[f"{name}:{local.resolve()}"] = local  # a file named by its path here (the simulator)
    return folders


def build_sms(settings: Settings) -> TwilioSms | None:
    """Customer texts through Twilio's Messages API when the account and a sender number are
    set (whatever the PBX: an Asterisk center may text through Twilio too); else None."""
    if not settings.twilio_account_sid or not settings.twilio_number:
        return None
    from cti.twilio.sms import TwilioSms  # the SDK only when Twilio is configured

    return TwilioSms(
        settings.twilio_account_sid,
        settings.twilio_auth_token.get_secret_value(),
        settings.twilio_number,
        api_base_url=settings.twilio_api_base_url,
    )
