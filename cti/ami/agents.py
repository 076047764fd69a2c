"""Map Asterisk interfaces and channels to Hotline agent ids.

Queue members and agent legs are named by the PBX: `Local/1001@agents/n`,
`Local/1001@agents-00000001;1`, `PJSIP/1001`, `PJSIP/1001-0000002a`. Hotline
knows agents by its own ids. The default mapping takes the extension before
the `@` (Local) or the device name before the channel sequence (SIP/PJSIP/IAX2);
a deployment whose extensions differ from agent ids passes a dict or function.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

AgentMap = Callable[[str], str | None]


def default_agent_id(name: str) -> str | None:
    """`Local/1001@agents-00000001;1` → `1001`; `PJSIP/1001-0000002a` → `1001`; junk → None."""
    tech, sep, rest = name.partition("/")
    if not sep or not rest:
        return None
    if tech.lower() == "local":
        exten = rest.partition("@")[0]
        return exten or None
    device = rest.rpartition("-")[0] if _has_sequence(rest) else rest
    return device.partition(";")[0] or None


def _has_sequence(rest: str) -> bool:
    head, sep, tail = rest.rpartition("-")
    return bool(sep and head and len(tail) == 8 and all(c in "0123456789abcdef" for c in tail))


def agent_mapper(mapping: Mapping[str, str] | AgentMap | None = None) -> AgentMap:
    """Build the lookup the translator uses.

    A Mapping is consulted with the interface (`PJSIP/1001`), then with the
    default id (`1001`); names it does not know fall back to the default id.
    """
    if mapping is None:
        return default_agent_id
    if callable(mapping):
        return mapping
    table = dict(mapping)

    def lookup(name: str) -> str | None:
        if name in table:
            return table[name]
        tech, _, rest = name.partition("/")
        if _has_sequence(rest) and f"{tech}/{rest.rpartition('-')[0]}" in table:
            return table[f"{tech}/{rest.rpartition('-')[0]}"]
        short = default_agent_id(name)
        if short is None:
            return None
        return table.get(short, short)

    return lookup


def device_name(interface: str) -> str:
    """The device a member interface's DeviceStateChange names: `Local/1001@agents/n` → `Local/1001@agents`.

    Local channel options (`/n`, `/m`) are part of the interface, not of the device.
    """
    tech, sep, rest = interface.partition("/")
    if sep and tech.lower() == "local" and "/" in rest:
        return f"{tech}/{rest.partition('/')[0]}"
    return interface
