"""Fake `onewire`: OneWire(pin) hands out the emulated bus the test put on that pin."""

buses = {}


class OneWireError(Exception):
    pass


def OneWire(pin):
    return buses[pin.id]
