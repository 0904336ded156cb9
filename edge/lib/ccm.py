"""AES-CCM (RFC 3610) on top of cryptolib's AES-ECB, for BTHome encryption on the device.

Only what BTHome needs: 13-byte nonce (so L = 2), no associated data, short messages.
"""

import cryptolib


def _xor_into(dst, src, n):
    for i in range(n):
        dst[i] ^= src[i]


def encrypt(key, nonce, msg, mic_len=4):
    """(ciphertext, MIC) of msg under key with the 13-byte nonce."""
    if len(nonce) != 13:
        raise ValueError("CCM nonce must be 13 bytes")
    aes = cryptolib.aes(key, 1)  # ECB: CCM builds both CBC-MAC and CTR from single blocks
    n = len(msg)
    # CBC-MAC over B0 = flags | nonce | length, then the message zero-padded to blocks.
    block = bytearray(16)
    block[0] = ((mic_len - 2) // 2) << 3 | 1  # no Adata, M' and L' = L - 1 = 1
    block[1:14] = nonce
    block[14], block[15] = n >> 8, n & 0xFF
    x = bytearray(16)
    aes.encrypt(block, x)
    for off in range(0, n, 16):
        chunk = msg[off : off + 16]
        _xor_into(x, chunk, len(chunk))
        aes.encrypt(bytes(x), x)
    # CTR: A_i = flags(L') | nonce | i; S_0 masks the MIC, S_1.. the message.
    a = bytearray(16)
    a[0] = 1
    a[1:14] = nonce
    s = bytearray(16)
    out = bytearray(msg)
    for i in range(0, (n + 15) // 16):
        a[15] = i + 1
        aes.encrypt(a, s)
        for j in range(min(16, n - 16 * i)):
            out[16 * i + j] ^= s[j]
    a[15] = 0
    aes.encrypt(a, s)
    mic = bytes(x[k] ^ s[k] for k in range(mic_len))
    return bytes(out), mic
