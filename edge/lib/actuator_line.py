"""The actuator's UART lines (machimori/contract/actuator.py, docs/actuators.md):

    down: AC1,C,<id>,<on|off>,<hold_s>,<wind_dms>*<crc>
    up:   AC1,A,<id>,<done|refused>,<reason|->,<on>*<crc>
          AC1,S,<seq>,<on>,<rh_centi>,<override>,<on_s>*<crc>
"""

from pulse_line import crc16

MAX_LINE = 96


def _frame(body):
    return body + b"*%04X\r\n" % crc16(body)


def ack(cid, result, reason, on):
    return _frame(b"AC1,A,%s,%s,%s,%d" % (cid, result, reason or b"-", 1 if on else 0))


def state(seq, on, rh_centi, override, on_s):
    return _frame(b"AC1,S,%d,%d,%d,%d,%d" % (seq & 0xFFFFFFFF, 1 if on else 0, rh_centi,
                                             1 if override else 0, on_s))


def _id_ok(cid):
    if not 1 <= len(cid) <= 24:
        return False
    for c in cid:
        # A-Z a-z 0-9 _ -
        if not (48 <= c <= 57 or 65 <= c <= 90 or 97 <= c <= 122 or c == 95 or c == 45):
            return False
    return True


def parse_command(line):
    """(id, on, hold_s, wind_dms) from a command line, or None for anything else."""
    if len(line) > MAX_LINE:
        return None
    text = line.strip()
    star = text.rfind(b"*")
    if star < 0 or len(text) - star != 5:
        return None
    body = text[:star]
    try:
        if int(text[star + 1:], 16) != crc16(body):
            return None
    except ValueError:
        return None
    f = body.split(b",")
    if len(f) != 6 or f[0] != b"AC1" or f[1] != b"C" or not _id_ok(f[2]):
        return None
    if f[3] not in (b"on", b"off"):
        return None
    try:
        hold, wind = int(f[4]), int(f[5])
    except ValueError:
        return None
    if not (0 <= hold <= 86400 and 0 <= wind <= 10000):
        return None
    return f[2], f[3] == b"on", hold, wind
