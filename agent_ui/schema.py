"""Every table of every package, in one metadata: what Alembic migrates.

Each package owns its tables in its own `models` module; importing them here is
what registers them. A package that adds a models module adds it here.
"""

from __future__ import annotations

from sqlmodel import SQLModel

import agent_ui.models
import audit.models
import calls.models
import cluster.models
import cti.agent_store
import cti.twilio.call_store
import cti.twilio.replay_store
import recordings.models
import tickets.models

MODEL_MODULES = (
    agent_ui.models,
    audit.models,
    calls.models,
    cluster.models,
    cti.agent_store,
    cti.twilio.call_store,
    cti.twilio.replay_store,
    recordings.models,
    tickets.models,
)

metadata = SQLModel.metadata
