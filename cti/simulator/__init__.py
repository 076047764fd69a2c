"""A simulated PBX that speaks real AMI over TCP, for the demo and the tests.

It behaves like the sample Asterisk configuration in `config/asterisk/` (the one
the recorded traces in tests/fixtures/ami/ came from): callers are placed with
the AMI `Originate` action exactly as on a real Asterisk, wait in
`[hotline-control]` until the CTI connects them (control mode), ring agents
that answer after a configurable time, are recorded by "MixMonitor" into a real
WAV file, and hang up. Event names, fields and order follow the real traces.
It is product code (a fake shipped on purpose), not a test double.
"""

from cti.simulator.core import AgentBehaviour
from cti.simulator.pbx import SimulatedPbx

__all__ = ["AgentBehaviour", "SimulatedPbx"]
