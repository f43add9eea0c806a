/* replay_main.c: runs a fuzz target's LLVMFuzzerTestOneInput once on each
 * file named (a directory: each regular file in it, in name order), without
 * libFuzzer, so `make test` replays the seed corpus and the regression inputs
 * under ASan+UBSan with any C compiler.
 *   replay_fuzz_onnx tests/fuzz/corpus/fuzz_onnx tests/fuzz/regress/fuzz_onnx
 * Prints "NAME: N inputs" on stdout; before each input its path on stderr, so
 * a sanitizer report follows the name of the file that caused it. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tests/fuzz/fuzz.h"

__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv);

static int run_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "replay: cannot open %s\n", path);
    return -1;
  }
  size_t cap = 1 << 16, n = 0;
  uint8_t *buf = malloc(cap);
  for (size_t got; buf && (got = fread(buf + n, 1, cap - n, f)) > 0;) {
    n += got;
    if (n == cap) buf = realloc(buf, cap *= 2);
  }
  fclose(f);
  if (!buf) return -1;
  fprintf(stderr, "== %s\n", path);
  /* an exact-size copy, so ASan sees reads past the input's end */
  uint8_t *copy = malloc(n ? n : 1);
  memcpy(copy, buf, n);
  free(buf);
  LLVMFuzzerTestOneInput(copy, n);
  free(copy);
  return 0;
}

static int cmp(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv) {
  if (LLVMFuzzerInitialize) LLVMFuzzerInitialize(&argc, &argv);
  int count = 0, bad = 0;
  for (int i = 1; i < argc; i++) {
    struct stat st;
    if (stat(argv[i], &st) != 0) {
      fprintf(stderr, "replay: no such file or directory: %s\n", argv[i]);
      bad++;
      continue;
    }
    if (!S_ISDIR(st.st_mode)) {
      bad += run_file(argv[i]) != 0;
      count++;
      continue;
    }
    DIR *d = opendir(argv[i]);
    if (!d) { bad++; continue; }
    char **names = NULL;
    size_t n = 0;
    for (struct dirent *e; (e = readdir(d));) {
      if (e->d_name[0] == '.') continue;
      names = realloc(names, (n + 1) * sizeof *names);
      names[n] = malloc(strlen(argv[i]) + strlen(e->d_name) + 2);
      sprintf(names[n++], "%s/%s", argv[i], e->d_name);
    }
    closedir(d);
    if (n) qsort(names, n, sizeof *names, cmp);
    for (size_t k = 0; k < n; k++) {
      if (stat(names[k], &st) == 0 && S_ISREG(st.st_mode)) {
        bad += run_file(names[k]) != 0;
        count++;
      }
      free(names[k]);
    }
    free(names);
  }
  const char *self = strrchr(argv[0], '/');
  printf("%s: %d inputs\n", self ? self + 1 : argv[0], count);
  return bad ? 1 : 0;
}
