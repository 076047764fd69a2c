"""Which Asterisk is on the other end, and what Hotline does with it (the README's version matrix).

Asterisk says its version twice: the banner line gives the *AMI protocol*
version (`Asterisk Call Manager/11.0.0` is Asterisk 22; since Asterisk 14 the
AMI major is the Asterisk major minus 11, 13 is 2.x, 12 is 2.0, 11 is 1.3,
1.8/10 are 1.1–1.2, 1.6 is 1.1, 1.4 is 1.0), and the `CoreSettings` action
answers `AsteriskVersion: 22.10.1`. `profile_for` turns either into a
`Profile`: supported (reads and drives), best effort (reads), refused.

The differences the profiles stand for were seen in real traces
(tests/fixtures/ami/<version>/) and in the documented event formats of the
older lines (tests/fixtures/ami/constructed/):

* 16.17+ and 18.3+ send `MixMonitorStart`; older ones only set the channel
  variable `MIXMONITOR_FILENAME` (the translator starts a recording from
  either, once).
* 12–15 have today's event names (Stasis), no `MixMonitorStart`.
* 11 and older name queue events `Join`/`Leave`, the member `Member`, the agent
  leg `BridgedChannel`, 1.6–10 write `Holdtime`/`Ringtime`; there is no
  DialBegin/DialEnd, BridgeEnter, BlindTransfer/AttendedTransfer; agent events
  come only with `eventwhencalled=yes` (cti.ami.normalise maps what it can).
"""

from __future__ import annotations

import enum
import logging
import re
from dataclasses import dataclass

from cti.ami.client import AmiClient
from cti.ami.errors import AmiError

log = logging.getLogger(__name__)

BANNER_PREFIX = "Asterisk Call Manager/"


class Support(enum.Enum):
    SUPPORTED = "supported"  # reads and drives (transfers, recording control, control mode)
    BEST_EFFORT = "best effort"  # reads calls, agents, outcomes; sends no call-control action
    REFUSED = "refused"  # one warning; nothing is promised


@dataclass(frozen=True)
class Profile:
    name: str
    support: Support
    dialect: str  # "modern" (12+ event names) or "legacy" (11 and older)
    mixmonitor_start: bool  # the PBX sends MixMonitorStart (else only VarSet MIXMONITOR_FILENAME)
    version: str  # what was read: "22.10.1", or "AMI 11.0.0" when only the banner is known
    reason: str = ""

    @property
    def drives(self) -> bool:
        return self.support is Support.SUPPORTED

    def describe(self) -> str:
        text = f"Asterisk {self.version}: profile {self.name} ({self.support.value})"
        return f"{text}: {self.reason}" if self.reason else text


_NUMBERS = re.compile(r"(\d+)\.(\d+)(?:\.(\d+))?")

SUPPORTED_LINES = (16, 18, 20, 22)  # LTS lines with tests (real traces of 18, 20, 22)


def parse_version(text: str | None) -> tuple[int, int, int] | None:
    """`22.10.1`, `certified/18.9-cert4`, `GIT-master-abc` → numbers (None when there are none)."""
    if not text:
        return None
    found = _NUMBERS.search(text)
    if found is None:
        return None
    return int(found.group(1)), int(found.group(2)), int(found.group(3) or 0)


def ami_version(banner: str | None) -> str | None:
    """`Asterisk Call Manager/11.0.0` → `11.0.0` (None for anything else)."""
    if banner and banner.startswith(BANNER_PREFIX):
        return banner[len(BANNER_PREFIX) :].strip() or None
    return None


def asterisk_major_from_ami(ami: str) -> int | None:
    """The Asterisk major an AMI protocol version belongs to (1 for the 1.x lines)."""
    numbers = parse_version(ami)
    if numbers is None:
        return None
    major, minor, _ = numbers
    if major >= 3:  # Asterisk 14 = AMI 3.x … Asterisk 22 = AMI 11.x
        return major + 11
    if major == 2:  # 12 = 2.0–2.3, 13 = 2.4+ (13.0 shipped AMI 2.5)
        return 12 if minor < 4 else 13
    if (major, minor) == (1, 3):
        return 11
    return 10 if (major, minor) == (1, 2) else 1  # 1.2: 1.8 later releases or 10; 1.0/1.1: 1.4-1.8


