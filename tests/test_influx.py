"""The InfluxDB sink against a real VictoriaMetrics (it accepts the v2 write API), points read back.

Also: the sink down at the start, and stopped mid-run, loses nothing once it is back.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from collector.influx import SINK, InfluxConfig, InfluxSink, point_line
from collector.store import Store
from machimori.procs import wait_for

from .harness import Collector, Mosquitto, VictoriaMetrics

# Recent times: VictoriaMetrics refuses points outside its retention or far in the future.
T0 = (int(time.time()) // 60) * 60 - 2 * 86400


def summary(seq: int, device: str = "heat-001", gw: str = "gw-01") -> dict:
    stat = lambda v: {"mean": v, "min": v - 0.5, "max": v + 0.5, "last": v + 0.25}
    return {"schema": "machimori/summary/1", "id": f"{gw}:{seq}", "gw": gw, "seq": seq,
            "kind": "heat", "device": device, "start": T0 + 60 * seq - 60,
            "end": T0 + 60 * seq, "n": 6,
            "values": {"air_c": stat(30.0 + seq / 100), "humidity": stat(60.0)},
            "place": {"lat": 36.14, "lon": 139.38}, "wbgt_level": seq % 5}


def message(p: dict) -> tuple[str, bytes]:
    return f"machimori/v1/gw/{p['gw']}/summary/{p['kind']}", json.dumps(p).encode()


def publish(broker: Mosquitto, payloads: list[dict]) -> None:
    pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="test-influx-pub")
    pub.connect("127.0.0.1", broker.port)
    pub.loop_start()
    try:
        infos = [pub.publish(*message(p), qos=1) for p in payloads]
        for info in infos:
            info.wait_for_publish(10)
    finally:
        pub.loop_stop()
        pub.disconnect()


def air_means(vm: VictoriaMetrics) -> dict[int, float]:
    series = vm.export("heat_air_c_mean")
    return series.get((("device", "heat-001"), ("gw", "gw-01")), {})


def test_point_line_is_the_documented_mapping() -> None:
    p = summary(3)
    p["values"]["air_c"] = {"mean": 31, "min": 30.5, "max": 31.5, "last": 31.25}  # an int mean
    assert point_line(p) == (
        "heat,device=heat-001,gw=gw-01 "
        # An integral mean is still a float field (no `i` suffix), like every other stat.
        "air_c_last=31.25,air_c_max=31.5,air_c_mean=31,air_c_min=30.5,"
        "humidity_last=60.25,humidity_max=60.5,humidity_mean=60,humidity_min=59.5,"
        f"n=6i,wbgt_level=3i {(T0 + 180) * 1000}")
    del p["wbgt_level"]
    assert "wbgt_level" not in point_line(p)
    # Tag values are escaped by the client, not by us.
    assert point_line({**p, "device": "a b,c"}).startswith("heat,device=a\\ b\\,c,gw=gw-01 ")


@pytest.mark.parametrize("kwargs, msg", [
    ({"url": "127.0.0.1:8086", "bucket": "b"}, "expected http://HOST:PORT"),
    ({"url": "http://127.0.0.1:8086", "bucket": ""}, "--influx-bucket is required"),
])
def test_bad_config_says_what_to_fix(kwargs: dict, msg: str) -> None:
    with pytest.raises(ValueError, match=msg):
        InfluxConfig(**kwargs)


def test_collector_writes_summaries_to_victoriametrics(tmp_path: Path,
                                                       mosquitto: Mosquitto) -> None:
    vm = VictoriaMetrics(tmp_path / "vm").start()
    col = Collector(tmp_path / "col", mosquitto.url,
                    extra_args=("--influx-url", vm.url, "--influx-bucket", "town")).start()
    try:
        payloads = [summary(s) for s in range(1, 41)]
        publish(mosquitto, payloads + payloads[:5])  # five redeliveries: not written twice
        wait_for(lambda: len(air_means(vm)) == 40, 30, "40 points in VictoriaMetrics")
        assert air_means(vm) == {(T0 + 60 * s) * 1000: 30.0 + s / 100 for s in range(1, 41)}
        levels = vm.export("heat_wbgt_level")[(("device", "heat-001"), ("gw", "gw-01"))]
        assert levels == {(T0 + 60 * s) * 1000: s % 5 for s in range(1, 41)}
        assert set(vm.export("heat_humidity_max").popitem()[1].values()) == {60.5}
        wait_for(lambda: col.query("SELECT count(*) FROM sink_queue")[0][0] == 0, 10,
                 "the sink queue to empty")
    finally:
        col.stop()
        vm.stop()


def test_sink_down_at_start_loses_nothing(tmp_path: Path, mosquitto: Mosquitto) -> None:
    vm = VictoriaMetrics(tmp_path / "vm")  # not started: the sink is down
    col = Collector(tmp_path / "col", mosquitto.url, extra_args=("--influx-url", vm.url)).start()
    try:
        publish(mosquitto, [summary(s) for s in range(1, 101)])
        wait_for(lambda: col.query("SELECT count(*) FROM summaries")[0][0] == 100, 30,
                 "100 summaries stored")
        # Ingest goes on; the points wait in the queue while the sink is down.
        assert col.query("SELECT count(*) FROM sink_queue WHERE sink='influx'")[0][0] == 100
        vm.start()
        wait_for(lambda: col.query("SELECT count(*) FROM sink_queue")[0][0] == 0, 60,
                 "the queue to drain once the sink is back")
        assert sorted(air_means(vm)) == [(T0 + 60 * s) * 1000 for s in range(1, 101)]
    finally:
        col.stop()
        vm.stop()


def test_sink_stopped_mid_run_loses_nothing(tmp_path: Path) -> None:
    vm = VictoriaMetrics(tmp_path / "vm").start()
    db = tmp_path / "c.sqlite"
    store = Store(db, sinks=(SINK,))
    cfg = InfluxConfig(url=vm.url, bucket="b", batch_size=50, max_in_flight=200,
                       retry_interval_ms=200, max_retries=2, max_retry_time_ms=2_000,
                       backoff_max_s=2.0)
    sink = InfluxSink(str(db), cfg, poll_s=0.05).start()
    try:
        seq = 0

        def ingest(n: int) -> None:
            nonlocal seq
            store.ingest([message(summary(s)) for s in range(seq + 1, seq + n + 1)])
            seq += n

        ingest(300)
        wait_for(lambda: sink.stats.written >= 100, 30, "the sink to be writing")
        # Stopped mid-run. SIGTERM, not SIGKILL: VictoriaMetrics answers a write before its
        # in-memory buffer reaches disk, so SIGKILL loses points it had accepted (its own
        # durability, not the sink's; InfluxDB writes its WAL before answering).
        vm.stop()
        for _ in range(10):
            ingest(100)
        wait_for(lambda: sink.stats.failed_batches > 0, 30, "writes to fail while it is down")
        assert store.sink_depth(SINK) > 0
        vm.start()  # same port, same storage
        wait_for(lambda: store.sink_depth(SINK) == 0, 60, "the queue to drain")
        ingest(100)
        wait_for(lambda: store.sink_depth(SINK) == 0, 30, "the last ones too")
        assert sorted(air_means(vm)) == [(T0 + 60 * s) * 1000 for s in range(1, 1401)]
    finally:
        sink.stop()
        store.close()
        vm.stop()
