"""Third-party people counters into the store: a count becomes a `people` summary of the site
`counter-<id>` (machimori/contract/counter.py), so pages and the impact estimate take counters
as sites beside the gateways. The summary's id is the counter and its period: a redelivered
count is a duplicate, a different count for the same period a conflict (a dead letter)."""

from __future__ import annotations

from typing import Any

from machimori.contract.counter import CounterCount


def as_summary(c: CounterCount) -> dict[str, Any]:
    """The summary row a count is stored as. `unique_devices` is people counted (in + out), so
    the queries over gateways' people summaries read counters unchanged."""
    total = float(c.count_in + c.count_out)
    values = {name: {"mean": v, "min": v, "max": v, "last": v}
              for name, v in (("unique_devices", total), ("count_in", float(c.count_in)),
                              ("count_out", float(c.count_out)))}
    p: dict[str, Any] = {"id": f"{c.site_id}:{c.start:.0f}:{c.end:.0f}", "gw": c.site_id,
                         "seq": int(c.end), "kind": "people", "device": c.site_id,
                         "start": c.start, "end": c.end, "n": max(int(total), 1),
                         "values": values}
    if c.lat is not None and c.lon is not None:
        p["place"] = {"lat": c.lat, "lon": c.lon}
    if c.site:
        p.setdefault("place", {})["name"] = c.site
    return p
