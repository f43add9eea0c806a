/* train_check.c: checks a `jtc --train` build against PyTorch.
 *
 *   cc -std=c11 -O2 -I$DIR $DIR/net.c tests/train/train_check.c -lm -o check
 *   ./check CASE_DIR
 *
 * CASE_DIR is one <model>/<optimizer> folder written by
 * tests/train/make_train_fixtures.py; every reference in it was computed by
 * PyTorch from the same initial weights that the model.onnx given to jtc holds.
 * Starting from the compiled-in weights (net_init(NULL)) the driver
 *   1. runs 3 net_train_step calls on input_<k>.bin / target_<k>.bin and
 *      compares each returned loss with line k of losses.txt;
 *   2. runs net_run on input_0.bin and compares with eval_output.bin (PyTorch's
 *      eval-mode output after the 3 steps);
 *   3. compares every tensor listed in state.txt (parameters and BatchNorm
 *      running statistics) with state/<name>.bin through net_state();
 *   4. saves the weights (CASE_DIR/saved.weights), reloads them with
 *      net_free + net_init(path) and requires a bit-identical net_run output.
 * Every mismatch prints a line (a few per tensor); the last line is
 * `train_check CASE: ok (...)` or `train_check CASE: FAILED (...)`.
 * Exit status 0 when everything matched, 1 otherwise.
 */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net.h"

_Static_assert(NET_NUM_INPUTS == 1, "train_check expects one input");
_Static_assert(NET_NUM_OUTPUTS == 1, "train_check expects one output");
_Static_assert(NET_NUM_TARGETS == 1, "train_check expects one target");

#define STEPS 3
#define MAX_REPORT 4 /* mismatch lines printed per tensor */

/* Tolerances: |got - want| <= ATOL + RTOL * |want|. */
#define LOSS_ATOL 1e-4
#define LOSS_RTOL 1e-3
#define OUT_ATOL 1e-4
#define OUT_RTOL 1e-3
#define STATE_ATOL 1e-5
#define STATE_RTOL 1e-3

static const char *case_dir;
static int failures;
static int initialised; /* net_init succeeded and net_free is due */

static void fail(const char *fmt, ...) {
  va_list ap;
  printf("%s: ", case_dir);
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  putchar('\n');
  failures++;
}

/* CASE_DIR/name, malloc'd (NULL, reported, when out of memory). */
static char *case_path(const char *name) {
  size_t a = strlen(case_dir), b = strlen(name);
  char *p = malloc(a + b + 2);
  if (!p) {
    fail("out of memory");
    return NULL;
  }
  memcpy(p, case_dir, a);
  p[a] = '/';
  memcpy(p + a + 1, name, b + 1);
  return p;
}

/* The whole of CASE_DIR/name, malloc'd with a NUL byte appended (so text can
 * be parsed in place); *size gets the byte count. NULL (reported) on error. */
static void *read_case_file(const char *name, size_t *size) {
  char *path = case_path(name);
  FILE *f;
  char *buf = NULL;
  size_t len = 0, cap = 0;
  int err = 0;

  if (!path) return NULL;
  f = fopen(path, "rb");
  if (!f) {
    fail("cannot open %s", path);
    free(path);
    return NULL;
  }
  for (;;) {
    size_t got;
    if (cap - len < 4096 + 1) {
      size_t ncap = cap ? 2 * cap : 65536;
      char *nbuf = realloc(buf, ncap);
      if (!nbuf) {
        err = 1;
        break;
      }
      buf = nbuf;
      cap = ncap;
    }
    got = fread(buf + len, 1, cap - len - 1, f);
    len += got;
    if (got == 0) {
      err = ferror(f) != 0;
      break;
    }
  }
  fclose(f);
  if (err) {
    fail("cannot read %s", path);
    free(path);
    free(buf);
    return NULL;
  }
  free(path);
  buf[len] = '\0';
  *size = len;
  return buf;
}

