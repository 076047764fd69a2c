"""What the call log knows is known per PBX: an east call does not hide its main-PBX twin.

Two PBXs started in the same second number their channels alike, so the main PBX's call
`1795342455.0` and east's `east:1795342455.0` share the Uniqueid (issue #17's cluster test,
whose simulators start together). The start-up reconciliation's `known` held east's raw
Uniqueid (its `pbx_ref`), which is also the main call's id: a main call that came and went
while no router ran (its CDR only) was taken for known and never told.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from calls.models import CallRecord
from calls.recovery import known_since
from cti.ami.reconcile import Dialplan, missed_calls
from tests.cti.test_reconcile_cdr import Scenario, agent_of


async def test_a_call_the_other_pbx_has_with_the_same_uniqueid_is_still_told_from_the_cdrs(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    scenario = Scenario.load("03-abandon")  # one caller, CDRs only: Hotline never saw it
    book = scenario.book()
    whole = missed_calls(book, Dialplan("support"), frozenset(), agent_of)
    (caller_uid,) = {e.source_refs[0] for e in whole}
    async with sessions() as session:  # east's twin, known to the log
        session.add(
            CallRecord(
                call_id=f"east:{caller_uid}", source="asterisk", pbx="east", pbx_ref=caller_uid,
                offered_at=scenario.started, ended_at=scenario.started + timedelta(seconds=30),
            )
        )  # fmt: skip
        await session.commit()
    known = await known_since(sessions, scenario.started - timedelta(minutes=10))

    told = missed_calls(book, Dialplan("support"), known, agent_of)  # the main PBX's reconciliation
    assert told == whole
    # the same CDRs on east are its call, known: not told again
    assert missed_calls(book, Dialplan("support"), known, agent_of, call_prefix="east:") == []
