/* conform.c: the ONNX backend-test conformance runner.
 *
 *   conform [options] TESTDIR...       conform [options] --root DIR...
 *
 * A test folder holds model.onnx and test_data_set_N/{input,output}_K.pb (ONNX's
 * backend-test layout); instead of model.onnx it may hold a pickled model.pt or
 * model.pkl, and a file jtc_flags whose words are added to jtc's arguments ($DIR
 * in a word becomes the folder). For each folder, in a forked child:
 *   1. decode every input_K.pb (onnx_read_tensor_file) into a raw file;
 *   2. run `jtc model.onnx --target=c --name net -o WORK/net.c` under a timeout;
 *      when jtc answers that a shape-like operand is a graph input ("--bind
 *      NAME=FILE.pb"), retry with that input pinned to data set 0's value: the
 *      test then checks the compiled specialization (PASS name (bound: NAME)),
 *      and every data set must hold that same value;
 *   3. compile WORK/net.c with tests/conformance/harness.c:
 *        $CC $JTC_CFLAGS [-fopenmp] -I WORK -o WORK/t WORK/net.c harness.c -lm
 *      (CC defaults to cc, JTC_CFLAGS to -std=c11 -O1 -Wall -Wextra -Werror; both
 *      split on blanks; -fopenmp is added when JTC_OPENMP is set and not 0);
 *      With --target cuda, jtc writes WORK/net.cu instead, built by the host C++
 *      compiler against the CUDA emulator so its kernels run on the CPU:
 *        $CXX -std=c++17 -O1 -Wall -Wextra -Werror -x c++ -include EMU -I EMU_DIR -c net.cu
 *        $CC -std=c11 -O1 harness.c net.o -lstdc++ -lm
 *      (CXX defaults to g++, EMU to tests/cuda/cuda_emu.h); --cu-dir DIR also
 *      writes each passing test's CUDA source to DIR/<prefix>.cu with a prefix
 *      unique to the test, so tests/cuda/nvcc_batch.sh can build many in one
 *      nvcc translation unit; a model jtc refuses for CUDA because it has string
 *      tensors (C target only) is a SKIP there;
 *   4. run WORK/t on each data set (through $JTC_RUNNER's words when set, e.g.
 *      `qemu-aarch64` for a cross-compiled CC) and compare each output with ONNX's rule
 *      |got - want| <= atol + rtol*|want| (NaN matches NaN), integers and bool exactly.
 * One line per test (PASS name / FAIL name: why / SKIP name: why) in the order the
 * tests were given, whatever -j is, then `N passed, N failed, N skipped`.
 *
 * The skip file (default tests/conformance/skip.txt) has lines `PATTERN  REASON`;
 * PATTERN is an fnmatch(3) pattern matched against the test's name and against
 * `suite/name` (suite = the parent folder's name). A REASON that starts with
 * `rtol=` or `atol=` sets tolerances for the test instead of skipping it, e.g.
 * `mobilenet_v2  rtol=1e-3 atol=1e-5  note`. The first matching line wins.
 *
 * Work folders live under a fresh temp folder (in --tmp DIR, else $TMPDIR or
 * /tmp); a passing test's folder is removed, a failing one's kept for
 * inspection, and --keep keeps all.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <ftw.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "frontend/onnx/onnx.h"
#include "ir/ir.h"

#define MSG_MAX 1024 /* bytes of a result line sent from a test's child */
#define MAX_ARGS 256 /* argv entries of one command we run */

typedef struct {
  char *pat, *reason; /* reason NULL: a tolerance rule */
  double rtol, atol;
} Rule;

static struct {
  const char *jtc, *harness, *skips, *tmp;
  const char *emu, *cu_dir; /* --target cuda: the emulator header; where sources are collected */
  int jobs, keep, allow_fail, timeout, cuda;
  Rule *rules;
  int nrules;
  char root[PATH_MAX]; /* this run's temp folder */
} opt = {"build/jtc", "tests/conformance/harness.c", "tests/conformance/skip.txt", NULL,
         "tests/cuda/cuda_emu.h", NULL, 2, 0, 0, 300, 0, NULL, 0, ""};

typedef struct {
  char *dir, *name, *suite; /* suite: parent folder's name, may be "" */
} Test;

static _Noreturn void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("conform: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(2);
}

static void *xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) die("out of memory");
  return p;
}

static char *xstrdup(const char *s) {
  return strcpy(xmalloc(strlen(s) + 1), s);
}

static char *fmt(const char *f, ...) {
  va_list ap;
  va_start(ap, f);
  char *s = NULL;
  if (vasprintf(&s, f, ap) < 0) die("out of memory");
  va_end(ap);
  return s;
}

/* ---- skip file ---- */

