"""Sends one advert payload for a burst, then stops: the radio is the largest power draw."""


def start(ble, interval_ms, payload):
    # Non-connectable: nobody needs to connect to a sensor node or a tag.
    ble.gap_advertise(interval_ms * 1000, adv_data=payload, connectable=False)


def stop(ble):
    ble.gap_advertise(None)


def burst(ble, interval_ms, payload, burst_ms, sleep_ms):
    start(ble, interval_ms, payload)
    sleep_ms(burst_ms)
    stop(ble)
