"""Decoding throughput: our BTHome decoder vs bthome-ble on the same payloads (same values).

    .venv/bin/python bench/decode_bthome.py [--n 20000]

Runs on one core. Speed is measured here, never asserted in tests.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from bthome_ble import BTHomeBluetoothDeviceData
from habluetooth import BluetoothServiceInfoBleak

from gateway.decoders.bthome import decode
from machimori.contract import bthome

MAC = "54:48:E6:8F:80:A5"


def payloads(n: int) -> list[bytes]:
    """Heat-node adverts as the sim and firmware send them (no packet id: no de-dup skips)."""
    rnd = random.Random(1)
    out = []
    for _ in range(n):
        objs = bthome.heat_node_objects(0, rnd.randrange(5, 100), rnd.uniform(15, 40),
                                        rnd.uniform(20, 95), rnd.uniform(0, 100000),
                                        rnd.uniform(15, 60), rnd.uniform(15, 50))[1:]
        out.append(bthome.encode_service_data(objs))
    return out


def info(data: bytes) -> BluetoothServiceInfoBleak:
    adv = AdvertisementData(local_name="node", manufacturer_data={},
                            service_data={bthome.SERVICE_UUID: data},
                            service_uuids=[bthome.SERVICE_UUID], tx_power=None, rssi=-60,
                            platform_data=())
    return BluetoothServiceInfoBleak("node", MAC, -60, {}, {bthome.SERVICE_UUID: data},
                                     [bthome.SERVICE_UUID], "local", BLEDevice(MAC, None, {}),
                                     adv, False, 0.0, None)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20000)
    n = ap.parse_args().n
    data = payloads(n)
    infos = [info(d) for d in data]  # building the reference's input is not timed
    ref = BTHomeBluetoothDeviceData()
    # Same values first.
    for d, i in zip(data, infos, strict=True):
        ours = decode(d)
        upd = ref.update(i)
        theirs = {k.key: v.native_value for k, v in upd.entity_values.items()
                  if k.key != "signal_strength"}
        temps = ours.all("temperature")
        mine = {"battery": ours.all("battery")[0], "temperature_1": temps[0],
                "temperature_2": temps[1], "temperature_3": temps[2],
                "humidity": ours.all("humidity")[0], "illuminance": ours.all("illuminance")[0]}
        assert mine == theirs, (d.hex(), mine, theirs)
    best_ours = best_ref = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        for d in data:
            decode(d)
        best_ours = min(best_ours, time.perf_counter() - t)
        t = time.perf_counter()
        for i in infos:
            ref.update(i)
        best_ref = min(best_ref, time.perf_counter() - t)
    print(f"{n} heat-node adverts (6 objects each), values identical on all of them")
    print(f"machimori decode : {n / best_ours:12,.0f} adverts/s")
    print(f"bthome-ble update: {n / best_ref:12,.0f} adverts/s")
    print(f"ratio            : {best_ref / best_ours:12.1f}x")


if __name__ == "__main__":
    main()
