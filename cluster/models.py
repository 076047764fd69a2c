"""The election's table: one row per election, its epoch only ever grows.

`epoch` is the fencing token: each new leader increments it in one transaction when it wins
(cluster.leadership), and the leader's database writes are accepted only while it is still
theirs (cluster.fence_db). `holder` and `since` are for operators (who leads, since when).
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from config.database import UTCDateTime


class ClusterLeader(SQLModel, table=True):
    __tablename__ = "cluster_leader"

    name: str = Field(primary_key=True, max_length=64)
    epoch: int
    holder: str = Field(max_length=255)
    since: datetime = Field(sa_type=UTCDateTime)
