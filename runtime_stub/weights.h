/* jtc weights loader: copied into generated files whose weights live in a
 * .weights file. Layout: 8-byte magic "JTCWGT01", then little-endian u64
 * payload size and u64 FNV-1a hash of the payload, then the payload
 * (each tensor at a 64-byte aligned offset). want_hash 0 (training builds, whose
 * weights change) checks the payload against its header's hash only. Returns 0,
 * or -1 with err set. */
static int jtc_load_weights(const char *path, uint64_t want_size, uint64_t want_hash, unsigned char **blob,
                            char *err, size_t errlen) {
  unsigned char head[24];
  uint64_t size = 0, hash = 0, h = 1469598103934665603ULL;
  FILE *f = fopen(path, "rb");
  if (!f) { snprintf(err, errlen, "%s: cannot open weights file", path); return -1; }
  if (fread(head, 1, 24, f) != 24 || memcmp(head, "JTCWGT01", 8) != 0) {
    snprintf(err, errlen, "%s: not a jtc weights file", path);
    fclose(f);
    return -1;
  }
  for (int k = 7; k >= 0; k--) { size = size << 8 | head[8 + k]; hash = hash << 8 | head[16 + k]; }
  if (size != want_size) {
    snprintf(err, errlen, "%s: holds %llu bytes of weights, this model needs %llu", path,
             (unsigned long long)size, (unsigned long long)want_size);
    fclose(f);
    return -1;
  }
  *blob = (unsigned char *)malloc(size ? (size_t)size : 1); /* the cast: the CUDA target is C++ */
  if (!*blob) { snprintf(err, errlen, "%s: out of memory", path); fclose(f); return -1; }
  if (fread(*blob, 1, (size_t)size, f) != size) {
    snprintf(err, errlen, "%s: truncated", path);
    free(*blob); *blob = NULL; fclose(f);
    return -1;
  }
  fclose(f);
  for (uint64_t i = 0; i < size; i++) h = (h ^ (*blob)[i]) * 1099511628211ULL;
  if (h != hash || (want_hash && h != want_hash)) {
    snprintf(err, errlen, "%s: checksum mismatch (corrupted, or written for another model)", path);
    free(*blob); *blob = NULL;
    return -1;
  }
  return 0;
}