/* Reads CASE_DIR/name and checks that it holds exactly want bytes. */
static void *read_sized(const char *name, size_t want) {
  size_t size = 0;
  void *buf = read_case_file(name, &size);
  if (buf && size != want) {
    fail("%s has %zu bytes, the network wants %zu", name, size, want);
    free(buf);
    return NULL;
  }
  return buf;
}

static int close_enough(double got, double want, double atol, double rtol) {
  return fabs(got - want) <= atol + rtol * fabs(want); /* false for NaN */
}

/* Compares n floats; prints the first few mismatches. Returns 1 if all match. */
static int compare(const char *what, const float *got, const float *want, size_t n, double atol, double rtol) {
  size_t bad = 0, i;
  for (i = 0; i < n; i++) {
    if (close_enough(got[i], want[i], atol, rtol)) continue;
    if (bad < MAX_REPORT)
      fail("%s[%zu]: got %.9g, want %.9g", what, i, got[i], want[i]);
    else
      failures++;
    bad++;
  }
  if (bad > MAX_REPORT) printf("%s: %s: %zu of %zu elements differ\n", case_dir, what, bad, n);
  return bad == 0;
}

/* Checks the losses of the 3 training steps. Returns 0 if a step could not
 * run (the later checks would be meaningless). */
static int check_steps(void) {
  size_t size;
  char *text = read_case_file("losses.txt", &size), *p;
  double want[STEPS];
  int k, ran = 1;

  if (!text) return 0;
  p = text;
  for (k = 0; k < STEPS; k++) {
    char *end;
    want[k] = strtod(p, &end);
    if (end == p) {
      fail("losses.txt: line %d is not a number", k + 1);
      free(text);
      return 0;
    }
    p = end;
  }
  free(text);

  for (k = 0; k < STEPS && ran; k++) {
    char name[32];
    void *x, *t = NULL;
    float loss = NAN;

    snprintf(name, sizeof name, "input_%d.bin", k);
    x = read_sized(name, net_input_sizes[0]);
    snprintf(name, sizeof name, "target_%d.bin", k);
    if (x) t = read_sized(name, net_target_sizes[0]);
    if (x && t) {
      const void *ins[1], *tgs[1];
      ins[0] = x;
      tgs[0] = t;
      if (net_train_step(ins, tgs, &loss) != 0) {
        fail("net_train_step (step %d) failed: %s", k, net_last_error());
        ran = 0;
      } else if (!close_enough(loss, want[k], LOSS_ATOL, LOSS_RTOL)) {
        fail("loss[%d]: got %.9g, want %.9g", k, loss, want[k]);
      }
    } else {
      ran = 0;
    }
    free(x);
    free(t);
  }
  return ran;
}

/* net_run on input_0.bin into a new buffer (NULL, reported, on error). */
static float *run_input0(const char *when) {
  void *x = read_sized("input_0.bin", net_input_sizes[0]);
  float *y;
  const void *ins[1];
  void *outs[1];

  if (!x) return NULL;
  y = malloc(net_output_sizes[0] ? net_output_sizes[0] : 1);
  if (!y) {
    fail("out of memory");
    free(x);
    return NULL;
  }
  ins[0] = x;
  outs[0] = y;
  if (net_run(ins, outs) != 0) {
    fail("net_run (%s) failed: %s", when, net_last_error());
    free(y);
    y = NULL;
  }
  free(x);
  return y;
}

