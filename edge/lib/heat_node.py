"""Heat node role: wake, sample, advertise BTHome v2 for a burst, deep-sleep until the next one."""

import advertiser
import battery
from bthome import Encoder, adv_payload


def encode(enc, packet_id, battery_pct, air, surface, globe, humidity, lux):
    """Objects in the documented order: packet id, battery, temperatures as a prefix of
    (air, surface, globe) — a receiver tells them apart by position, so a missing one ends the
    run rather than shifting the others — then humidity and illuminance. Values in 0.01 units."""
    enc.clear()
    if packet_id is not None:
        enc.add(0x00, packet_id & 0xFF)
    if battery_pct is not None:
        enc.add(0x01, battery_pct)
    for t in (air, surface, globe):
        if t is None:
            break
        enc.add(0x02, t, -2)
    if humidity is not None:
        enc.add(0x03, humidity, -2)
    if lux is not None:
        enc.add(0x05, lux, -2)


def advert(enc, sampler, cfg, counter, battery_pct, key=None, mac=None):
    """The advertising payload for this wake. Encrypted adverts drop the packet id (the
    encryption counter does its job) and the Flags AD, or they would not fit 31 bytes."""
    air = sampler.air_c()
    encode(enc, None if key else counter, battery_pct, air, sampler.surface_c(),
           sampler.globe_c(), sampler.humidity(), sampler.lux())
    if key:
        return adv_payload(enc.encrypted_service_data(key, mac, counter), flags=False)
    return adv_payload(enc.service_data(), flags=True)


def run(cfg, dev):
    """One wake. `dev` holds the board's objects (see heat_main) so tests can pass emulators."""
    dev.sampler.sample(cfg["samples"], cfg["sample_gap_ms"], dev.sleep_ms)
    pct = None
    if dev.adc is not None:
        pct = battery.percent(battery.read_mv(dev.adc, cfg["battery_divider"]))
    key = bytes.fromhex(cfg["bindkey"]) if cfg["bindkey"] else None
    payload = advert(Encoder(), dev.sampler, cfg, dev.counter.next(), pct, key, dev.mac)
    advertiser.burst(dev.ble, cfg["adv_interval_ms"], payload, cfg["burst_ms"], dev.sleep_ms)
    return payload
