"""Fake `bluetooth`: records adverts and address-mode changes instead of using a radio."""

MAC = bytes((0xA4, 0xC1, 0x38, 0x12, 0x34, 0x56))
adverts = []  # (interval_us, payload, connectable)
addr_modes = []
_active = [False]


class BLE:
    def active(self, on=None):
        if on is not None:
            _active[0] = bool(on)
        return _active[0]

    def config(self, *args, **kwargs):
        if args == ("mac",):
            return (0, MAC)
        if "addr_mode" in kwargs:
            addr_modes.append(kwargs["addr_mode"])

    def gap_advertise(self, interval_us, adv_data=None, connectable=True):
        if not _active[0]:
            raise OSError(5)  # the real stack refuses while inactive
        if interval_us is not None:
            adverts.append((interval_us, bytes(adv_data), connectable))
