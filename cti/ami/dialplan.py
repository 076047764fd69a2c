"""The dialplan names Hotline and the Asterisk dialplan agree on, spelled once.

`config/asterisk/extensions.conf` (the sample dialplan) defines these contexts,
extensions, variables and UserEvents; the Asterisk link sends its actions to
them, the translator recognises waiting callers by them, and the simulated PBX
plays them. A PBX with its own dialplan changes the .conf and these together.
"""

from __future__ import annotations

# ------------------------------------------------------------------ control mode
WAIT_CONTEXT = "hotline-control"  # callers wait here (music) until Hotline connects them
WAIT_EXTEN = "wait"  # the entry: announces the caller (WAITING_USEREVENT), then music
REWAIT_EXTEN = "rewait"  # back to the music after a ring that was not answered or was cancelled
CONNECT_CONTEXT = "hotline-connect"  # a Redirect here dials the agent named by AGENT_VARIABLE
CONNECT_EXTEN = "agent"
AGENT_VARIABLE = "HOTLINE_AGENT"  # Setvar before the Redirect: which agent [hotline-connect] dials
DIAL_VARIABLE = "HOTLINE_DIAL"  # Setvar: the agent's interface (call-center file), the Dial() string
RING_TIMEOUT_VARIABLE = "HOTLINE_RING_TIMEOUT"  # Setvar: the Dial() timeout, the router's ring timeout
WAITING_USEREVENT = "HotlineWaiting"  # a caller waits (Queue:, CallerNum:, IvrChoice:)
QUEUE_VARIABLE = "HOTLINE_QUEUE"  # [hotline-control]: the caller's queue (Set by the queue entry or the IVR)
IVR_VARIABLE = "HOTLINE_IVR"  # the dialplan IVR's choice (ivr.options[].choice): its skills, its category
WAIT_TIMEOUT_USEREVENT = "HotlineWaitTimeout"  # it waited HOTLINE_MAX_WAIT and goes to the fallback
DIAL_END_USEREVENT = "HotlineDialEnd"  # [hotline-connect]'s Dial() did not answer (Agent:, DialStatus:)
WAITING_CONTEXTS = (WAIT_CONTEXT, CONNECT_CONTEXT)  # a caller in these still waits for an agent

# ------------------------------------------------------------------ observe mode, and after
OBSERVE_CONTEXT = "hotline-observe"  # the sample dialplan's app_queue entry: Queue(${EXTEN})
FALLBACK_CONTEXT = "hotline-fallback"  # nobody took the call: voicemail (both modes)

# ------------------------------------------------------------------ console transfers
TRANSFER_CONTEXT = "hotline-transfer"  # blind/attended transfer targets (settings.ami_transfer_context)

# ------------------------------------------------------------------ the recorded traces' dialplan
# The Asterisk 22 that recorded tests/fixtures/ami/ (its configuration is in the shared fixtures)
# enters app_queue from [hotline]; the simulated PBX plays that dialplan in observe mode.
QUEUE_CONTEXT = "hotline"  # Local/<queue>@hotline: Queue(<queue>)
TRANSFER_TARGETS_CONTEXT = "transfer-targets"  # Redirect / BlindTransfer: Dial(Local/${EXTEN}@level2/n,20)
LEVEL2_CONTEXT = "level2"  # second-level agents (2xxx)
AGENTS_CONTEXT = "agents"  # agent phones: Local/<agent>@agents
PHONES_CONTEXT = "phones"  # the callers' handsets of the simulator (talk-N, ...)
MONITOR_DIR = "/var/spool/asterisk/monitor"  # ${RECDIR}: MixMonitor(${RECDIR}/${UNIQUEID}.wav)
