/* jittor_load.c: Jittor's jt.save format and the SHA-1 it needs.
 *
 * jt.save writes pickle.dumps(obj, protocol=4), then the 20-byte SHA-1 of
 * those pickle bytes, then the magic "HCAJSLHD". When the magic is there the
 * checksum is verified before the pickle is read; a file without it is read
 * as a plain pickle (numpy arrays, dicts, jittor.Var).
 */
#include "frontend/jtpy/jtpy_internal.h"

#include <string.h>

/* ---- SHA-1 (FIPS 180-4) ---- */
static uint32_t rol(uint32_t x, int n) {
  return x << n | x >> (32 - n);
}

static void sha1_block(uint32_t h[5], const uint8_t *p) {
  uint32_t w[80];
  for (int i = 0; i < 16; i++) w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
  for (int i = 16; i < 80; i++) w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
  uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
  for (int i = 0; i < 80; i++) {
    uint32_t f, k;
    if (i < 20) f = (b & c) | (~b & d), k = 0x5a827999;
    else if (i < 40) f = b ^ c ^ d, k = 0x6ed9eba1;
    else if (i < 60) f = (b & c) | (b & d) | (c & d), k = 0x8f1bbcdc;
    else f = b ^ c ^ d, k = 0xca62c1d6;
    uint32_t t = rol(a, 5) + f + e + k + w[i];
    e = d, d = c, c = rol(b, 30), b = a, a = t;
  }
  h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e;
}

void jt_sha1(const uint8_t *data, size_t len, uint8_t out[20]) {
  uint32_t h[5] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0};
  size_t full = len / 64 * 64;
  for (size_t k = 0; k < full; k += 64) sha1_block(h, data + k);
  uint8_t tail[128] = {0};
  size_t r = len - full;
  memcpy(tail, data + full, r);
  tail[r] = 0x80;
  size_t tl = r + 1 + 8 <= 64 ? 64 : 128;
  uint64_t bits = (uint64_t)len * 8;
  for (int k = 0; k < 8; k++) tail[tl - 1 - (size_t)k] = (uint8_t)(bits >> (8 * k));
  sha1_block(h, tail);
  if (tl == 128) sha1_block(h, tail + 64);
  for (int k = 0; k < 20; k++) out[k] = (uint8_t)(h[k / 4] >> (24 - 8 * (k % 4)));
}

/* ---- Jittor: pickle + SHA-1 + magic; or a plain pickle ---- */
PyVal *jt_load_jittor(JtCtx *c, const uint8_t *buf, size_t len) {
  size_t plen = len;
  if (len >= 28 && !memcmp(buf + len - 8, "HCAJSLHD", 8)) {
    plen = len - 28;
    uint8_t sum[20];
    jt_sha1(buf, plen, sum);
    if (memcmp(sum, buf + plen, 20))
      jt_fail(c, -1, "SHA-1 checksum of the pickle does not match the one stored after it (corrupted file?)");
  }
  c->part = "pickle";
  size_t used;
  PyVal *v = jt_unpickle(c, buf, plen, &used, NULL, NULL);
  if (used != plen) jt_fail(c, (int64_t)used, "%zu bytes follow the pickle's STOP", plen - used);
  c->part = NULL;
  return v;
}