def profile_for(asterisk: str | None = None, banner: str | None = None) -> Profile:
    """The profile for what the PBX said: `CoreSettings` AsteriskVersion if known, else the banner."""
    numbers = parse_version(asterisk)
    if numbers is not None:
        major, minor, _ = numbers
        shown = asterisk or ""
        return _profile(major, minor, shown)
    ami = ami_version(banner)
    if ami is None:
        return Profile(
            "unknown",
            Support.REFUSED,
            "modern",
            True,
            "(unknown)",
            "neither the AMI banner nor CoreSettings named a version; read as Asterisk 22",
        )
    major = asterisk_major_from_ami(ami) or 1
    # the banner alone does not tell 18.2 from 18.3: assume the newest of the line
    return _profile(major, 99, f"AMI {ami}")


def _profile(major: int, minor: int, shown: str) -> Profile:
    # MixMonitorStart: 16.17.0, 18.3.0, and every line from 19 on
    start = major >= 19 or (major == 18 and minor >= 3) or (major == 16 and minor >= 17)  # 17.9 never had it
    if major in SUPPORTED_LINES:
        return Profile(f"asterisk-{major}", Support.SUPPORTED, "modern", start, shown)
    if major in (17, 19, 21):
        return Profile(
            f"asterisk-{major}",
            Support.SUPPORTED,
            "modern",
            start,
            shown,
            "a short-term release between tested LTS lines; same events as its neighbours",
        )
    if major > 22:
        return Profile(
            f"asterisk-{major}",
            Support.SUPPORTED,
            "modern",
            True,
            shown,
            "newer than the newest tested line (22); read as Asterisk 22",
        )
    if major in (12, 13, 14, 15):
        return Profile(
            "asterisk-13",
            Support.BEST_EFFORT,
            "modern",
            False,
            shown,
            "end of life; calls, agents, outcomes and recordings are read, call-control actions are not sent",
        )
    if major == 11:
        return Profile(
            "asterisk-11",
            Support.BEST_EFFORT,
            "legacy",
            False,
            shown,
            "end of life; calls, agents and outcomes are read (queues need eventwhencalled=yes), "
            "no transfers, no control mode, no call-control actions",
        )
    return Profile(
        "asterisk-1.x",
        Support.REFUSED,
        "legacy",
        False,
        shown,
        "Asterisk 10 and older (end of life since 2012-2015) differ again (1.4: Link/Unlink and "
        "Dial Source/SrcUniqueID; 1.6: Leave without Position; 1.6-10: Holdtime/Ringtime) and no test "
        "covers a whole call; events are read as for 11, nothing is promised, no action is sent",
    )


class VersionWatch:
    """Reads the PBX's version after every login and logs the profile once (again only if it changes).

    Register `check` with `AmiClient.on_connected` before the resync, so the
    profile is known before any event is translated.
    """

    def __init__(self) -> None:
        self.profile: Profile | None = None
        self.asterisk: str | None = None  # CoreSettings AsteriskVersion, when it answered

    async def check(self, client: AmiClient) -> Profile:
        asterisk = None
        try:
            settings = await client.action("CoreSettings", within=5.0)
            asterisk = settings.get("AsteriskVersion")
        except (AmiError, TimeoutError) as exc:  # no `system`/`reporting` class, or a PBX without it
            log.info("AMI: CoreSettings did not answer (%s); the version comes from the banner", exc)
        profile = profile_for(asterisk, client.banner)
        if profile != self.profile:
            self.profile, self.asterisk = profile, asterisk
            if profile.support is Support.SUPPORTED and not profile.reason:
                log.info("AMI: %s", profile.describe())
            elif profile.support is Support.SUPPORTED:
                log.warning("AMI: %s", profile.describe())
            else:
                log.warning("AMI: unsupported PBX version. %s", profile.describe())
        return profile
