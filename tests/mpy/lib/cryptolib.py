"""Test-side stand-in for the ESP32 port's `cryptolib` (the WebAssembly build has none).

AES-128 encryption, ECB mode only — what the firmware uses. Written from FIPS-197; the tests
check what it produces with independent decryptors (bthome-ble, the `cryptography` package),
so a mistake here fails them rather than hiding in both sides.
"""


def _xtime(a):
    return ((a << 1) ^ 0x1B) & 0xFF if a & 0x80 else a << 1


def _mul(a, b):
    r = 0
    while b:
        if b & 1:
            r ^= a
        a = _xtime(a)
        b >>= 1
    return r


def _sbox():
    box = bytearray(256)
    for x in range(256):
        inv = 0
        if x:
            for y in range(1, 256):  # multiplicative inverse in GF(2^8)
                if _mul(x, y) == 1:
                    inv = y
                    break
        s = inv
        for k in range(1, 5):
            s ^= ((inv << k) | (inv >> (8 - k))) & 0xFF
        box[x] = s ^ 0x63
    return box


_SBOX = _sbox()
MODE_ECB = 1


class aes:
    def __init__(self, key, mode, iv=None):
        if mode != MODE_ECB or len(key) != 16:
            raise ValueError("stand-in supports AES-128 ECB only")
        w = bytearray(key)
        rcon = 1
        while len(w) < 176:
            t = bytearray(w[-4:])
            if len(w) % 16 == 0:
                t = bytearray((_SBOX[t[1]] ^ rcon, _SBOX[t[2]], _SBOX[t[3]], _SBOX[t[0]]))
                rcon = _xtime(rcon)
            for i in range(4):
                w.append(w[-16] ^ t[i])
        self._w = w

    def encrypt(self, data, out=None):
        if len(data) % 16:
            raise ValueError("ECB data must be a multiple of 16 bytes")
        res = bytearray(len(data))
        for off in range(0, len(data), 16):
            res[off : off + 16] = self._block(data[off : off + 16])
        if out is None:
            return bytes(res)
        out[:] = res
        return out

    def _block(self, blk):
        w = self._w
        s = bytearray(16)
        for i in range(16):
            s[i] = blk[i] ^ w[i]
        for rnd in range(1, 11):
            t = bytearray(16)
            for c in range(4):  # SubBytes + ShiftRows (state is column-major)
                for r in range(4):
                    t[4 * c + r] = _SBOX[s[4 * ((c + r) % 4) + r]]
            if rnd < 10:  # MixColumns
                for c in range(4):
                    a0, a1, a2, a3 = t[4 * c], t[4 * c + 1], t[4 * c + 2], t[4 * c + 3]
                    t[4 * c] = _xtime(a0) ^ _xtime(a1) ^ a1 ^ a2 ^ a3
                    t[4 * c + 1] = a0 ^ _xtime(a1) ^ _xtime(a2) ^ a2 ^ a3
                    t[4 * c + 2] = a0 ^ a1 ^ _xtime(a2) ^ _xtime(a3) ^ a3
                    t[4 * c + 3] = _xtime(a0) ^ a0 ^ a1 ^ a2 ^ _xtime(a3)
            k = 16 * rnd
            for i in range(16):
                s[i] = t[i] ^ w[k + i]
        return s
