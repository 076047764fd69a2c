"""Wire format edge cases seen on real PBXes."""

from __future__ import annotations

from cti.ami.protocol import FrameSplitter, parse_frame, peek_name

OLD_COMMAND = (
    b"Response: Follows\r\nPrivilege: Command\r\nActionID: a1\r\n"
    b"Name/username             Host\r\n\r\n1001/1001   (Unspecified)\r\nUptime: 5 s\r\n"
    b"--END COMMAND--\r\n\r\n"
)
NEW_COMMAND = (
    b"Response: Success\r\nActionID: a2\r\nOutput: Name/username   Host\r\nOutput: 1001/1001\r\n"
    b"Output: 2 sip peers\r\n\r\n"
)
EVENT = b"Event: UserEvent\r\nUserEvent: Next\r\n\r\n"


def split_all(data: bytes, step: int) -> list[bytes]:
    splitter = FrameSplitter()
    frames: list[bytes] = []
    for i in range(0, len(data), step):
        frames.extend(splitter.feed(data[i : i + step]))
    return frames


def test_old_style_follows_keeps_its_blank_lines_until_end_command_in_any_chunking() -> None:
    for step in (1, 5, 64, 4096):
        frames = split_all(b"Asterisk Call Manager/11.0.0\r\n" + OLD_COMMAND + EVENT, step)
        assert len(frames) == 2, step
        msg = parse_frame(frames[0])
        assert msg.response == "Follows" and msg.action_id == "a1"
        assert "--END COMMAND--" in msg.getall("Output")
        assert "1001/1001   (Unspecified)" in msg.getall("Output")
        assert parse_frame(frames[1])["UserEvent"] == "Next"


def test_follows_without_end_command_does_not_swallow_the_next_messages() -> None:
    frames = split_all(b"Response: Follows\r\nActionID: a\r\n\r\n" + EVENT + OLD_COMMAND, 7)
    assert [parse_frame(f).get("UserEvent") or parse_frame(f).response for f in frames] == [
        "Follows",
        "Next",
        "Follows",
    ]


def test_multi_line_command_output_keeps_every_line_in_order() -> None:
    (frame,) = split_all(NEW_COMMAND, 3)
    assert parse_frame(frame).getall("Output") == ["Name/username   Host", "1001/1001", "2 sip peers"]


def test_repeated_and_unknown_keys_are_kept() -> None:
    msg = parse_frame(b"Event: Foo\r\nChanVariable: A=1\r\nChanVariable: B=2\r\nX-New-Key: 1")
    assert msg.getall("ChanVariable") == ["A=1", "B=2"] and msg["X-New-Key"] == "1"


def test_peek_name_reads_only_the_event_line() -> None:
    assert peek_name(b"Event: VarSet\r\nPrivilege: dialplan,all") == b"VarSet"
    assert peek_name(b"Response: Success\r\nActionID: 1") is None
