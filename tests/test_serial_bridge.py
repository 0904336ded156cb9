"""The meter bridge over a real pty: checked lines, noise, gaps, reboots, unplug and replug."""

from __future__ import annotations

from pathlib import Path

from gateway.serial_bridge import BridgePort, CheckedLine, PulseStream
from machimori.contract import pulse
from machimori.procs import wait_for
from sim.meter_bridge import MeterBridge


def test_stream_checks_every_line_and_counts_what_it_rejects() -> None:
    s = PulseStream()
    good = [pulse.encode(i, 100 + i, 10 * i) for i in range(5)]
    bad_crc = good[1][:-6] + (b"0000" if not good[1].endswith(b"0000\r\n") else b"1111") + b"\r\n"
    data = (good[0] + b"\x00\xffgarbage\r\n" + bad_crc + good[1] + good[3]
            + good[4][:7])
    out = s.feed(data, 1.0)
    assert [c.line for c in out] == [pulse.PulseLine(0, 100, 0), pulse.PulseLine(1, 101, 10),
                                     pulse.PulseLine(3, 103, 30)]
    assert [c.gap for c in out] == [0, 0, 1]
    assert s.feed(good[4][7:], 2.0) == [CheckedLine(2.0, good[4], pulse.PulseLine(4, 104, 40),
                                                    0)]
    assert s.counters["rejected_pulse_format"] == 1
    assert s.counters["rejected_pulse_checksum"] == 1
    assert (s.counters["seq_gaps"], s.counters["lines_missing"]) == (1, 1)
    s.feed(pulse.encode(0, 104, 0), 3.0)
    assert s.counters["bridge_reboots"] == 1
    s.feed(b"x" * 100, 4.0)
    assert s.counters["rejected_line_too_long"] == 1


def test_reads_the_sim_bridge_and_reconnects_after_unplug(tmp_path: Path) -> None:
    link = tmp_path / "ttyBRIDGE"
    bridge = MeterBridge(link).plug()
    port = BridgePort(str(link), backoff=(0.05, 0.2))
    got: list[CheckedLine] = []

    def until(n: int) -> None:
        wait_for(lambda: bool(got.extend(port.poll())) or len(got) >= n, 10, f"{n} lines")

    try:
        port.poll()  # connect before the first line
        sent = [bridge.line() for _ in range(3)]
        until(3)
        assert [c.raw for c in got] == sent  # byte-exact
        bridge.skip(2)
        bridge.raw(b"\xfe\xfe noise\r\n")
        sent.append(bridge.line())
        until(4)
        assert got[3].gap == 2 and port.counters["rejected_pulse_format"] == 1
        bridge.unplug()
        wait_for(lambda: bool(port.poll()) or not port.connected, 10, "the unplug to be noticed")
        assert port.counters["disconnects"] == 1
        port.poll()  # the link is gone: a failed open, no exception
        bridge.plug()
        wait_for(lambda: bool(port.poll()) or port.connected, 10, "the reconnect")
        sent.append(bridge.line())
        until(5)
        assert got[4].raw == sent[-1] and got[4].line.seq == 6
        assert port.counters["connects"] == 2
    finally:
        port.close()
        bridge.unplug()
