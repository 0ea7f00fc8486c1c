"""An independent reference of lambdas/core/row-hash.ts: the two-lane MurmurHash3 (x86_128's block step
on its first two lanes) over one 64-bit block per column — the value's IEEE 754 words (−0 as 0, every NaN
one NaN) or a text's hash, xored with the column name's — finalized to 53 bits. Prints the hashes
test/core/row-hash.test.ts pins:  python3 test/core/reference/row_hash.py
"""
import struct
M = 0xffffffff
C1, C2, C3 = 0x239b961b, 0xab0e9789, 0x38b34ae5
def rotl(x, r): return ((x << r) | (x >> (32 - r))) & M
def fmix(h):
    h = ((h ^ (h >> 16)) * 0x85ebca6b) & M
    h = ((h ^ (h >> 13)) * 0xc2b2ae35) & M
    return h ^ (h >> 16)
def step(h1, h2, k1, k2):
    h1 ^= (rotl((k1 * C1) & M, 15) * C2) & M
    h1 = ((((rotl(h1, 19) + h2) & M) * 5) + 0x561ccd1b) & M
    h2 ^= (rotl((k2 * C2) & M, 16) * C3) & M
    h2 = ((((rotl(h2, 17) + h1) & M) * 5) + 0x0bcaa747) & M
    return h1, h2
S1, S2 = 0x9e3779b9, 0x7f4a7c15
def text(s):
    raw = s.encode('utf-16-le')
    units = list(struct.unpack('<%dH' % (len(raw) // 2), raw))
    n = len(units)
    h1, h2 = S1, S2
    for i in range(0, n, 4):
        u = units[i:i+4] + [0] * (4 - len(units[i:i+4]))
        h1, h2 = step(h1, h2, u[0] | (u[1] << 16), u[2] | (u[3] << 16))
    h1 ^= n; h2 ^= n
    h1 = (h1 + h2) & M; h2 = (h2 + h1) & M
    h1 = fmix(h1); h2 = fmix(h2)
    h1 = (h1 + h2) & M; h2 = (h2 + h1) & M
    return h1, h2
def num(v):
    if v == 0: return 0, 0
    if v != v: return 0, 0x7ff80000
    lo, hi = struct.unpack('<II', struct.pack('<d', v))
    return lo, hi
def row(cols):
    h1, h2 = S1, S2
    for name, v in cols:
        n1, n2 = text(name)
        a, b = text(v) if isinstance(v, str) else num(v)
        h1, h2 = step(h1, h2, n1 ^ a, n2 ^ b)
    k = len(cols)
    h1 ^= k; h2 ^= k
    h1 = (h1 + h2) & M; h2 = (h2 + h1) & M
    h1 = fmix(h1); h2 = fmix(h2)
    h1 = (h1 + h2) & M; h2 = (h2 + h1) & M
    return h1 * 2**21 + (h2 >> 11)
nan = float('nan')
rows = [('red', 1.5, 10), ('', nan, 20), ('red', -0.0, 30), ('blue', 2, 40)]
print([row([('color', c), ('x', x), ('y', float(y))]) for c, x, y in rows])
