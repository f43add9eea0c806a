/* fuzz_pickle.c: bytes -> the pickle reader and its containers (frontend/jtpy):
 * jtpy_is_pickle_file, jtpy_inspect, jtpy_load_weights and jtpy_load (the
 * whole-module graph builder), then the pass pipeline on a built graph.
 *
 * The first byte chooses how the rest becomes the file:
 *   bits 0-1  0, 3: as is (torch zip, legacy torch, Jittor, plain pickle:
 *                  detected from the bytes, as jtc does)
 *             1: a pickle, wrapped as Jittor's jt.save (SHA-1 and magic
 *                  appended here, so mutations reach the pickle machine)
 *             2: a pickle, wrapped as a torch.save zip: archive/data.pkl plus
 *                  storages archive/data/0 .. archive/data/3 of 256 bytes each
 *   bits 2-4  the --shape given for the module's input (a table below)
 * jtpy_load runs with --max-bytes=64M --max-nodes=16384, so that no input can
 * take seconds or gigabytes within the limits.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/jtpy/jtpy_internal.h"
#include "passes/passes.h"
#include "tests/fuzz/fuzz.h"

static void put16(uint8_t *p, unsigned v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { put16(p, v & 0xffff); put16(p + 2, v >> 16); }

/* A stored zip of the given entries (what torch.save writes, without CRCs: jtc does not check them). */
static uint8_t *make_zip(int n, const char *const *names, const uint8_t *const *data, const size_t *sizes, size_t *len) {
  size_t cap = 22;
  for (int k = 0; k < n; k++) cap += 30 + 46 + 2 * strlen(names[k]) + sizes[k];
  uint8_t *z = calloc(1, cap), *p = z;
  uint32_t offs[8];
  for (int k = 0; k < n; k++) {
    size_t nl = strlen(names[k]);
    offs[k] = (uint32_t)(p - z);
    put32(p, 0x04034b50);
    put32(p + 18, (uint32_t)sizes[k]);
    put32(p + 22, (uint32_t)sizes[k]);
    put16(p + 26, (unsigned)nl);
    memcpy(p + 30, names[k], nl);
    if (sizes[k]) memcpy(p + 30 + nl, data[k], sizes[k]);
    p += 30 + nl + sizes[k];
  }
  uint8_t *cd = p;
  for (int k = 0; k < n; k++) {
    size_t nl = strlen(names[k]);
    put32(p, 0x02014b50);
    put32(p + 20, (uint32_t)sizes[k]);
    put32(p + 24, (uint32_t)sizes[k]);
    put16(p + 28, (unsigned)nl);
    put32(p + 42, offs[k]);
    memcpy(p + 46, names[k], nl);
    p += 46 + nl;
  }
  put32(p, 0x06054b50);
  put16(p + 8, (unsigned)n);
  put16(p + 10, (unsigned)n);
  put32(p + 12, (uint32_t)(p - cd));
  put32(p + 16, (uint32_t)(cd - z));
  p += 22;
  *len = (size_t)(p - z);
  return z;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static FILE *devnull;
  if (!devnull) devnull = fopen("/dev/null", "w");
  if (size < 1) return 0;
  uint8_t mode = data[0];
  data++, size--;

  uint8_t *file = NULL;
  size_t flen = size;
  switch (mode & 3) {
  case 1: /* Jittor: pickle + SHA-1 + magic */
    file = malloc(size + 28);
    if (size) memcpy(file, data, size);
    jt_sha1(data, size, file + size);
    memcpy(file + size + 20, "HCAJSLHD", 8);
    flen = size + 28;
    break;
  case 2: { /* torch zip */
    static uint8_t st[256];
    for (int k = 0; k < 256; k++) st[k] = (uint8_t)(k * 37 + 11);
    const char *names[5] = {"archive/data.pkl", "archive/data/0", "archive/data/1", "archive/data/2", "archive/data/3"};
    const uint8_t *parts[5] = {data, st, st, st, st};
    size_t sizes[5] = {size, 256, 256, 256, 256};
    file = make_zip(5, names, parts, sizes, &flen);
    break;
  }
  default: break;
  }
  const char *path = fuzz_write("model.pt", file ? file : data, flen);
  free(file);

  (void)jtpy_is_pickle_file(path);
  jtpy_inspect(path, devnull);
  JtpyWeights *w = jtpy_load_weights_max(path, 64 << 20);
  jtpy_weights_free(w);

  static const int64_t shapes[8][5] = {
    {0}, {4, 1, 3, 32, 32}, {2, 3, 5}, {2, 16, 1}, {4, 2, 3, 16, 16}, {3, 4, 3, 20}, {4, 2, 4, 10, 12}, {4, 1, 1, 28, 28},
  };
  const int64_t *sh = shapes[(mode >> 2) & 7];
  OnnxShapeOverride ov = {.name = "input", .rank = (int)sh[0]};
  for (int k = 0; k < ov.rank; k++) ov.dims[k] = sh[k + 1];
  OnnxOptions opt = {.shapes = &ov, .nshapes = ov.rank ? 1 : 0, .max_bytes = 64 << 20, .max_nodes = 1 << 14};
  Graph *g = jtpy_load(path, &opt);
  if (g) {
    (void)pass_run_all(g, NULL, NULL);
    ir_graph_free(g);
  }
  return 0;
}
