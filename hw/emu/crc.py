"""The three CRC-8 variants the supported chips use, written from their datasheets."""


def crc8_sensirion(data, n=-1, start=0):
    """SHT4x: polynomial 0x31, init 0xFF, no reflection (datasheet 4.4); n bytes from start."""
    if n < 0:
        n = len(data) - start
    crc = 0xFF
    for i in range(start, start + n):
        crc ^= data[i]
        for _ in range(8):
            crc = ((crc << 1) ^ 0x31) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def crc8_smbus(data, n=-1, crc=0):
    """MLX90614 PEC: SMBus CRC-8, polynomial 0x07, init 0, over every byte on the wire."""
    if n < 0:
        n = len(data)
    for i in range(n):
        crc ^= data[i]
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def crc8_maxim(data, n=-1):
    """DS18B20 ROM and scratchpad: x^8+x^5+x^4+1, reflected (0x8C), init 0."""
    if n < 0:
        n = len(data)
    crc = 0
    for i in range(n):
        b = data[i]
        for _ in range(8):
            mix = (crc ^ b) & 1
            crc >>= 1
            if mix:
                crc ^= 0x8C
            b >>= 1
    return crc
