"""The hash-chained audit log every service appends to (sign-ins, recording access, ticket transitions).

`audit.log.AuditLog` appends inside the caller's transaction and verifies the
chain; `audit.models` holds its two tables; `audit.views` is its read side.
It imports config only: tickets/ and recordings/ both stand above it.
"""
