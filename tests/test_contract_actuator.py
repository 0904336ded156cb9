"""The actuator line codec and the command/ack topics, as literal bytes."""

from __future__ import annotations

import pytest

from machimori.contract import actuator as ac
from machimori.contract import mqtt
from machimori.contract.pulse import crc16_ccitt


def test_lines_are_byte_exact_and_round_trip() -> None:
    c = ac.Command("c1", "on", 600, 62)
    line = ac.encode_command(c)
    assert line.startswith(b"AC1,C,c1,on,600,62*") and line.endswith(b"\r\n")
    body = line.split(b"*")[0]
    assert line == body + b"*%04X\r\n" % crc16_ccitt(body)
    assert ac.parse(line) == c
    for x in (ac.Ack("c1", "done", None, True), ac.Ack("c2", "refused", "humidity", False),
              ac.State(7, True, 6120, False, 42), ac.State(0, False, -1, True, 0)):
        enc = ac.encode_ack(x) if isinstance(x, ac.Ack) else ac.encode_state(x)
        assert ac.parse(enc) == x and len(enc) <= ac.MAX_LINE
    assert ac.encode_ack(ac.Ack("c1", "done", None, True)).startswith(b"AC1,A,c1,done,-,1*")


def _framed(body: bytes) -> bytes:
    return body + b"*%04X\r\n" % crc16_ccitt(body)


@pytest.mark.parametrize(("line", "why"), [
    (b"AC1,C,c1,on,600,62*0000\r\n", "checksum mismatch"),
    (b"AC1,C,c1,on,600,62\r\n", "no '*'"),
    (b"AC1,C,c1,on,600,62*XYZW\r\n", "not hex"),
    (_framed(b"AC1,C,c 1,on,600,62"), "id or action"),
    (_framed(b"AC1,C,c1,spray,600,62"), "id or action"),
    (_framed(b"AC1,C,c1,on,-5,62"), "hold_s out of range"),
    (_framed(b"AC1,A,c1,done,humidity,1"), "reason"),
    (_framed(b"AC1,A,c1,refused,-,0"), "reason"),
    (_framed(b"AC1,A,c1,refused,lunch,0"), "reason"),
    (_framed(b"AC1,S,1,2,5000,0,0"), "on must be 0 or 1"),
    (_framed(b"AC1,S,1,1,20000,0,0"), "rh_centi out of range"),
    (_framed(b"AC1,X,1"), "expected AC1,C|A|S"),
    (_framed(b"PB1,0,3,10"), "expected AC1"),
    (_framed(b"AC1,C,\xff\xfe,on,1,1"), "not ASCII"),
    (b"A" * 200 + b"\r\n", "longer than"),
])
def test_bad_lines_are_refused_saying_why(line: bytes, why: str) -> None:
    with pytest.raises(ac.ActuatorLineError, match=why.replace("*", r"\*").replace("|", r"\|")):
        ac.parse(line)


def test_command_and_ack_topics_parse_and_check_the_device() -> None:
    body = (b'{"schema":"machimori/command/1","id":"c1","gw":"gw-01","device":"mist-1",'
            b'"action":"off","ts":1}')
    info, p = mqtt.decode_message(mqtt.command_topic("gw-01", "mist-1"), body)
    assert (info.message, info.kind, p["action"]) == ("command", "mist-1", "off")
    with pytest.raises(mqtt.ContractError, match="does not match the topic"):
        mqtt.decode_message(mqtt.command_topic("gw-01", "fan-2"), body)
    with pytest.raises(mqtt.ContractError, match="gw"):
        mqtt.decode_message(mqtt.command_topic("gw-02", "mist-1"), body)
    ack = (b'{"schema":"machimori/ack/1","id":"c1","gw":"gw-01","device":"mist-1",'
           b'"result":"refused","reason":"wind","on":false,"ts":2}')
    assert mqtt.decode_message(mqtt.ack_topic("gw-01"), ack)[0].message == "ack"
    with pytest.raises(mqtt.ContractError):
        mqtt.decode_message(mqtt.ack_topic("gw-01"), ack.replace(b"wind", b"gusty"))
    with pytest.raises(mqtt.ContractError, match="expected status"):
        mqtt.parse_topic("machimori/v1/gw/gw-01/cmd")
