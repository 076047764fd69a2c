"""The recordings API over HTTP (in-process, httpx.ASGITransport): Range playback, download, roles, audit."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from agent_ui import errors
from agent_ui.api import auth as auth_api
from agent_ui.api import recordings as recordings_api
from agent_ui.auth import Authenticator, build_auth, hash_password
from agent_ui.models import Role, User
from audit.log import AuditLog
from audit.models import AuditEntry
from config.callcenter import CallCenter, parse_callcenter
from recordings.models import Recording
from recordings.service import RecordingService
from recordings.storage import LocalStore
from recordings.wiring import Recordings, build_recordings
from tests.recordings.conftest import FIXTURE_WAV, VirtualClock, record_call
from tests.serve import IN_PROCESS_URL, in_process
from tickets.reads import Reads

WAV = FIXTURE_WAV.read_bytes()
SIZE = len(WAV)


@dataclass
class ApiContainer:
    """The part of agent_ui.bootstrap.Container the auth and recordings routers use."""

    sessions: async_sessionmaker[AsyncSession]
    callcenter: CallCenter
    recordings: Recordings | None
    auth: Authenticator


CENTER = parse_callcenter(
    {
        "queues": [{"name": "support"}, {"name": "billing"}],
        "agents": [{"id": "1001", "name": "Alice", "queues": {"support": 0}}, {"id": "1002", "name": "Bob"}],
        "users": [
            {"login": "sue", "name": "Sue", "role": "supervisor", "queues": ["support"]},
            {"login": "sam", "name": "Sam", "role": "supervisor", "queues": ["billing"]},
            {"login": "ann", "name": "Ann", "role": "auditor"},
            {"login": "root", "name": "Root", "role": "admin"},
        ],
    }
)


@dataclass
class Api:
    transport: httpx.ASGITransport
    sessions: async_sessionmaker[AsyncSession]

    def anonymous(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=self.transport, base_url=IN_PROCESS_URL, timeout=10)

    @contextlib.asynccontextmanager
    async def client(self, login: str) -> AsyncIterator[httpx.AsyncClient]:
        async with self.anonymous() as client:
            reply = await client.post("/api/auth/login", json={"login": login, "password": "pw"})
            reply.raise_for_status()
            yield client

    async def audit(self) -> list[AuditEntry]:
        async with self.sessions() as session:
            return list((await session.exec(select(AuditEntry).order_by(col(AuditEntry.seq)))).all())


def _app(container: Any) -> FastAPI:
    app = FastAPI()
    errors.install(app)
    app.include_router(auth_api.router, prefix="/api")
    app.include_router(recordings_api.router, prefix="/api")
    app.state.container = container
    return app


@functools.cache
def _password_hash() -> str:
    return hash_password("pw")  # Argon2 is slow on purpose: hash once for every test


@pytest.fixture
async def api(
    sessions: async_sessionmaker[AsyncSession],
    service: RecordingService,
    clock: VirtualClock,
    store: LocalStore,
) -> AsyncIterator[Api]:
    hashed = _password_hash()
    async with sessions() as session:
        for login, role in [("1001", Role.AGENT), ("1002", Role.AGENT)] + [
            (u.login, Role(u.role)) for u in CENTER.users
        ]:
            session.add(User(login=login, name=login, role=role, password_hash=hashed))
        await session.commit()
    await record_call(service, clock)  # recording 1: queue support, agent 1001
    recordings = build_recordings(sessions=sessions, root=store.root, store=store, clock=clock)
    reads = Reads(sessions)
    auth = build_auth(sessions, reads)
    try:
        async with in_process(_app(ApiContainer(sessions, CENTER, recordings, auth))) as transport:
            yield Api(transport, sessions)
    finally:
        auth.close()
        reads.close()


async def test_range_requests_return_206_with_exactly_the_requested_bytes(api: Api) -> None:
    async with api.client("ann") as ann:
        first = await ann.get("/api/recordings/1/audio", headers={"Range": "bytes=0-99"})
        middle = await ann.get("/api/recordings/1/audio", headers={"Range": "bytes=100000-100999"})
        tail = await ann.get("/api/recordings/1/audio", headers={"Range": "bytes=-44"})
        open_end = await ann.get("/api/recordings/1/audio", headers={"Range": f"bytes={SIZE - 10}-"})
        whole = await ann.get("/api/recordings/1/audio")
        several = await ann.get("/api/recordings/1/audio", headers={"Range": "bytes=0-1,5-6"})
    assert first.status_code == 206 and first.content == WAV[:100]
    assert first.headers["content-range"] == f"bytes 0-99/{SIZE}" and first.headers["content-length"] == "100"
    assert first.headers["content-type"] == "audio/wav" and first.headers["accept-ranges"] == "bytes"
    assert middle.status_code == 206 and middle.content == WAV[100000:101000]
    assert (
        tail.headers["content-range"] == f"bytes {SIZE - 44}-{SIZE - 1}/{SIZE}" and tail.content == WAV[-44:]
    )
    assert open_end.status_code == 206 and open_end.content == WAV[-10:]
    assert whole.status_code == 200 and whole.content == WAV and "content-range" not in whole.headers
    assert several.status_code == 200 and several.content == WAV


async def test_a_range_past_the_end_is_416_with_the_size(api: Api) -> None:
    async with api.client("ann") as ann:
        reply = await ann.get("/api/recordings/1/audio", headers={"Range": f"bytes={SIZE}-"})
    assert reply.status_code == 416
    assert reply.headers["content-range"] == f"bytes */{SIZE}"
    assert reply.json()["error_id"] == "range_not_satisfiable"
    assert (await api.audit())[-1].outcome == "unsatisfiable"


async def test_download_is_the_whole_wav_as_an_attachment_and_is_logged_first(api: Api) -> None:
    async with api.client("sue") as sue:
        reply = await sue.get("/api/recordings/1/download")
    assert reply.status_code == 200 and reply.content == WAV
    assert reply.headers["content-disposition"].startswith("attachment;")
    assert reply.headers["cache-control"] == "no-store"
    entry = (await api.audit())[-1]
    assert (entry.action, entry.actor, entry.source_ip) == (
        "recording.download",
        "supervisor:sue",
        "127.0.0.1",
    )


@pytest.mark.parametrize(
    ("login", "method", "path", "status"),
    [
        ("1001", "GET", "/audio", 200),
        ("1001", "GET", "/download", 403),
        ("1002", "GET", "/audio", 403),
        ("sam", "GET", "/audio", 403),
        ("sue", "GET", "/audio", 200),
        ("ann", "PUT", "/hold", 403),
        ("root", "GET", "/audio", 403),
        ("root", "GET", "/download", 403),
        ("root", "PUT", "/hold", 200),
        ("1001", "DELETE", "?reason=x", 403),
        ("root", "DELETE", "?reason=erasure", 204),
    ],
)
async def test_each_role_gets_what_the_matrix_says_and_each_attempt_is_logged(
    api: Api, login: str, method: str, path: str, status: int
) -> None:
    async with api.client(login) as client:
        body = {"reason": "litigation"} if method == "PUT" else None
        reply = await client.request(method, f"/api/recordings/1{path}", json=body)
    assert reply.status_code == status, reply.text
    *_, signed_in, entry = await api.audit()
    assert signed_in.action == "auth.sign_in" and signed_in.actor == login
    assert entry.seq == 3 and entry.actor.endswith(f":{login}")
    assert entry.outcome == ("ok" if status < 400 else "denied")
    if status == 403:
        assert reply.json()["error_id"] == "recording_access_denied" and entry.action == "recording.denied"


async def test_hold_blocks_delete_and_release_needs_a_reason(api: Api) -> None:
    async with api.client("root") as root:
        held = await root.put("/api/recordings/1/hold", json={"reason": "court order 2026/17"})
        twice = await root.put("/api/recordings/1/hold", json={"reason": "again"})
        refused = await root.delete("/api/recordings/1", params={"reason": "cleanup"})
        no_reason = await root.delete("/api/recordings/1/hold")
        released = await root.delete("/api/recordings/1/hold", params={"reason": "case closed"})
        deleted = await root.delete("/api/recordings/1", params={"reason": "cleanup"})
        gone = await root.get("/api/recordings/1")
    assert held.status_code == 200 and held.json()["legal_hold"] and held.json()["hold_by"] == "admin:root"
    assert twice.status_code == 409 and twice.json()["error_id"] == "legal_hold_state"
    assert refused.status_code == 409 and refused.json()["error_id"] == "legal_hold_active"
    assert no_reason.status_code == 422
    assert released.status_code == 200 and not released.json()["legal_hold"]
    assert deleted.status_code == 204 and gone.json()["status"] == "deleted"
    actions = [(e.action, e.outcome) for e in await api.audit()][1:]
    assert actions == [
        ("auth.sign_in", "ok"),
        ("recording.hold_on", "ok"),
        ("recording.denied", "refused"),
        ("recording.hold_off", "ok"),
        ("recording.delete", "ok"),
    ]
    async with api.sessions() as session:
        assert (await AuditLog().verify(session)).ok


async def test_lists_and_metadata_follow_the_view_scope_and_hide_paths(api: Api) -> None:
    async with api.client("1001") as mine, api.client("1002") as other:
        own = await mine.get("/api/recordings")
        by_call = await mine.get("/api/recordings", params={"call_id": "1795342409.1"})
        other_call = await mine.get("/api/recordings", params={"call_id": "no-such-call"})
        none = await other.get("/api/recordings")
        hidden = await other.get("/api/recordings/1")
    assert [r["id"] for r in own.json()] == [1] and none.json() == []
    assert by_call.json() == own.json() and other_call.json() == []
    assert hidden.status_code == 404
    record = own.json()[0]
    assert record["sha256"] and record["duration_s"] == pytest.approx(13.96)
    assert "source_ref" not in record and "storage_key" not in record


async def test_signed_out_requests_are_401_and_unwired_recordings_are_503(
    api: Api, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with api.anonymous() as anonymous:
        assert (await anonymous.get("/api/recordings/1/audio")).status_code == 401
    reads = Reads(sessions)
    auth = build_auth(sessions, reads)
    async with (
        in_process(_app(ApiContainer(sessions, CENTER, None, auth))) as transport,
        Api(transport, sessions).anonymous() as client,
    ):
        await client.post("/api/auth/login", json={"login": "ann", "password": "pw"})
        reply = await client.get("/api/recordings")
    auth.close()
    reads.close()
    assert reply.status_code == 503 and reply.json()["error_id"] == "recordings_not_configured"


async def test_a_tampered_file_is_409_not_200_and_the_attempt_is_audited(api: Api, store: LocalStore) -> None:
    async with api.sessions() as session:
        recording = await session.get(Recording, 1)
    assert recording is not None and recording.storage_key is not None
    path = store.path_of(recording.storage_key)
    path.chmod(0o644)
    path.write_bytes(WAV[:-2] + b"\x00\x01")  # the last sample changed: same size, other bytes
    async with api.client("ann") as ann:
        play = await ann.get("/api/recordings/1/audio")
        ranged = await ann.get("/api/recordings/1/audio", headers={"Range": "bytes=0-99"})
        download = await ann.get("/api/recordings/1/download")
    for reply in (play, ranged, download):
        assert reply.status_code == 409, reply.text
        assert reply.json()["error_id"] == "recording_tampered"
        assert "integrity check" in reply.json()["message"] and WAV[:4] not in reply.content
    entries = [(e.action, e.outcome) for e in await api.audit() if not e.action.startswith("auth.")][1:]
    assert entries == [("recording.tampered", "tampered")] * 3


async def test_one_listening_is_one_entry_however_many_ranges_the_player_asks_for(api: Api) -> None:
    """A player fetches the start, then seeks: those ranges continue the listening the first one logged."""

    async def plays() -> list[AuditEntry]:
        return [e for e in await api.audit() if e.action == "recording.play"]

    async with api.client("ann") as ann, api.client("sue") as sue:
        for ranges in ("bytes=0-", "bytes=50000-", "bytes=100000-100999", f"bytes={SIZE - 10}-"):
            reply = await ann.get("/api/recordings/1/audio", headers={"Range": ranges})
            assert reply.status_code == 206
        assert [(e.actor, e.detail["range"]) for e in await plays()] == [("auditor:ann", "bytes=0-")]

        # playing it again from the start is a second listening
        assert (await ann.get("/api/recordings/1/audio", headers={"Range": "bytes=0-"})).status_code == 206
        # someone else's seek, with no listening of their own to continue, is logged as theirs
        assert (await sue.get("/api/recordings/1/audio", headers={"Range": "bytes=5000-"})).status_code == 206
        # a download is always its own entry
        assert (await ann.get("/api/recordings/1/download")).status_code == 200
    assert [(e.actor, e.detail["range"]) for e in await plays()] == [
        ("auditor:ann", "bytes=0-"),
        ("auditor:ann", "bytes=0-"),
        ("supervisor:sue", "bytes=5000-"),
    ]
    assert [e.action for e in await api.audit()][-1] == "recording.download"
