"""Fake `esp32`: records which pins would wake the chip from deep sleep."""

WAKEUP_ALL_LOW = False
WAKEUP_ANY_HIGH = True
wake = {}


def wake_on_ext1(pins, level):
    wake["ext1"] = ([p.id for p in pins], level)


def wake_on_gpio(pins, level):
    wake["gpio"] = ([p.id for p in pins], level)
