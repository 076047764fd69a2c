"""Recordings over HTTP: list, metadata, playback with Range, download, legal hold, delete.

Who may do what is decided by `recordings.access.decide` (one table), called by
the archive for every request; the archive writes the audit entry and commits
it before this module streams a single byte. Playback answers Range requests
(206 with Content-Range, 416 with `bytes */size`, 200 otherwise); download is
the whole WAV as an attachment.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, Field

from agent_ui.auth import CurrentUser
from agent_ui.deps import Archive, Center
from agent_ui.errors import error_body, register
from agent_ui.models import Role
from config.database import RowId
from recordings import errors as rec_errors
from recordings.access import Action, Principal
from recordings.archive import Playback
from recordings.ranges import unsatisfiable_content_range
from recordings.views import RecordingPublic, public

register(rec_errors.RecordingNotFound, 404, "recording_not_found")
register(rec_errors.AccessDenied, 403, "recording_access_denied")
register(rec_errors.LegalHoldActive, 409, "legal_hold_active")
register(rec_errors.HoldStateError, 409, "legal_hold_state")
register(rec_errors.RecordingTampered, 409, "recording_tampered")
register(rec_errors.BlobNotFound, 500, "recording_file_missing")
register(rec_errors.StorageError, 503, "recording_store_unavailable")

router = APIRouter(prefix="/recordings", tags=["recordings"])


async def recording_principal(user: CurrentUser, center: Center) -> Principal:
    queues = center.supervised_queues(user.login) if user.role == Role.SUPERVISOR else frozenset()
    return Principal(login=user.login, role=str(user.role), agent_id=user.agent_id, queues=queues)


async def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


Who = Annotated[Principal, Depends(recording_principal)]
SourceIp = Annotated[str | None, Depends(client_ip)]


class HoldIn(BaseModel):
    reason: str = Field(min_length=1, max_length=500)


@router.get("", response_model=list[RecordingPublic])
async def list_recordings(
    archive: Archive,
    who: Who,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    before_id: Annotated[RowId | None, Query(description="Page: recordings older than this id")] = None,
    call_id: Annotated[str | None, Query(max_length=64, description="Only this call's recordings")] = None,
) -> list[RecordingPublic]:
    found = await archive.list_visible(who, limit=limit, before_id=before_id, call_id=call_id)
    return [public(r) for r in found]


@router.get("/{rec_id}", response_model=RecordingPublic)
async def get_recording(rec_id: RowId, archive: Archive, who: Who) -> RecordingPublic:
    return public(await archive.get(who, rec_id))


def _audio_headers(playback: Playback, disposition: str) -> dict[str, str]:
    length = playback.range.length if playback.range else playback.size
    headers = {
        "Accept-Ranges": "bytes",
        "Content-Length": str(length),
        "Content-Disposition": f'{disposition}; filename="{playback.filename}"',
        "Cache-Control": "no-store",  # evidence is not cached by browsers or proxies
        "X-Content-SHA256": playback.recording.sha256 or "",
    }
    if playback.range:
        headers["Content-Range"] = playback.range.content_range
    return headers


_TAMPERED: dict[int | str, dict[str, Any]] = {
    409: {"description": "The stored file failed its integrity check: not served (audited)"}
}


@router.get("/{rec_id}/audio", response_class=StreamingResponse, responses={206: {}, 416: {}, **_TAMPERED})
async def play_recording(
    rec_id: RowId,
    archive: Archive,
    who: Who,
    ip: SourceIp,
    range_header: Annotated[str | None, Header(alias="Range")] = None,
) -> Response:
    try:
        playback = await archive.open_audio(
            who, rec_id, action=Action.PLAY, range_header=range_header, source_ip=ip
        )
    except rec_errors.RangeNotSatisfiable as exc:
        return JSONResponse(
            error_body("range_not_satisfiable", str(exc)),
            status_code=416,
            headers={"Content-Range": unsatisfiable_content_range(exc.size), "Accept-Ranges": "bytes"},
        )
    return StreamingResponse(
        playback.chunks,
        status_code=206 if playback.range else 200,
        media_type=playback.media_type,
        headers=_audio_headers(playback, "inline"),
    )


@router.get("/{rec_id}/download", response_class=StreamingResponse, responses=_TAMPERED)
async def download_recording(rec_id: RowId, archive: Archive, who: Who, ip: SourceIp) -> Response:
    playback = await archive.open_audio(who, rec_id, action=Action.DOWNLOAD, source_ip=ip)
    return StreamingResponse(
        playback.chunks, media_type=playback.media_type, headers=_audio_headers(playback, "attachment")
    )


@router.put("/{rec_id}/hold", response_model=RecordingPublic)
async def set_legal_hold(
    rec_id: RowId, body: HoldIn, archive: Archive, who: Who, ip: SourceIp
) -> RecordingPublic:
    return public(await archive.set_hold(who, rec_id, reason=body.reason, source_ip=ip))


@router.delete("/{rec_id}/hold", response_model=RecordingPublic)
async def release_legal_hold(
    rec_id: RowId,
    archive: Archive,
    who: Who,
    ip: SourceIp,
    reason: Annotated[str, Query(min_length=1, max_length=500)],
) -> RecordingPublic:
    return public(await archive.release_hold(who, rec_id, reason=reason, source_ip=ip))


@router.delete("/{rec_id}", status_code=204)
async def delete_recording(
    rec_id: RowId,
    archive: Archive,
    who: Who,
    ip: SourceIp,
    reason: Annotated[str, Query(min_length=1, max_length=500)],
) -> Response:
    await archive.delete(who, rec_id, reason=reason, source_ip=ip)
    return Response(status_code=204)
