"""The Asterisk link: AMI events in, CallEvents out onto the bus; router decisions out as AMI actions.

This is the only place that knows Hotline talks to Asterisk: it owns the AMI
client and the translator, and implements `cti.telephony.TelephonyLink` with the
actions of the sample dialplan (`config/asterisk/`): a waiting caller is
connected with `Setvar HOTLINE_AGENT` + `Redirect` to `[hotline-connect]`, as
recorded in tests/fixtures/ami/07g-control-mode.sent.

Events are not lost silently: the AMI reader's queue is bounded, and when the
bus cannot keep up and it overflows, the link is dropped and rebuilt by the
re-login's resync (CoreShowChannels, QueueStatus), as after a network cut; the
overflow is counted and shows in `health()`.

After every login the link reads the PBX's version (banner, CoreSettings) and
logs the profile it applies once (cti.ami.versions): on a best-effort or
refused version it reads events but sends no call-control action.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Collection, Coroutine, Mapping, Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path

from cti.ami import actions
from cti.ami.agents import device_name
from cti.ami.cdr import CdrBook, figures_of, read_master_csv
from cti.ami.client import ActionFence, AmiClient
from cti.ami.dialplan import REWAIT_EXTEN, RING_TIMEOUT_VARIABLE, TRANSFER_CONTEXT, WAIT_CONTEXT
from cti.ami.errors import ActionRefused, AmiError, EventsLost, NotConnected
from cti.ami.members import Member, MemberSync
from cti.ami.reconcile import Dialplan, close_gone, missed_calls
from cti.ami.resync import Publish, resync_on_connect
from cti.ami.translate import SOURCE, AmiTranslator, wanted_frame
from cti.ami.versions import Support, VersionWatch
from cti.bus import EventBus
from cti.telephony import (
    CallNotWaiting,
    Control,
    ControlsNotOffered,
    LinkDown,
    LinkHealth,
    OpenCall,
    SpyMode,
    TelephonyError,
)
from routing.events import Event

log = logging.getLogger(__name__)


MISSED_MARGIN_S = 5.0  # CDR starts are whole seconds: look that far before the PBX was last heard
EVENT_QUEUE = 10_000  # AMI events waiting for the translator before the link resyncs instead
NO_SUCH_CHANNEL = "no such channel"  # Asterisk's answer to an action on a channel that has hung up

CONTROLS = frozenset(
    {
        Control.HANGUP,
        Control.TRANSFER_BLIND,
        Control.TRANSFER_ATTENDED,
        Control.RECORDING_PAUSE,
        Control.RECORDING_RESUME,
        Control.SUPERVISE,
    }
)


class AsteriskLink(ControlsNotOffered):
    def __init__(
        self,
        *,
        host: str,
        port: int,
        username: str,
        secret: str,
        bus: EventBus,
        agents: Mapping[str, str],
        default_queue: str,
        action_timeout: float = 5.0,
        transfer_context: str = TRANSFER_CONTEXT,
        supervisor_phones: Mapping[str, str] | None = None,
        event_queue: int = EVENT_QUEUE,
        cdr_file: Path | None = None,
        cdr_timezone: tzinfo = UTC,
        member_names: Mapping[str, str] | None = None,
        dynamic_queues: Collection[str] = (),
        call_prefix: str = "",
        report_link_loss: bool = False,
        fence: ActionFence | None = None,
    ) -> None:
        """`agents` maps Hotline agent id → PBX interface (`Local/1001@agents/n`, `PJSIP/1001`).
        `member_names`: agent id → app_queue MemberName for QueueAdd; `dynamic_queues`: the
        queues whose members Hotline adds and removes (the others' members are in queues.conf).
        `event_queue`: AMI events that may wait for the bus before the link resyncs instead.
        `cdr_file`: this host's view of the PBX's cdr_csv Master.csv (reconciliation's figures).
        With several PBXs (cti.multi): `call_prefix` goes before this PBX's call ids, and
        `report_link_loss` shows its agents' phones unavailable while the link is down, so only
        this PBX's agents stop being offered calls (one PBX alone: the ACD holds every offer).
        `fence`: checked before every action frame (the elected router's, cluster.fence)."""
        self.host = host
        self.port = port
        self._username = username
        self._secret = secret
        self._timeout = action_timeout
        self._event_queue = event_queue
        self._fence = fence
        self.bus = bus
        self.interfaces = dict(agents)
        self.transfer_context = transfer_context
        self.cdr_file, self.cdr_timezone = cdr_file, cdr_timezone
        self.supervisor_phones = dict(supervisor_phones or {})  # supervisor login → phone interface
        by_interface = {iface: agent for agent, iface in agents.items()}
        by_device = {device_name(iface): agent for agent, iface in agents.items()}
        self.translator = AmiTranslator(
            default_queue=default_queue,
            agents=by_interface | by_device,
            devices=by_interface | by_device,
            call_prefix=call_prefix,
        )
        self.report_link_loss = report_link_loss
        self._client: AmiClient | None = None
        self._heard_at: float | None = None  # when the last AMI message was read (time.time())
        self._lost_after: float | None = None  # when the PBX was last heard before the last loss
        self._pbx_started: str | None = None  # CoreStatus's start at the last login
        self._restart_callbacks: list[Callable[[], Awaitable[None]]] = []
        self._running = asyncio.Event()
        self.versions = VersionWatch()
        names = member_names or {}
        self.members = AsteriskMembers(
            self, {a: Member(iface, names.get(a, "")) for a, iface in agents.items()}, dynamic_queues
        )

    @property
    def client(self) -> AmiClient:
        if self._client is None:
            raise TelephonyError("the AMI link is not running")
        return self._client

    async def run(self) -> None:
        """Connect (and reconnect) and pump events to the bus until cancelled."""
        client = AmiClient(
            self.host,
            self.port,
            self._username,
            self._secret,
            action_timeout=self._timeout,
            frame_filter=wanted_frame,  # VarSet/Newexten/… noise is skipped before parsing
            fence=self._fence,
        )
        self._client = client
        self._running.set()
        subscription = client.subscribe(maxsize=self._event_queue, overflow="lose-link")

        async def publish_missed(events: list[Event]) -> None:
            for event in events:
                await self.bus.publish(event)

        async def check_version() -> None:
            await self.versions.check(client)

        # After every (re)login, before wait_connected() returns: which Asterisk this is, then
        # what happened while the link was down (calls that ended meanwhile end at their CDR's time).
        async def tell_missed() -> None:
            await publish_missed(await self._missed_while_down())

        client.on_connected(check_version)
        client.on_connected(self._read_cdrs)
        client.on_connected(self._check_restart)  # before the resync: what it reads is re-told
        resync_on_connect(client, self.translator, publish_missed, subscription)
        client.on_connected(tell_missed)  # after the resync: the calls live now are known
        async with asyncio.TaskGroup() as group:
            group.create_task(client.run(), name="ami-client")
            group.create_task(self._note_losses(client), name="ami-losses")
            if self.report_link_loss:
                group.create_task(self._report_link_loss(client, publish_missed), name="ami-link-loss")
            while True:
                try:
                    async for message in subscription:
                        self._heard_at = time.time()
                        for event in self.translator.feed(message):
                            await self.bus.publish(event)
                    return
                except EventsLost as exc:  # what was queued before the gap is translated: rebuild the rest
                    client.drop_link(str(exc))

    async def _report_link_loss(self, client: AmiClient, publish: Publish) -> None:
        """Each loss of the link (or no login within the action timeout at the start) shows this
        PBX's agent phones unavailable; after the re-login's resync, those it did not report are
        idle again (cti.ami.translate link_lost/restored)."""

        async def restored() -> None:
            await publish(self.translator.link_restored(self.translator.clock()))

        client.on_connected(restored)  # after the resync's own callback, registered before
        try:  # a PBX down from the start: its agents are not offered what others' records say waits there
            await client.wait_connected(self._timeout)
        except NotConnected:
            await publish(self.translator.link_lost(self.translator.clock()))
        while True:
            await client.wait_lost()
            await publish(self.translator.link_lost(self.translator.clock()))
            await client.wait_connected()

    def on_pbx_restart(self, callback: Callable[[], Awaitable[None]]) -> None:
        """Run `callback()` at a re-login to a PBX that restarted since the last login, before
        the resync: app_queue forgot the pauses and the QueueAdd'ed members it was told (observe
        mode: the ACD tells it again, so the resync reads Hotline's agents as they are)."""
        self._restart_callbacks.append(callback)

    async def _check_restart(self) -> None:
        """CoreStatus: the PBX's start; a different one than at the last login is a restart."""
        try:
            status = await self.client.action("CoreStatus")
        except (ActionRefused, AmiError) as exc:  # no write class system/reporting: not known
            log.info("AMI: no CoreStatus (%s): a restart of the PBX is not noticed", exc)
            return
        started = f"{status.get('CoreStartupDate', '')} {status.get('CoreStartupTime', '')}".strip()
        previous, self._pbx_started = self._pbx_started, started
        if previous is None or not started or started == previous:
            return
        log.warning(
            "AMI: the PBX restarted (%s, before %s): telling app_queue the agents again", started, previous
        )
        for callback in list(self._restart_callbacks):
            await callback()

    async def _note_losses(self, client: AmiClient) -> None:
        """At each loss of a link that was up: when the PBX was last heard (`_missed_while_down`):
        its last event, else the login. An idle PBX sends no event (Pong is no event): a link cut
        before it heard one had no time, and the calls that came and went meanwhile were lost."""
        while True:
            await client.wait_connected()
            up_at = time.time()
            await client.wait_lost()
            self._lost_after = max(self._heard_at or up_at, up_at)

    async def _missed_while_down(self) -> list[Event]:
        """After a re-login (not the first: the start-up reconciliation has that one): the calls
        that came *and* went while the link was down, whole, from their CDRs (as after a restart,
        cti.ami.reconcile). No AMI state has them; without a CDR file they stay lost.

        Master.csv is read again here, after the resync, not taken from the read before it: a
        caller who came while the link was down and hung up after that read but before the
        resync's CoreShowChannels had a Hangup the translator could not place (it did not know
        the call), no channel in the snapshot and no line in the CDRs read before: it was lost.
        Read now, every call over before the snapshot has its line; a call the link saw since
        (the snapshot, the live events) is known to the translator and not told again, and the
        calls told here are marked, so that their live events still queued do not enter them."""
        heard, self._lost_after = self._lost_after, None
        if heard is None or self.cdr_file is None:
            return []
        since = datetime.fromtimestamp(heard, UTC) - timedelta(seconds=MISSED_MARGIN_S)
        book = await asyncio.to_thread(read_master_csv, self.cdr_file, self.cdr_timezone, since)
        recent = CdrBook()
        for cdr in book.records:
            if cdr.start >= since:
                recent.add(cdr)
        # no await from here: what the translator knows now is what it tells itself
        dialplan = Dialplan(self.translator.default_queue)
        known = self.translator.known_calls()
        missed = missed_calls(recent, dialplan, known, self._agent_leg, self.translator.call_prefix)
        self.translator.told_from_records(missed)
        if missed:
            calls = len({e.call_id for e in missed})
            log.info("AMI re-login: %d calls came and went while the link was down (CDRs)", calls)
        return list(missed)

    async def _read_cdrs(self) -> None:
        """Before a resync: the CDRs of the last hours (cdr_file), so a call that ended while the
        link was down gets Asterisk's end time, not the reconnect's."""
        if self.cdr_file is None:
            return
        since = self.translator.clock() - timedelta(hours=6)
        book = await asyncio.to_thread(read_master_csv, self.cdr_file, self.cdr_timezone, since)

        def ended(caller_uid: str) -> datetime | None:
            found = figures_of(book, caller_uid, self._agent_leg)
            return found.ended_at if found is not None else None

        self.translator.cdr_end = ended

    async def wait_connected(self, timeout: float) -> None:  # noqa: ASYNC109
        async with asyncio.timeout(timeout):
            await self._running.wait()
        await self.client.wait_connected(timeout)

    # ------------------------------------------------------- after a restart (Reconciler)
    async def reconcile(
        self, open_calls: Sequence[OpenCall], known: frozenset[str], since: datetime
    ) -> list[Event]:
        """Close the open calls the PBX no longer has and tell the calls Hotline never saw
        (cti.ami.reconcile), from the CDRs when `cdr_file` is set. Call after the resync of
        the first login (`wait_connected`): what is live is known then."""
        book = CdrBook()
        if self.cdr_file is not None:
            book = await asyncio.to_thread(read_master_csv, self.cdr_file, self.cdr_timezone, since)
        # From here no await: live events flow meanwhile, and what the translator knows now (live
        # or ended, from the resync and the stream) it tells itself; the call log's `known` and
        # open calls lag behind it (it writes what the bus hands it). What is told here is marked
        # so that its live events, if some still wait in the link's queue, do not tell it again.
        told = self.translator.known_calls()
        live = set(self.translator.live_calls())
        mine = [c for c in open_calls if c.source == SOURCE]
        for call in mine:  # live outside the hotline's contexts (transferred, voicemail): not over
            if call.call_id not in told and call.pbx_ref and self.translator.channel_live(call.pbx_ref):
                self.translator.take_over(call.call_id, call.pbx_ref, caller=call.caller, queue=call.queue)
                live.add(call.call_id)
        events: list[Event] = []
        events += close_gone(mine, live | told, book, self._agent_leg, self.translator.clock())
        prefix = self.translator.call_prefix  # `known`'s refs of this PBX carry it (missed_calls)
        seen = known | told | {c.call_id for c in mine} | {prefix + c.pbx_ref for c in mine if c.pbx_ref}
        dialplan = Dialplan(self.translator.default_queue)
        events += missed_calls(book, dialplan, seen, self._agent_leg, self.translator.call_prefix)
        self.translator.told_from_records(events)
        log.info(
            "reconciliation: %d open calls, %d live, %d CDRs since %s: %d events",
            len(mine),
            len(live),
            len(book.records),
            since.isoformat(timespec="seconds"),
            len(events),
        )
        return events

    def _agent_leg(self, channel: str) -> str | None:
        agent = self.translator.agent_of(channel)
        return agent if agent in self.interfaces else None

    @property
    def controls(self) -> frozenset[Control]:
        return CONTROLS

    def health(self) -> LinkHealth:
        client = self._client
        if client is None:
            return LinkHealth(False, "the AMI link has not started")
        stats = client.stats
        counters = {
            "frames": stats.frames,
            "events": stats.events,
            "bad_frames": stats.bad_frames,
            "dropped": stats.dropped,
            "overflows": stats.overflows,
            "connects": stats.connects,
            "logins": stats.logins,
            "login_refusals": stats.login_refusals,
            "disconnects": stats.disconnects,
            "bad_messages": self.translator.bad_messages,
        }
        # No host or port in the reasons: /api/health is read by load balancers, not only by us.
        if client.connected:
            profile = self.versions.profile
            if profile is not None and profile.support is Support.REFUSED:
                return LinkHealth(False, f"logged in to the AMI, but {profile.describe()}", counters)
            if profile is not None and profile.support is Support.BEST_EFFORT:
                return LinkHealth(True, f"logged in to the AMI; {profile.describe()}", counters)
            return LinkHealth(True, "logged in to the AMI", counters)
        if client.last_failure == "login refused":
            reason = "the AMI refuses the login (check HOTLINE_AMI_USERNAME and HOTLINE_AMI_SECRET)"
        elif client.last_failure == "unreachable":
            reason = "the AMI is unreachable (connection refused or timed out)"
        else:
            reason = "not connected to the AMI (the link was dropped; reconnecting)"
        return LinkHealth(False, reason, counters)

    # ------------------------------------------------------- Telephony protocol
    async def connect_call(self, call_id: str, agent_id: str, ring_timeout_s: float) -> None:
        """Dial the agent from the waiting caller (07g's Setvar + Redirect), for the router's ring timeout.

        The dialplan's Dial() times out at HOTLINE_RING_TIMEOUT, so an agent who does
        not answer comes back as DialEnd NOANSWER → RING_NO_ANSWER even if Hotline
        is busy; the caller returns to the music meanwhile (`rewait`).
        """
        channel = self._waiting_caller(call_id)
        self._may_drive(f"connect call {call_id}")
        try:
            await self.client.action(
                "Setvar",
                Channel=channel,
                Variable=RING_TIMEOUT_VARIABLE,
                Value=str(max(1, round(ring_timeout_s))),
            )
            await actions.connect_call(self.client, channel, agent_id, dial=self.interfaces.get(agent_id))
        except NotConnected as exc:
            raise LinkDown(f"cannot connect call {call_id} to agent {agent_id}: {exc}") from exc
        except ActionRefused as exc:
            if NO_SUCH_CHANNEL in exc.message.lower():
                # The caller hung up before their Hangup reached Hotline (seen on Asterisk 22.10.1 as
                # a third caller left at the moment of the offer): not the agent's miss.
                raise CallNotWaiting(f"call {call_id} hung up before agent {agent_id} was rung") from exc
            raise TelephonyError(f"cannot connect call {call_id} to agent {agent_id}: {exc}") from exc
        except AmiError as exc:
            raise TelephonyError(f"cannot connect call {call_id} to agent {agent_id}: {exc}") from exc

    async def cancel_ring(self, call_id: str, agent_id: str) -> None:
        """Stop ringing: Redirect the caller out of Dial() back to the music (`rewait`)."""
        channel = self._waiting_caller(call_id)
        self._may_drive(f"stop ringing agent {agent_id}")
        try:
            await self.client.action(
                "Redirect", Channel=channel, Context=WAIT_CONTEXT, Exten=REWAIT_EXTEN, Priority="1"
            )
        except AmiError as exc:
            raise TelephonyError(f"cannot stop ringing agent {agent_id} for call {call_id}: {exc}") from exc

    async def hangup(self, call_id: str) -> None:
        channel = self._caller(call_id)
        self._may_drive(f"hang up call {call_id}")
        try:
            await self.client.action("Hangup", Channel=channel)
        except AmiError as exc:
            raise TelephonyError(f"cannot hang up call {call_id}: {exc}") from exc

    async def place_callback(self, call_id: str, agent_id: str, number: str) -> None:
        """Click-to-call: ring the agent's phone, and when they answer dial `number` through the
        transfer context (where the dialplan sends numbers an agent dials out to). The agent
        sees the customer's number as caller id; `HOTLINE_CALL_ID` tags the call."""
        interface = self.interfaces.get(agent_id)
        if interface is None:
            raise TelephonyError(f"agent {agent_id} has no phone on this PBX")
        self._may_drive(f"call {number} for agent {agent_id}")
        try:
            await self.client.action(
                "Originate",
                Channel=interface,
                Context=self.transfer_context,
                Exten=number.lstrip("+"),
                Priority="1",
                CallerID=number,
                Async="true",
                Variable=f"HOTLINE_CALL_ID={call_id}",
            )
        except AmiError as exc:
            raise TelephonyError(f"cannot call {number} for agent {agent_id}: {exc}") from exc

    async def reject(self, call_id: str, reason: str, destination: str | None) -> None:
        raise TelephonyError("after-hours routing is not supported on Asterisk yet")

    def _caller(self, call_id: str) -> str:
        channel = self.translator.caller_channel(call_id)
        if channel is None:
            raise CallNotWaiting(f"call {call_id} is not live on the PBX")
        return channel

    def _waiting_caller(self, call_id: str) -> str:
        """The caller's channel, if the call still waits for an agent (a late answer may have won)."""
        channel = self._caller(call_id)
        if self.translator.agent_channel(call_id) is not None:
            raise CallNotWaiting(f"call {call_id} is already connected to an agent")
        return channel

    # --------------------------------------- console and supervisor call controls (CONTROLS)
    async def blind_transfer(self, call_id: str, target: str) -> None:
        """Send the caller to `target` in the transfer context (Redirect; the agent leg ends)."""
        channel = self._caller(call_id)
        await self._drive(
            f"transfer call {call_id} to {target}",
            actions.blind_transfer(self.client, channel, target, context=self.transfer_context),
        )

    async def attended_transfer(self, call_id: str, agent_id: str, target: str) -> None:
        """Atxfer from the agent's leg: the agent consults `target`, hanging up completes it."""
        agent_channel = self.translator.agent_channel(call_id)
        if agent_channel is None:
            raise CallNotWaiting(f"call {call_id} is not connected to agent {agent_id}")
        await self._drive(
            f"attended transfer of call {call_id} to {target}",
            actions.attended_transfer(self.client, agent_channel, target, context=self.transfer_context),
        )

    async def pause_recording(self, call_id: str) -> None:
        """PCI pause: MixMonitorMute on the caller's channel (the gap is marked from the events)."""
        await self._drive(
            f"pause recording of {call_id}", actions.mute_recording(self.client, self._caller(call_id))
        )

    async def resume_recording(self, call_id: str) -> None:
        await self._drive(
            f"resume recording of {call_id}",
            actions.mute_recording(self.client, self._caller(call_id), muted=False),
        )

    async def supervise(self, agent_id: str, supervisor: str, mode: SpyMode) -> None:
        """Ring the supervisor's phone and spy on the agent's current call (listen/whisper/barge)."""
        phone = self.supervisor_phones.get(supervisor)
        if phone is None:
            raise TelephonyError(f"no phone is configured for supervisor {supervisor!r}")
        agent_channel = self._agent_on_call(agent_id)
        await self._drive(
            f"{mode} on agent {agent_id}", actions.supervise(self.client, phone, agent_channel, mode)
        )

    def _agent_on_call(self, agent_id: str) -> str:
        for call_id in self.translator.live_calls():
            channel = self.translator.agent_channel(call_id)
            if channel is not None and self.translator.agent_of(channel) == agent_id:
                return channel
        raise CallNotWaiting(f"agent {agent_id} is not on a call")

    def _may_drive(self, what: str) -> None:
        """Call control only on a supported Asterisk (cti.ami.versions): older ones are read, not driven."""
        profile = self.versions.profile
        if profile is not None and not profile.drives:
            raise TelephonyError(f"cannot {what}: {profile.describe()}")

    async def _drive(self, what: str, action: Awaitable[None]) -> None:
        """A call-control action, if this Asterisk is one Hotline drives."""
        try:
            self._may_drive(what)
        except TelephonyError:
            if isinstance(action, Coroutine):
                action.close()  # never sent
            raise
        await AsteriskLink._act(what, action)

    @staticmethod
    async def _act(what: str, action: Awaitable[None]) -> None:
        try:
            await action
        except AmiError as exc:
            raise TelephonyError(f"cannot {what}: {exc}") from exc


class AsteriskMembers:
    """cti.telephony.MemberPort over the link's AMI client (cti.ami.members.MemberSync)."""

    def __init__(self, link: AsteriskLink, members: Mapping[str, Member], dynamic: Collection[str]) -> None:
        self._link = link
        self._members = dict(members)
        self.dynamic_queues = frozenset(dynamic)

    def _sync(self) -> MemberSync:
        return MemberSync(self._link.client, self._members, self.dynamic_queues)

    async def sign_in(
        self, agent_id: str, queues: Mapping[str, int], *, paused: bool = False, reason: str = ""
    ) -> None:
        await AsteriskLink._act(
            f"sign agent {agent_id} in to app_queue",
            self._sync().sign_in(agent_id, queues, paused=paused, reason=reason),
        )

    async def sign_out(self, agent_id: str, queues: Collection[str]) -> None:
        await AsteriskLink._act(
            f"sign agent {agent_id} out of app_queue", self._sync().sign_out(agent_id, queues)
        )

    async def pause(self, agent_id: str, reason: str) -> None:
        await AsteriskLink._act(f"pause agent {agent_id} in app_queue", self._sync().pause(agent_id, reason))

    async def unpause(self, agent_id: str) -> None:
        await AsteriskLink._act(f"unpause agent {agent_id} in app_queue", self._sync().unpause(agent_id))
