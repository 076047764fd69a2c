"""The simulated PBX's CDRs, in the Master.csv cdr_csv writes (loguniqueid, loguserfield, usegmtime).

One line per channel when it hangs up: the channel's last dialplan place (dst,
dcontext, lastapp), the first channel it was bridged with (dstchannel), when it
was created, answered and hung up. That is simpler than Asterisk's CDR engine
(which forks records at bridge changes and folds a dialled channel's record
into its caller's), but every line has the shape and meaning of a real one, so
what reads Asterisk's Master.csv (cti.ami.cdr) reads this. The dialplan of the
recorded traces sets `CDR(userfield)=hotline-${EXTEN}` in [hotline]; so does
this for callers of that context.

Each line is one `write` on a file opened for appending: a reader never sees
half a line, and a killed simulator leaves only whole lines.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from cti.ami.dialplan import QUEUE_CONTEXT
from cti.simulator.channels import UNKNOWN, Channel

_TIME = "%Y-%m-%d %H:%M:%S"


def _quoted(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def _when(stamp: float | None) -> str:
    return _quoted(time.strftime(_TIME, time.gmtime(stamp))) if stamp else ""


class CdrWriter:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)

    def line(self, channel: Channel, ended: float) -> str:
        number = "" if channel.cid_num == UNKNOWN else channel.cid_num
        name = "" if channel.cid_name == UNKNOWN else channel.cid_name
        clid = f'"{name}" <{number}>' if name else number
        answered = channel.answered_at
        userfield = f"hotline-{channel.exten}" if channel.context == QUEUE_CONTEXT else ""
        fields = [
            _quoted(""),  # accountcode
            _quoted(number),
            _quoted(channel.exten),
            _quoted(channel.context),
            _quoted(clid),
            _quoted(channel.name),
            _quoted(channel.peer),
            _quoted(channel.application),
            _quoted(channel.app_data),
            _when(channel.created_at),
            _when(answered),
            _when(ended),
            str(int(ended - channel.created_at)),
            str(int(ended - answered) if answered else 0),
            _quoted("ANSWERED" if answered else "NO ANSWER"),
            _quoted("DOCUMENTATION"),
            _quoted(channel.uniqueid),
            _quoted(userfield),
        ]
        return ",".join(fields) + "\n"

    def hangup(self, channel: Channel, ended: float) -> None:
        """Append the channel's CDR (blocking, one small write)."""
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, self.line(channel, ended).encode("utf-8"))
        finally:
            os.close(fd)
