/* fuzz_util.c: the fuzz targets' temp files and byte reader (fuzz.h). */
#include "tests/fuzz/fuzz.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_FILES 64

static char dir[256];
static char *files[MAX_FILES];
static int nfiles;

static void cleanup(void) {
  char path[512];
  for (int k = 0; k < nfiles; k++) {
    snprintf(path, sizeof path, "%s/%s", dir, files[k]);
    unlink(path);
    free(files[k]);
  }
  nfiles = 0;
  if (dir[0]) rmdir(dir);
}

const char *fuzz_dir(void) {
  if (!dir[0]) {
    const char *t = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/jtc-fuzz-XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(dir)) {
      perror("fuzz: mkdtemp");
      abort();
    }
    atexit(cleanup);
  }
  return dir;
}

void fuzz_track(const char *name) {
  for (int k = 0; k < nfiles; k++)
    if (!strcmp(files[k], name)) return;
  if (nfiles == MAX_FILES) abort();
  files[nfiles++] = strdup(name);
}

const char *fuzz_write(const char *name, const uint8_t *data, size_t n) {
  static char paths[8][512];
  static char names[8][64];
  int slot = 0;
  while (slot < 8 && names[slot][0] && strcmp(names[slot], name)) slot++;
  if (slot == 8 || strlen(name) >= sizeof names[0]) abort();
  snprintf(names[slot], sizeof names[slot], "%s", name);
  snprintf(paths[slot], sizeof paths[slot], "%s/%s", fuzz_dir(), name);
  fuzz_track(name);
  FILE *f = fopen(paths[slot], "wb");
  if (!f || (n && fwrite(data, 1, n, f) != n) || fclose(f)) {
    perror("fuzz: writing a temp file");
    abort();
  }
  return paths[slot];
}

uint8_t fz_u8(FuzzIn *in) {
  if (!in->n) return 0;
  in->n--;
  return *in->p++;
}

uint32_t fz_u32(FuzzIn *in) {
  uint32_t v = 0;
  for (int k = 0; k < 4; k++) v = v << 8 | fz_u8(in);
  return v;
}

int64_t fz_range(FuzzIn *in, int64_t lo, int64_t hi) {
  if (hi <= lo) return lo;
  uint64_t span = (uint64_t)hi - (uint64_t)lo;
  uint64_t v = span < 256 ? fz_u8(in) : fz_u32(in);
  return (int64_t)((uint64_t)lo + (span == UINT64_MAX ? v : v % (span + 1)));
}

bool fz_bool(FuzzIn *in) {
  return fz_u8(in) & 1;
}

/* On stdout too: `make fuzz` runs libFuzzer with -close_fd_mask=2 (jtc's error
 * messages go nowhere), which would swallow this. */
_Noreturn void fuzz_fail(const char *fmt, ...) {
  va_list ap;
  for (int k = 0; k < 2; k++) {
    FILE *f = k ? stderr : stdout;
    va_start(ap, fmt);
    fprintf(f, "fuzz: ");
    vfprintf(f, fmt, ap);
    fprintf(f, "\n");
    fflush(f);
    va_end(ap);
  }
  abort();
}