static void load_rules(const char *path, int must_exist) {
  FILE *f = fopen(path, "r");
  if (!f && !must_exist) return;
  if (!f) die("cannot open skip file %s: %s", path, strerror(errno));
  char line[4096];
  int cap = 0, lineno = 0;
  while (fgets(line, sizeof line, f)) {
    lineno++;
    line[strcspn(line, "\r\n")] = 0;
    char *p = line + strspn(line, " \t");
    if (!*p || *p == '#') continue;
    char *end = p + strcspn(p, " \t");
    char *rest = *end ? end + 1 : end;
    *end = 0;
    rest += strspn(rest, " \t");
    if (!*rest) die("%s:%d: '%s' has no reason", path, lineno, p);
    if (opt.nrules == cap) {
      cap = cap ? 2 * cap : 64;
      Rule *r = realloc(opt.rules, cap * sizeof *r);
      if (!r) die("out of memory");
      opt.rules = r;
    }
    Rule *r = &opt.rules[opt.nrules++];
    r->pat = xstrdup(p);
    r->reason = NULL;
    r->rtol = 1e-3;
    r->atol = 1e-7;
    if (strncmp(rest, "rtol=", 5) && strncmp(rest, "atol=", 5)) {
      r->reason = xstrdup(rest);
      continue;
    }
    for (char *tok = strtok(rest, " \t"); tok; tok = strtok(NULL, " \t")) {
      char *e;
      double v = strtod(tok + 5, &e);
      if (!strncmp(tok, "rtol=", 5) && !*e) r->rtol = v;
      else if (!strncmp(tok, "atol=", 5) && !*e) r->atol = v;
      else if (!strncmp(tok, "rtol=", 5) || !strncmp(tok, "atol=", 5)) die("%s:%d: bad tolerance '%s'", path, lineno, tok);
      else break; /* the rest is a note */
    }
  }
  fclose(f);
}

static const Rule *find_rule(const Test *t) {
  char *full = fmt("%s/%s", t->suite, t->name);
  const Rule *found = NULL;
  for (int i = 0; i < opt.nrules && !found; i++)
    if (!fnmatch(opt.rules[i].pat, t->name, 0) || !fnmatch(opt.rules[i].pat, full, 0)) found = &opt.rules[i];
  free(full);
  return found;
}

/* ---- files and commands ---- */

static int is_file(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st, (void)flag, (void)ftw;
  return remove(path);
}