/* Compares the state tensors listed in state.txt; returns how many there were. */
static int check_state(void) {
  size_t size;
  char *text = read_case_file("state.txt", &size), *line, *next;
  int count = 0, k;
  char *listed = calloc(NET_NUM_STATE ? NET_NUM_STATE : 1, 1);

  if (!text || !listed) {
    if (text && !listed) fail("out of memory");
    free(text);
    free(listed);
    return 0;
  }
  for (line = text; *line; line = next) {
    size_t len = strcspn(line, "\n");
    char *file;
    void *want;

    next = line + len + (line[len] == '\n');
    while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' '))
      len--;
    line[len] = '\0';
    if (len == 0) continue;
    count++;
    for (k = 0; k < NET_NUM_STATE; k++)
      if (strcmp(net_state_names[k], line) == 0) break;
    if (k == NET_NUM_STATE) {
      fail("state tensor %s is not in net_state_names", line);
      continue;
    }
    listed[k] = 1;
    file = malloc(len + sizeof "state/" + sizeof ".bin");
    if (!file) {
      fail("out of memory");
      break;
    }
    sprintf(file, "state/%s.bin", line);
    want = read_case_file(file, &size);
    free(file);
    if (!want) continue;
    if (size != net_state_sizes[k] || size % sizeof(float) != 0)
      fail("state %s: net_state_sizes says %zu bytes, PyTorch's tensor has %zu", line, net_state_sizes[k], size);
    else if (!net_state(k))
      fail("state %s: net_state(%d) is NULL", line, k);
    else
      compare(line, net_state(k), want, size / sizeof(float), STATE_ATOL, STATE_RTOL);
    free(want);
  }
  for (k = 0; k < NET_NUM_STATE; k++)
    if (!listed[k]) fail("net_state_names has %s, which is not a PyTorch state tensor", net_state_names[k]);
  free(listed);
  free(text);
  return count;
}

/* Saves the weights, reloads them and requires net_run to reproduce y
 * bit for bit. */
static void check_roundtrip(const float *y) {
  char *path = case_path("saved.weights");
  float *y2;
  size_t n = net_output_sizes[0] / sizeof(float), i, bad = 0;

  if (!path) return;
  if (net_save_weights(path) != 0) {
    fail("net_save_weights(%s) failed: %s", path, net_last_error());
    free(path);
    return;
  }
  net_free();
  initialised = 0;
  if (net_init(path) != 0) {
    fail("net_init(%s) failed: %s", path, net_last_error());
    free(path);
    return;
  }
  initialised = 1;
  free(path);
  y2 = run_input0("after reloading the saved weights");
  if (!y2) return;
  if (memcmp(y, y2, net_output_sizes[0]) != 0) {
    for (i = 0; i < n; i++) {
      if (memcmp(&y[i], &y2[i], sizeof(float)) == 0) continue;
      if (bad < MAX_REPORT)
        fail("reloaded output[%zu]: got %.9g, want %.9g (bit-identical)", i, y2[i], y[i]);
      else
        failures++;
      bad++;
    }
    if (bad == 0)
      fail("reloaded output differs from the trained one");
    else if (bad > MAX_REPORT)
      printf("%s: reloaded output: %zu of %zu elements differ\n", case_dir, bad, n);
  }
  free(y2);
}

int main(int argc, char **argv) {
  int nstate = 0;

  if (argc != 2) {
    fprintf(stderr, "usage: %s CASE_DIR\n", argv[0]);
    return 1;
  }
  case_dir = argv[1];

  if (net_init(NULL) != 0) {
    fail("net_init(NULL) failed: %s", net_last_error());
  } else {
    initialised = 1;
    if (check_steps()) {
      float *y = run_input0("eval after training");
      if (y) {
        size_t size;
        float *want = read_case_file("eval_output.bin", &size);
        if (want && size != net_output_sizes[0])
          fail("eval_output.bin has %zu bytes, net_output_sizes[0] is %zu", size, net_output_sizes[0]);
        else if (want)
          compare("eval_output", y, want, size / sizeof(float), OUT_ATOL, OUT_RTOL);
        free(want);
      }
      nstate = check_state();
      if (y) check_roundtrip(y);
      free(y);
    }
    if (initialised) net_free();
  }

  if (failures) {
    printf("train_check %s: FAILED (%d failed checks)\n", case_dir, failures);
    return 1;
  }
  printf("train_check %s: ok (%d steps, %d state tensors)\n", case_dir, STEPS, nstate);
  return 0;
}
