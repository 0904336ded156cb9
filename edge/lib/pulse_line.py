"""The meter bridge's UART line (machimori/contract/pulse.py, docs/meter-bridge.md):

    PB1,<seq>,<count>,<uptime_s>*<CRC-16/CCITT-FALSE of the text before '*', 4 hex>\\r\\n
"""


def crc16(data, crc=0xFFFF):
    for b in data:
        crc ^= b << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return crc


def encode(seq, count, uptime_s):
    body = b"PB1,%d,%d,%d" % (seq & 0xFFFFFFFF, count & 0xFFFFFFFF, uptime_s)
    return body + b"*%04X\r\n" % crc16(body)
