"""One advert in, every reading it carries out: picks the decoder by UUID / company id.

This is the boundary the adapters call: it never raises. A rejection becomes a counter
(`rejected_<format>_<reason>`) and the advert is simply not turned into a reading.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from typing import Any

from machimori.contract import bthome as bthome_contract
from machimori.contract import tag as tag_contract

from ..frames import Advert
from . import bthome, eddystone, ibeacon, ruuvi
from .errors import DecodeError
from .tracker import BTHomeTracker

log = logging.getLogger("machimori.gateway.decoders")


@dataclass(frozen=True, slots=True)
class UnresolvedTag:
    """A machimori tag advert whose ephemeral id matches none of our keys (someone else's)."""

    k: int
    eid: str

    @property
    def values(self) -> tuple[tuple[str, Any], ...]:
        return (("eid", self.eid),)


@dataclass(frozen=True, slots=True)
class Decoded:
    address: str
    ts: float
    rssi: int
    kind: str  # bthome | ruuvi | ibeacon | eddystone_uid/url/tlm/eid | tag | tag_unknown
    reading: Any  # the decoder's frozen reading


_EDDY_KIND = {eddystone.EddystoneUID: "eddystone_uid", eddystone.EddystoneURL: "eddystone_url",
              eddystone.EddystoneTLM: "eddystone_tlm", eddystone.EddystoneEID: "eddystone_eid"}


_BY_COMPANY = {ruuvi.COMPANY_ID: "ruuvi", ibeacon.COMPANY_ID: "ibeacon",
               tag_contract.COMPANY_ID: "tag"}


class AdvertDecoder:
    """Stateful only where the formats need it: BTHome replay/de-dup, tag key lookup."""

    def __init__(self, bindkeys: dict[str, bytes] | None = None,
                 tag_keys: dict[str, bytes] | None = None, dedup: bool = True):
        self.bindkeys = {a.upper(): k for a, k in (bindkeys or {}).items()}
        self.resolver = tag_contract.TagResolver(tag_keys or {})
        self.tracker = BTHomeTracker() if dedup else None
        self.counters: Counter[str] = Counter()

    def decode(self, adv: Advert) -> list[Decoded]:
        out: list[Decoded] = []
        for uuid, data in adv.service_data.items():
            self._one(adv, "bthome" if uuid == bthome_contract.SERVICE_UUID else
                      "eddystone" if uuid == eddystone.SERVICE_UUID else "", data, out)
        for company, data in adv.manufacturer_data.items():
            fmt = _BY_COMPANY.get(company, "")
            self._one(adv, fmt, data, out)
        if not out:
            self.counters["no_reading"] += 1
        return out

    def _one(self, adv: Advert, fmt: str, data: bytes, out: list[Decoded]) -> None:
        if not fmt:
            self.counters["ignored_format"] += 1
            return
        try:
            decoded = self._decode(adv, fmt, data)
        except DecodeError as exc:
            self.counters[f"rejected_{fmt}_{exc.reason}"] += 1
            return
        except Exception:  # a decoder bug must cost one advert, never the scanner
            log.exception("decoder %s failed on %s", fmt, bytes(data).hex())
            self.counters[f"rejected_{fmt}_decoder_bug"] += 1
            return
        if decoded is not None:
            self.counters[f"decoded_{decoded.kind}"] += 1
            out.append(decoded)

    def _decode(self, adv: Advert, fmt: str, data: bytes) -> Decoded | None:
        if fmt == "bthome":
            # A device with a random address names itself by the MAC in its payload: that MAC
            # picks the bindkey and is the device's address from here on.
            address = bthome.payload_mac(data) or adv.address
            key = self.bindkeys.get(address.upper()) or self.bindkeys.get(adv.address.upper())
            r = bthome.decode(data, key, adv.address)
            if r.unknown_object is not None:
                self.counters["bthome_unknown_object"] += 1
            if r.dropped is not None:
                self.counters[f"bthome_partial_{r.dropped}"] += 1
            if self.tracker is not None:
                why = self.tracker.check(address, r, adv.ts)
                if why is not None:
                    raise DecodeError(why, f"packet {r.packet_id} counter {r.counter}")
            return Decoded(address, adv.ts, adv.rssi, "bthome", r)
        if fmt == "eddystone":
            e = eddystone.decode(data)
            return Decoded(adv.address, adv.ts, adv.rssi, _EDDY_KIND[type(e)], e)
        if fmt == "ruuvi":
            return Decoded(adv.address, adv.ts, adv.rssi, "ruuvi", ruuvi.decode(data))
        if fmt == "ibeacon":
            return Decoded(adv.address, adv.ts, adv.rssi, "ibeacon", ibeacon.decode(data))
        try:
            t = self.resolver.resolve(bytes(data), adv.ts)
        except tag_contract.TagFormatError as exc:
            raise DecodeError("format", str(exc)) from None
        if t is None:
            return Decoded(adv.address, adv.ts, adv.rssi, "tag_unknown",
                           UnresolvedTag(data[1], bytes(data[2:10]).hex()))
        return Decoded(adv.address, adv.ts, adv.rssi, "tag", t)


_TAG_UNITS = {"battery": "%"}


def reading_values(d: Decoded) -> list[tuple[str, Any, str]]:
    """(name, value, unit) triples of any reading, in a stable order (for tables and JSON)."""
    r = d.reading
    if d.kind == "bthome":
        return [(n, v, bthome.UNITS.get(n, "")) for n, v in r.values]
    if d.kind == "tag":
        return [("tag", r.tag, ""), ("battery", r.battery, "%"), ("sos", r.sos, ""),
                ("fall", r.fall, ""), ("events", r.events, "")]
    units = {"ruuvi": ruuvi.UNITS, "ibeacon": {"tx_power": "dBm"}}.get(d.kind, eddystone.UNITS)
    return [(n, v, units.get(n, "")) for n, v in r.values]


def to_json(d: Decoded) -> dict[str, Any]:
    doc: dict[str, Any] = {"address": d.address, "kind": d.kind, "rssi": d.rssi}
    r = d.reading
    if d.kind == "bthome":
        doc.update(encrypted=r.encrypted, trigger=r.trigger, packet_id=r.packet_id)
        if r.counter is not None:
            doc["counter"] = r.counter
        if r.unknown_object is not None:
            doc["unknown_object"] = f"0x{r.unknown_object:02x}"
        if r.mac is not None:
            doc["mac"] = r.mac
        if r.dropped is not None:
            doc["dropped"] = r.dropped
    if d.kind == "ruuvi":
        doc["mac"] = r.mac
    doc["values"] = [{"name": n, "value": v, "unit": u} for n, v, u in reading_values(d)]
    return doc
