"""`python -m cti.simulator`: the simulated PBX in its own process (cti.simulator.standalone)."""

from cti.simulator.standalone import main

raise SystemExit(main())
