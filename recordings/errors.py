"""Errors raised by recordings/.

    RecordingError                 base of everything below
    ├── IngestError                a recording could not be taken in; nothing was stored
    │   ├── SourceUnavailable      the file/URL at the source cannot be read (yet): retry later
    │   └── InvalidAudio           the bytes are not a WAV stdlib `wave` can read
    ├── StorageError               the blob store failed (I/O, S3 error)
    │   └── BlobNotFound           no blob under that key
    ├── RecordingNotFound          no recording with that id (or it was deleted)
    ├── RecordingTampered          blob, row and audit log disagree: the file is not served
    ├── AccessDenied               the access policy refused; `reason` says why
    ├── LegalHoldActive            deletion refused: the recording is on legal hold
    ├── HoldStateError             hold set twice / released when not held / on a deleted recording
    └── RangeNotSatisfiable        an HTTP Range outside the file (maps to 416)

Lower-level errors (OSError, httpx, botocore) are translated at the boundary with
`raise ... from exc`, so callers only ever catch these.
"""

from __future__ import annotations


class RecordingError(Exception):
    """Base class of every error raised by recordings/."""


class IngestError(RecordingError):
    pass


class SourceUnavailable(IngestError):
    pass


class InvalidAudio(IngestError):
    pass


class StorageError(RecordingError):
    pass


class BlobNotFound(StorageError):
    pass


class RecordingNotFound(RecordingError):
    pass


class RecordingTampered(RecordingError):
    """The stored file or its row no longer matches what the audit log archived."""


class AccessDenied(RecordingError):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class LegalHoldActive(RecordingError):
    pass


class HoldStateError(RecordingError):
    pass


class RangeNotSatisfiable(RecordingError):
    def __init__(self, size: int) -> None:
        super().__init__(f"requested range not satisfiable (size {size})")
        self.size = size