static void rm_tree(const char *path) {
  nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Reads a whole file; *len gets its size. NULL if unreadable. */
static char *read_all(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  size_t cap = 4096, n = 0, r;
  char *buf = xmalloc(cap + 1);
  while ((r = fread(buf + n, 1, cap - n, f)) > 0) {
    n += r;
    if (n == cap) {
      char *b = realloc(buf, (cap *= 2) + 1);
      if (!b) die("out of memory");
      buf = b;
    }
  }
  fclose(f);
  buf[n] = 0;
  *len = n;
  return buf;
}

/* The first line of a log worth showing, after ": ": the first containing
 * `prefer` (if given and present), else the first non-blank one; "" if none. */
static char *log_line(const char *path, const char *prefer) {
  size_t n;
  char *s = read_all(path, &n), *pick = NULL;
  if (!s) return xstrdup("");
  for (int pass = prefer ? 0 : 1; pass < 2 && !pick; pass++)
    for (char *l = s; *l && !pick; l += strcspn(l, "\n"), l += *l == '\n') {
      size_t len = strcspn(l, "\n");
      char save = l[len];
      l[len] = 0;
      if (l[strspn(l, " \t")] && (pass == 1 || strstr(l, prefer))) pick = fmt(": %s", l);
      l[len] = save;
    }
  free(s);
  if (!pick) return xstrdup("");
  if (strlen(pick) > 302) strcpy(pick + 299, "...");
  return pick;
}

static volatile sig_atomic_t alarmed;
static volatile pid_t running_pid;

static void on_alarm(int sig) {
  (void)sig;
  alarmed = 1;
}

static void on_term(int sig) {
  if (running_pid > 0) kill(-running_pid, SIGKILL);
  signal(sig, SIG_DFL);
  raise(sig);
}

/* Runs argv with stdout and stderr to `log`, killing its process group after
 * opt.timeout seconds. Returns a description of the failure, or NULL if it
 * exited 0. */
static char *run(char *const argv[], const char *log) {
  pid_t pid = fork();
  if (pid < 0) return fmt("fork: %s", strerror(errno));
  if (pid == 0) {
    setpgid(0, 0);
    FILE *f = freopen(log, "w", stdout);
    if (!f || dup2(fileno(stdout), 2) < 0) _exit(126);
    execvp(argv[0], argv);
    fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
    _exit(127);
  }
  setpgid(pid, pid);
  running_pid = pid;
  alarmed = 0;
  alarm((unsigned)opt.timeout);
  int st = 0;
  while (waitpid(pid, &st, 0) < 0) {
    if (errno != EINTR) return fmt("waitpid: %s", strerror(errno));
    if (alarmed) kill(-pid, SIGKILL);
  }
  alarm(0);
  kill(-pid, SIGKILL); /* whatever it left behind */
  running_pid = 0;
  if (alarmed) return fmt("timed out after %ds", opt.timeout);
  if (WIFSIGNALED(st)) return fmt("killed by signal %d (%s)", WTERMSIG(st), strsignal(WTERMSIG(st)));
  if (WEXITSTATUS(st)) return fmt("exited %d", WEXITSTATUS(st));
  return NULL;
}

/* Appends the blank-separated words of `s` to argv. */
static void add_words(char **argv, int *n, const char *s) {
  char *copy = xstrdup(s);
  for (char *w = strtok(copy, " \t\n"); w; w = strtok(NULL, " \t\n"))
    if (*n < MAX_ARGS - 8) argv[(*n)++] = xstrdup(w);
  free(copy);
}

/* ---- comparison ---- */

static void shape_str(char *buf, size_t cap, Dtype dt, int rank, const int64_t *dims) {
  size_t n = (size_t)snprintf(buf, cap, "%s[", dt_name(dt));
  for (int i = 0; i < rank && n < cap; i++)
    n += (size_t)snprintf(buf + n, cap - n, "%s%lld", i ? "," : "", (long long)dims[i]);
  if (n < cap) snprintf(buf + n, cap - n, "]");
}

static void index_str(char *buf, size_t cap, int64_t k, int rank, const int64_t *dims) {
  int64_t idx[IR_MAX_RANK];
  for (int i = rank - 1; i >= 0; i--) {
    idx[i] = dims[i] ? k % dims[i] : 0;
    k = dims[i] ? k / dims[i] : 0;
  }
  size_t n = (size_t)snprintf(buf, cap, "[");
  for (int i = 0; i < rank && n < cap; i++)
    n += (size_t)snprintf(buf + n, cap - n, "%s%lld", i ? "," : "", (long long)idx[i]);
  if (n < cap) snprintf(buf + n, cap - n, "]");
}

/* Compares output `k` (got, glen bytes) with the expected tensor. Returns NULL
 * if it matches, else why not. */
static char *compare(int k, const void *got, size_t glen, Dtype dt, int rank, const int64_t *dims,
                     const void *want, double rtol, double atol) {
  char shape[256], at[256];
  shape_str(shape, sizeof shape, dt, rank, dims);
  int64_t count = 1;
  for (int i = 0; i < rank; i++) count *= dims[i];
  if (dt == DT_STRING) { /* the harness wrote each string and a NUL */
    const char *g = got, *end = g + glen;
    for (int64_t i = 0; i < count; i++) {
      const char *w = (const char *)(intptr_t)dt_load(want, dt, i).i, *nul = g < end ? memchr(g, 0, (size_t)(end - g)) : NULL;
      index_str(at, sizeof at, i, rank, dims);
      if (!nul) return fmt("output %d %s: got %lld strings, expected %lld", k, shape, (long long)i, (long long)count);
      if (strcmp(g, w)) return fmt("output %d %s: at %s got \"%.60s\", expected \"%.60s\"", k, shape, at, g, w);
      g = nul + 1;
    }
    return g == end ? NULL : fmt("output %d %s: got more than %lld strings", k, shape, (long long)count);
  }
  if (glen != (size_t)count * dt_size(dt))
    return fmt("output %d: got %zu bytes, expected %s = %zu bytes", k, glen, shape, (size_t)count * dt_size(dt));
  int64_t bad = 0, first = -1;
  double maxerr = 0;
  for (int64_t i = 0; i < count; i++) {
    int ok;
    if (dt_is_float(dt)) {
      double g = sc_as_f(dt_load(got, dt, i), dt), w = sc_as_f(dt_load(want, dt, i), dt);
      double err = fabs(g - w);
      ok = g == w || (isnan(g) && isnan(w)) || err <= atol + rtol * fabs(w);
      if (!ok && (err > maxerr || isnan(err))) maxerr = err;
    } else {
      size_t es = dt_size(dt);
      ok = !memcmp((const char *)got + i * es, (const char *)want + i * es, es);
    }
    if (!ok && bad++ == 0) first = i;
  }
  if (!bad) return NULL;
  index_str(at, sizeof at, first, rank, dims);
  Scalar g = dt_load(got, dt, first), w = dt_load(want, dt, first);
  if (dt_is_float(dt))
    return fmt("output %d %s: %lld of %lld values differ (max abs err %.3g, rtol %g, atol %g); at %s got %.9g, expected %.9g",
               k, shape, (long long)bad, (long long)count, maxerr, rtol, atol, at, sc_as_f(g, dt), sc_as_f(w, dt));
  return fmt("output %d %s: %lld of %lld values differ; at %s got %lld, expected %lld", k, shape, (long long)bad,
             (long long)count, at, (long long)sc_as_i(g, dt), (long long)sc_as_i(w, dt));
}

/* ---- one test ---- */

static int is_dataset(const struct dirent *d) {
  return !strncmp(d->d_name, "test_data_set_", 14);
}

/* The model's graph inputs and outputs (names, kinds); all tensors for a pickle. */
static OnnxIoInfo *io_in, *io_out;
static int io_nin, io_nout;

static OnnxValueKind in_kind(int k) {
  return k < io_nin ? io_in[k].kind : ONNX_VALUE_TENSOR;
}

static OnnxValueKind out_kind(int k) {
  return k < io_nout ? io_out[k].kind : ONNX_VALUE_TENSOR;
}

/* Decodes a .pb value (a tensor, or a sequence or optional flattened as the
 * generated API passes it) into raw files raw_0.bin, raw_1.bin, ... (a tensor:
 * raw.bin). *count gets the number of files. Returns NULL or why it failed. */
static char *pb_to_raw(const char *pb, OnnxValueKind kind, const char *raw, int *count) {
  OnnxValueData v;
  char err[512] = "";
  *count = 0;
  if (onnx_read_value_file(pb, kind, &v, err, sizeof err)) return fmt("%s", err);
  char *why = NULL;
  for (int j = 0; j < v.n && !why; j++) {
    const OnnxTensorData *t = &v.t[j];
    size_t n = dt_size(t->dt), numel = 1;
    for (int i = 0; i < t->rank; i++) numel *= (size_t)t->dims[i];
    n *= numel;
    char *path = kind == ONNX_VALUE_TENSOR ? fmt("%s.bin", raw) : fmt("%s_%d.bin", raw, j);
    FILE *f = fopen(path, "wb");
    int ok = f && (n == 0 || t->dt == DT_STRING || fwrite(t->data, 1, n, f) == n);
    for (size_t i = 0; ok && t->dt == DT_STRING && i < numel; i++) { /* each string and a NUL (harness.c) */
      const char *s = (const char *)(intptr_t)dt_load(t->data, DT_STRING, (int64_t)i).i;
      ok = fwrite(s, 1, strlen(s) + 1, f) == strlen(s) + 1;
    }
    if (f && fclose(f)) ok = 0;
    if (!ok) why = fmt("cannot write %s", path);
    free(path);
  }
  *count = v.n;
  onnx_value_data_free(&v);
  return why;
}

/* Raw file j of input k of data set s (as pb_to_raw named it). */
static char *in_raw(const char *work, int s, int k, int j) {
  return in_kind(k) == ONNX_VALUE_TENSOR ? fmt("%s/in_%d_%d.bin", work, s, k) : fmt("%s/in_%d_%d_%d.bin", work, s, k, j);
}

/* Runs one test in the current (child) process; returns "P", "F..." or "S...". */
static char *run_test(const Test *t, const Rule *rule, const char *work) {
  double rtol = rule ? rule->rtol : 1e-3, atol = rule ? rule->atol : 1e-7;
  char *model = fmt("%s/model.onnx", t->dir), *why = NULL, *argv[MAX_ARGS];
  for (const char *alt = ".pt"; !is_file(model) && alt; alt = strcmp(alt, ".pt") ? NULL : ".pkl") {
    free(model); /* a pickled model (jtpy frontend) */
    model = fmt("%s/model%s", t->dir, alt);
  }
  if (!is_file(model)) free(model), model = fmt("%s/model.onnx", t->dir);
  struct dirent **sets = NULL;
  int nsets = scandir(t->dir, &sets, is_dataset, alphasort);
  if (!is_file(model)) return fmt("Fno %s", model);
  if (nsets <= 0) return fmt("Fno test_data_set_* in %s", t->dir);
  if (mkdir(work, 0777)) return fmt("Fcannot create %s: %s", work, strerror(errno));

  /* 0. the model's input and output kinds: sequences and optionals are passed
   * flattened (onnx.h), their structure given to jtc with --seq */
  if (strlen(model) > 5 && !strcmp(model + strlen(model) - 5, ".onnx")) {
    char err[512];
    if (onnx_model_io(model, &io_in, &io_nin, &io_out, &io_nout, err, sizeof err)) return fmt("F%s", err);
  }

  /* 1. inputs: WORK/in_S_K.bin for data set S, input K (a sequence's: in_S_K_J.bin) */
  int nin[64] = {0}, nout[64] = {0}, nflat[64][MAX_ARGS / 2] = {{0}};
  if (nsets > 64) nsets = 64;
  for (int s = 0; s < nsets; s++) {
    for (;; nin[s]++) {
      char *pb = fmt("%s/%s/input_%d.pb", t->dir, sets[s]->d_name, nin[s]);
      char *raw = fmt("%s/in_%d_%d", work, s, nin[s]);
      char *e = is_file(pb) ? pb_to_raw(pb, in_kind(nin[s]), raw, &nflat[s][nin[s]]) : NULL;
      int done = !is_file(pb);
      if (e) why = fmt("F%s", e); /* e names the file */
      free(pb), free(raw), free(e);
      if (done || why) break;
      if (nin[s] >= MAX_ARGS / 2 - 8) return fmt("Ftoo many inputs");
    }
    while (!why && nout[s] < MAX_ARGS / 2 - 8) {
      char *pb = fmt("%s/%s/output_%d.pb", t->dir, sets[s]->d_name, nout[s]);
      int there = is_file(pb);
      free(pb);
      if (!there) break;
      nout[s]++;
    }
    if (why) return why;
  }

  /* 2. jtc. A shape-like input fed as a graph input gets jtc's hint "--bind NAME=FILE.pb":
   * retry with that input pinned to data set 0's value; it then leaves the generated API. */
  char *netc = fmt(opt.cuda ? "%s/net.cu" : "%s/net.c", work), *log = fmt("%s/jtc.log", work);
  char *av_jtc[MAX_ARGS] = {(char *)opt.jtc, model, opt.cuda ? "--target=cuda" : "--target=c", "--name", "net", "-o", netc, NULL};
  int nav = 7, bound[MAX_ARGS / 2] = {0};
  const char *extra = getenv("JTC_FLAGS");
  if (extra) add_words(av_jtc, &nav, extra);
  size_t flen;
  char *fpath = fmt("%s/jtc_flags", t->dir), *flags = read_all(fpath, &flen);
  if (flags) { /* the folder's own jtc words; $DIR is the folder */
    int first = nav;
    add_words(av_jtc, &nav, flags);
    for (int k = first; k < nav; k++) {
      char *d = strstr(av_jtc[k], "$DIR");
      if (d) av_jtc[k] = fmt("%.*s%s%s", (int)(d - av_jtc[k]), av_jtc[k], t->dir, d + 4);
    }
    free(flags);
  }
  free(fpath);
  for (int k = 0; k < nin[0] && nav < MAX_ARGS - 8; k++) {
    char *pb = fmt("%s/%s/input_%d.pb", t->dir, sets[0]->d_name, k);
    if (in_kind(k) != ONNX_VALUE_TENSOR) { /* its structure, from data set 0 */
      av_jtc[nav++] = "--seq";
      av_jtc[nav++] = fmt("%s=%s", io_in[k].name, pb);
    } else if (k < io_nin && io_in[k].symbolic) { /* symbolic dims: data set 0's shape */
      Dtype dt;
      int rank;
      int64_t dims[IR_MAX_RANK];
      void *data = NULL;
      char err[512], shape[512];
      if (onnx_read_tensor_file(pb, &dt, &rank, dims, &data, err, sizeof err)) return fmt("F%s", err);
      free(data);
      size_t len = (size_t)snprintf(shape, sizeof shape, "%s=", io_in[k].name);
      for (int d = 0; d < rank && len < sizeof shape; d++)
        len += (size_t)snprintf(shape + len, sizeof shape - len, "%s%lld", d ? "," : "", (long long)dims[d]);
      av_jtc[nav++] = "--shape";
      av_jtc[nav++] = xstrdup(shape);
    }
    free(pb);
  }
  char bound_names[512] = "";
  for (;;) {
    av_jtc[nav] = NULL;
    if (!(why = run(av_jtc, log))) break;
    size_t loglen;
    char *hint = read_all(log, &loglen), *at = hint ? strstr(hint, "--bind ") : NULL, *eq; /* whole log: lines can be long */
    if (opt.cuda && hint && strstr(hint, "string tensors are supported by --target=c inference only"))
      return xstrdup("Sstring tensors: the CUDA target refuses them (C target only)");
    if (!at || !(eq = strstr(at, "=FILE.pb")) || nav >= MAX_ARGS - 4) return fmt("Fjtc %s%s", why, log_line(log, NULL));
    char *want = strndup(at + 7, (size_t)(eq - at - 7));
    int k = -1;
    for (int j = 0; j < nin[0] && k < 0; j++) {
      char nm[256], *pb = fmt("%s/%s/input_%d.pb", t->dir, sets[0]->d_name, j);
      if (in_kind(j) == ONNX_VALUE_TENSOR && !onnx_tensor_file_name(pb, nm, sizeof nm) && !strcmp(nm, want) && !bound[j]) k = j;
      free(pb);
    }
    if (k < 0) return fmt("Fjtc %s%s", why, log_line(log, NULL));
    bound[k] = 1;
    av_jtc[nav++] = "--bind";
    av_jtc[nav++] = fmt("%s=%s/%s/input_%d.pb", want, t->dir, sets[0]->d_name, k);
    snprintf(bound_names + strlen(bound_names), sizeof bound_names - strlen(bound_names), "%s%s",
             bound_names[0] ? ", " : "", want);
    free(want);
  }
  /* a bound input must hold the same value in every data set */
  for (int s = 1; s < nsets; s++)
    for (int k = 0; k < nin[s]; k++) {
      if (!bound[k]) continue;
      size_t la, lb;
      char *a = read_all(fmt("%s/in_0_%d.bin", work, k), &la), *b = read_all(fmt("%s/in_%d_%d.bin", work, s, k), &lb);
      int same = a && b && la == lb && !memcmp(a, b, la);
      free(a), free(b);
      if (!same) return fmt("F%s: bound input %d differs from test_data_set_0's", sets[s]->d_name, k);
    }

  /* 3. compile */
  int n = 0;
  char *exe = fmt("%s/t", work), *obj = NULL;
  const char *cc = getenv("CC"), *cflags = getenv("JTC_CFLAGS"), *omp = getenv("JTC_OPENMP");
  if (opt.cuda) { /* the CUDA source against the emulator, to an object the harness links */
    const char *cxx = getenv("CXX");
    obj = fmt("%s/net.o", work);
    add_words(argv, &n, cxx && *cxx ? cxx : "g++");
    add_words(argv, &n, "-std=c++17 -O1 -Wall -Wextra -Werror -x c++ -include");
    argv[n++] = (char *)opt.emu;
    argv[n++] = "-I"; /* its cuda_runtime.h */
    const char *slash = strrchr(opt.emu, '/');
    argv[n++] = slash ? fmt("%.*s", (int)(slash - opt.emu), opt.emu) : ".";
    argv[n++] = "-I";
    argv[n++] = (char *)work;
    argv[n++] = "-c";
    argv[n++] = netc;
    argv[n++] = "-o";
    argv[n++] = obj;
    argv[n] = NULL;
    free(log), log = fmt("%s/cxx.log", work);
    if ((why = run(argv, log))) return fmt("Fc++ %s%s", why, log_line(log, "error"));
    n = 0;
    netc = obj;
  }
  add_words(argv, &n, cc && *cc ? cc : "cc");
  add_words(argv, &n, cflags ? cflags : "-std=c11 -O1 -Wall -Wextra -Werror");
  if (omp && *omp && strcmp(omp, "0")) argv[n++] = "-fopenmp";
  argv[n++] = "-I";
  argv[n++] = (char *)work;
  argv[n++] = "-o";
  argv[n++] = exe;
  argv[n++] = netc;
  argv[n++] = (char *)opt.harness;
  if (opt.cuda) argv[n++] = "-lstdc++";
  argv[n++] = "-lm";
  argv[n] = NULL;
  free(log), log = fmt("%s/cc.log", work);
  if ((why = run(argv, log))) return fmt("Fcc %s%s", why, log_line(log, "error"));

  /* 4. run and compare each data set */
  const char *runner = getenv("JTC_RUNNER");
  for (int s = 0; s < nsets; s++) {
    n = 0;
    if (runner && *runner) add_words(argv, &n, runner);
    argv[n++] = exe;
    for (int k = 0; k < nin[s]; k++)
      for (int j = 0; j < nflat[s][k] && !bound[k] && n < MAX_ARGS - 2; j++) argv[n++] = in_raw(work, s, k, j);
    /* expected outputs, flattened: a sequence or optional gives 0 or more tensors */
    OnnxValueData want[MAX_ARGS / 2];
    int first_out = n;
    for (int k = 0; k < nout[s]; k++) {
      char *pb = fmt("%s/%s/output_%d.pb", t->dir, sets[s]->d_name, k), err[512] = "";
      if (onnx_read_value_file(pb, out_kind(k), &want[k], err, sizeof err)) return fmt("F%s", err);
      free(pb);
      for (int j = 0; j < want[k].n && n < MAX_ARGS - 2; j++) argv[n++] = fmt("%s/out_%d_%d_%d.bin", work, s, k, j);
    }
    if (n >= MAX_ARGS - 2) return fmt("Ftoo many inputs and outputs");
    argv[n] = NULL;
    free(log), log = fmt("%s/run_%d.log", work, s);
    if ((why = run(argv, log))) return fmt("F%s: run %s%s", sets[s]->d_name, why, log_line(log, NULL));
    for (int k = 0, f = 0; k < nout[s]; k++) {
      for (int j = 0; j < want[k].n && !why; j++, f++) {
        const OnnxTensorData *w = &want[k].t[j];
        size_t glen = 0;
        char *got = read_all(argv[first_out + f], &glen);
        if (!got) return fmt("F%s: harness wrote no output %d", sets[s]->d_name, f);
        why = compare(f, got, glen, w->dt, w->rank, w->dims, w->data, rtol, atol);
        free(got);
      }
      onnx_value_data_free(&want[k]);
      if (why) return fmt("F%s%s%s", nsets > 1 ? sets[s]->d_name : "", nsets > 1 ? ": " : "", why);
    }
  }
  /* --cu-dir: the same jtc command again, under a prefix unique to the test and JTC_FLAGS */
  if (opt.cuda && opt.cu_dir) {
    unsigned h = 2166136261u;
    for (const char *s = t->dir; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
    for (const char *s = extra ? extra : ""; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
    char prefix[48];
    int len = snprintf(prefix, sizeof prefix, "c%08x_%.30s", h, t->name);
    for (int k = 0; k < len; k++)
      if (!isalnum((unsigned char)prefix[k])) prefix[k] = '_';
    av_jtc[4] = prefix;
    av_jtc[6] = fmt("%s/%s.cu", opt.cu_dir, prefix);
    free(log), log = fmt("%s/jtc_cu.log", work);
    if ((why = run(av_jtc, log))) return fmt("Fjtc --name %s: %s%s", prefix, why, log_line(log, NULL));
  }
  return bound_names[0] ? fmt("Pbound: %s", bound_names) : xstrdup("P");
}

/* ---- driver ---- */

static void add_test(Test **ts, int *n, int *cap, const char *dir) {
  if (*n == *cap) {
    *cap = *cap ? 2 * *cap : 256;
    Test *t = realloc(*ts, *cap * sizeof *t);
    if (!t) die("out of memory");
    *ts = t;
  }
  Test *t = &(*ts)[(*n)++];
  t->dir = xstrdup(dir);
  size_t len = strlen(t->dir);
  while (len > 1 && t->dir[len - 1] == '/') t->dir[--len] = 0;
  char *slash = strrchr(t->dir, '/');
  t->name = xstrdup(slash ? slash + 1 : t->dir);
  t->suite = xstrdup("");
  if (slash) {
    *slash = 0;
    char *s2 = strrchr(t->dir, '/');
    free(t->suite);
    t->suite = xstrdup(s2 ? s2 + 1 : t->dir);
    *slash = '/';
  }
}

static void add_root(Test **ts, int *n, int *cap, const char *root) {
  struct dirent **ents;
  int m = scandir(root, &ents, NULL, alphasort);
  if (m < 0) die("cannot list %s: %s", root, strerror(errno));
  for (int i = 0; i < m; i++) {
    char *dir = fmt("%s/%s", root, ents[i]->d_name), *model = fmt("%s/model.onnx", dir);
    char *pt = fmt("%s/model.pt", dir), *pkl = fmt("%s/model.pkl", dir);
    if (ents[i]->d_name[0] != '.' && (is_file(model) || is_file(pt) || is_file(pkl))) add_test(ts, n, cap, dir);
    free(dir), free(model), free(pt), free(pkl), free(ents[i]);
  }
  free(ents);
}

static void usage(void) {
  fputs("usage: conform [options] TESTDIR... | --root DIR...\n"
        "  --jtc PATH      the compiler (default build/jtc)\n"
        "  --root DIR      run every subfolder of DIR holding a model.onnx (repeatable)\n"
        "  --skips FILE    skip/tolerance file (default tests/conformance/skip.txt; '' for none)\n"
        "  --harness FILE  harness source (default tests/conformance/harness.c)\n"
        "  -j N            tests run in parallel (default 2)\n"
        "  --timeout S     limit per jtc, cc and run step (default 300)\n"
        "  --tmp DIR       where the temp work folder goes (default $TMPDIR or /tmp)\n"
        "  --keep          keep every work folder (failed tests' are always kept)\n"
        "  --allow-fail    exit 0 even if tests fail\n"
        "  --target cuda   build jtc's CUDA output against the emulator (--emu FILE, default\n"
        "                  tests/cuda/cuda_emu.h) and run its kernels on the CPU\n"
        "  --cu-dir DIR    with --target cuda: also write each passing test's source to DIR\n"
        "env: CC, JTC_CFLAGS (default -std=c11 -O1 -Wall -Wextra -Werror), JTC_OPENMP=1 adds -fopenmp, CXX,\n"
        "     JTC_RUNNER (words before the test binary, e.g. qemu-aarch64)\n",
        stderr);
  exit(2);
}

int main(int argc, char **argv) {
  Test *tests = NULL;
  int ntests = 0, cap = 0, skips_given = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    int more = i + 1 < argc;
    if (!strcmp(a, "--jtc") && more) opt.jtc = argv[++i];
    else if (!strcmp(a, "--root") && more) add_root(&tests, &ntests, &cap, argv[++i]);
    else if (!strcmp(a, "--skips") && more) opt.skips = argv[++i], skips_given = 1;
    else if (!strcmp(a, "--harness") && more) opt.harness = argv[++i];
    else if (!strcmp(a, "-j") && more) opt.jobs = atoi(argv[++i]);
    else if (!strncmp(a, "-j", 2) && a[2]) opt.jobs = atoi(a + 2);
    else if (!strcmp(a, "--timeout") && more) opt.timeout = atoi(argv[++i]);
    else if (!strcmp(a, "--tmp") && more) opt.tmp = argv[++i];
    else if (!strcmp(a, "--keep")) opt.keep = 1;
    else if (!strcmp(a, "--allow-fail")) opt.allow_fail = 1;
    else if (!strcmp(a, "--target") && more) {
      const char *tg = argv[++i];
      if (strcmp(tg, "c") && strcmp(tg, "cuda")) usage();
      opt.cuda = !strcmp(tg, "cuda");
    }
    else if (!strcmp(a, "--emu") && more) opt.emu = argv[++i];
    else if (!strcmp(a, "--cu-dir") && more) opt.cu_dir = argv[++i];
    else if (a[0] == '-') usage();
    else add_test(&tests, &ntests, &cap, a);
  }
  if (opt.jobs < 1 || opt.timeout < 1) usage();
  if (*opt.skips) load_rules(opt.skips, skips_given);
  if (!is_file(opt.harness)) die("no harness source %s (run from the repository root or pass --harness)", opt.harness);
  if (opt.cuda && !is_file(opt.emu)) die("no CUDA emulator header %s (pass --emu)", opt.emu);
  if (opt.cu_dir && !opt.cuda) die("--cu-dir needs --target cuda");
  if (opt.cu_dir) mkdir(opt.cu_dir, 0777);

  const char *tmp = opt.tmp ? opt.tmp : getenv("TMPDIR");
  if (!tmp || !*tmp) tmp = "/tmp";
  mkdir(tmp, 0777);
  char *templ = fmt("%s/jtc-conform.XXXXXX", tmp);
  if (!mkdtemp(templ) || !realpath(templ, opt.root)) die("cannot create a temp folder in %s: %s", tmp, strerror(errno));
  free(templ);

  char **result = calloc((size_t)ntests + 1, sizeof *result);
  pid_t *pids = calloc((size_t)ntests + 1, sizeof *pids);
  int *fds = calloc((size_t)ntests + 1, sizeof *fds);
  if (!result || !pids || !fds) die("out of memory");
  int next = 0, running = 0, printed = 0, npass = 0, nfail = 0, nskip = 0;
  fflush(stdout);
  while (printed < ntests) {
    while (running < opt.jobs && next < ntests) {
      int i = next++;
      const Rule *rule = find_rule(&tests[i]);
      if (rule && rule->reason) {
        result[i] = fmt("S%s", rule->reason);
        continue;
      }
      int p[2];
      if (pipe(p)) die("pipe: %s", strerror(errno));
      pid_t pid = fork();
      if (pid < 0) die("fork: %s", strerror(errno));
      if (pid == 0) {
        close(p[0]);
        struct sigaction sa = {0};
        sa.sa_handler = on_alarm; /* no SA_RESTART: waitpid returns EINTR */
        sigaction(SIGALRM, &sa, NULL);
        signal(SIGINT, on_term);
        signal(SIGTERM, on_term);
        char *work = fmt("%s/%04d-%s", opt.root, i, tests[i].name);
        char *r = run_test(&tests[i], rule, work);
        if (r[0] == 'P' && !opt.keep) rm_tree(work);
        size_t len = strlen(r);
        if (len > MSG_MAX) len = MSG_MAX;
        if (write(p[1], r, len) < 0) _exit(1);
        _exit(0);
      }
      close(p[1]);
      pids[i] = pid;
      fds[i] = p[0];
      running++;
    }
    if (running) {
      int st;
      pid_t pid = wait(&st);
      if (pid < 0) die("wait: %s", strerror(errno));
      for (int i = 0; i < next; i++) {
        if (pids[i] != pid) continue;
        char buf[MSG_MAX + 1];
        ssize_t len = read(fds[i], buf, MSG_MAX), r;
        while (len >= 0 && len < MSG_MAX && (r = read(fds[i], buf + len, MSG_MAX - (size_t)len)) > 0) len += r;
        close(fds[i]);
        buf[len > 0 ? len : 0] = 0;
        if (len > 0) result[i] = xstrdup(buf);
        else if (WIFSIGNALED(st)) result[i] = fmt("Frunner child killed by signal %d (%s)", WTERMSIG(st), strsignal(WTERMSIG(st)));
        else result[i] = fmt("Frunner child exited %d without a result", WEXITSTATUS(st));
        pids[i] = 0;
        running--;
      }
    }
    for (; printed < ntests && result[printed]; printed++) {
      const char *r = result[printed], *name = tests[printed].name;
      if (r[0] == 'P') printf(r[1] ? "PASS %s (%s)\n" : "PASS %s%s\n", name, r + 1), npass++;
      else if (r[0] == 'S') printf("SKIP %s: %s\n", name, r + 1), nskip++;
      else printf("FAIL %s: %s\n", name, r + 1), nfail++;
      fflush(stdout);
    }
  }
  if (opt.keep || nfail) printf("work folders%s: %s\n", opt.keep ? "" : " of failed tests", opt.root);
  else rmdir(opt.root);
  printf("%d passed, %d failed, %d skipped\n", npass, nfail, nskip);
  for (int i = 0; i < ntests; i++) free(result[i]), free(tests[i].dir), free(tests[i].name), free(tests[i].suite);
  for (int i = 0; i < opt.nrules; i++) free(opt.rules[i].pat), free(opt.rules[i].reason);
  free(result), free(pids), free(fds), free(tests), free(opt.rules);
  return nfail && !opt.allow_fail ? 1 : 0;
}
