/* zip.c: the zip container of torch.save, read from its central directory.
 *
 * torch writes stored (uncompressed) entries whose local headers carry no
 * sizes (flag 0x0808), so sizes and offsets come from the central directory:
 * find the end-of-central-directory record (zip64 when its fields are
 * saturated), walk the directory, and for each entry check that its local
 * header is where the directory says, that it is stored, and that its data
 * lies inside the file. A directory that lies about any of it is an error.
 */
#include "frontend/jtpy/jtpy_internal.h"

#include <string.h>

static uint64_t rd(const uint8_t *p, int n) {
  uint64_t v = 0;
  for (int k = n - 1; k >= 0; k--) v = v << 8 | p[k];
  return v;
}

bool jt_is_zip(const uint8_t *buf, size_t len) {
  return len >= 4 && buf[0] == 'P' && buf[1] == 'K' &&
         ((buf[2] == 3 && buf[3] == 4) || (buf[2] == 5 && buf[3] == 6));
}

void jt_zip_open(JtCtx *c, const uint8_t *buf, size_t len, JtZip *z) {
  const char *part = c->part;
  c->part = "zip";
  if (len < 22) jt_fail(c, -1, "zip: %zu bytes is too short for a zip archive", len);
  /* end of central directory: 22 bytes + a comment of at most 65535 */
  size_t eocd = SIZE_MAX;
  size_t lo = len > 22 + 65535 ? len - 22 - 65535 : 0;
  for (size_t p = len - 22 + 1; p-- > lo;)
    if (rd(buf + p, 4) == 0x06054b50 && p + 22 + rd(buf + p + 20, 2) <= len) { eocd = p; break; }
  if (eocd == SIZE_MAX) jt_fail(c, -1, "no end-of-central-directory record (truncated zip?)");
  uint64_t count = rd(buf + eocd + 10, 2), cd_size = rd(buf + eocd + 12, 4), cd_off = rd(buf + eocd + 16, 4);
  if (count == 0xffff || cd_size == 0xffffffff || cd_off == 0xffffffff) { /* zip64 */
    if (eocd < 20 || rd(buf + eocd - 20, 4) != 0x07064b50)
      jt_fail(c, (int64_t)eocd, "zip64 fields without a zip64 locator");
    uint64_t z64 = rd(buf + eocd - 20 + 8, 8);
    if (len < 56 || z64 > len - 56 || rd(buf + z64, 4) != 0x06064b50)
      jt_fail(c, (int64_t)eocd, "zip64 end record offset %llu is not valid", (unsigned long long)z64);
    count = rd(buf + z64 + 32, 8);
    cd_size = rd(buf + z64 + 40, 8);
    cd_off = rd(buf + z64 + 48, 8);
  }
  if (cd_off > len || cd_size > len - cd_off)
    jt_fail(c, (int64_t)eocd, "central directory [%llu, +%llu) lies outside the %zu-byte file", (unsigned long long)cd_off,
            (unsigned long long)cd_size, len);
  if (count > cd_size / 46)
    jt_fail(c, (int64_t)eocd, "central directory claims %llu entries in %llu bytes", (unsigned long long)count,
            (unsigned long long)cd_size);
  z->n = (size_t)count;
  z->e = jt_alloc_array(c, z->n ? z->n : 1, sizeof *z->e);
  size_t p = (size_t)cd_off, end = (size_t)(cd_off + cd_size);
  for (size_t k = 0; k < z->n; k++) {
    if (end - p < 46 || rd(buf + p, 4) != 0x02014b50)
      jt_fail(c, (int64_t)p, "central directory entry %zu is not valid", k);
    uint64_t method = rd(buf + p + 10, 2), csize = rd(buf + p + 20, 4), usize = rd(buf + p + 24, 4);
    size_t nlen = rd(buf + p + 28, 2), xlen = rd(buf + p + 30, 2), clen = rd(buf + p + 32, 2);
    uint64_t loc = rd(buf + p + 42, 4);
    if (46 + nlen + xlen + clen > end - p) jt_fail(c, (int64_t)p, "central directory entry %zu runs past the directory", k);
    const char *name = jt_strndup(c, (const char *)buf + p + 46, nlen);
    /* zip64 extra field: the saturated values, in order */
    const uint8_t *x = buf + p + 46 + nlen, *xe = x + xlen;
    while (xe - x >= 4) {
      size_t id = rd(x, 2), sz = rd(x + 2, 2);
      if ((size_t)(xe - x - 4) < sz) break;
      if (id == 1) {
        const uint8_t *q = x + 4, *qe = q + sz;
        if (usize == 0xffffffff && qe - q >= 8) usize = rd(q, 8), q += 8;
        if (csize == 0xffffffff && qe - q >= 8) csize = rd(q, 8), q += 8;
        if (loc == 0xffffffff && qe - q >= 8) loc = rd(q, 8), q += 8;
      }
      x += 4 + sz;
    }
    if (method != 0)
      jt_fail(c, (int64_t)p, "entry '%s' is compressed (method %llu); torch.save writes stored entries", name,
              (unsigned long long)method);
    if (csize != usize) jt_fail(c, (int64_t)p, "entry '%s' is stored but its sizes differ", name);
    if (loc > len || len - loc < 30 || rd(buf + loc, 4) != 0x04034b50)
      jt_fail(c, (int64_t)p, "entry '%s': no local header at offset %llu", name, (unsigned long long)loc);
    size_t lnlen = rd(buf + loc + 26, 2), lxlen = rd(buf + loc + 28, 2);
    uint64_t data = loc + 30 + lnlen + lxlen;
    if (lnlen != nlen || memcmp(buf + loc + 30, name, nlen) != 0)
      jt_fail(c, (int64_t)loc, "entry '%s': the local header names another file", name);
    if (data > len || csize > len - data)
      jt_fail(c, (int64_t)loc, "entry '%s': %llu bytes at offset %llu run past the end of the %zu-byte file", name,
              (unsigned long long)csize, (unsigned long long)data, len);
    z->e[k].name = name;
    z->e[k].data = buf + data;
    z->e[k].size = (size_t)csize;
    p += 46 + nlen + xlen + clen;
  }
  c->part = part;
}

const JtZipEntry *jt_zip_find(const JtZip *z, const char *name) {
  for (size_t k = 0; k < z->n; k++)
    if (!strcmp(z->e[k].name, name)) return &z->e[k];
  return NULL;
}
