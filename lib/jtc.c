/* jtc.c: libjtc (include/jtc.h): compile at load time, with a cache.
 *
 * An entry is a directory CACHE/<key>/ holding model.c, model.h, model.weights
 * (when the weights are not embedded), model.so and a manifest "jtc-entry 1
 * <bytes> <fnv1a>" of model.so. The key is the FNV-1a hash of jtc's version,
 * the compiler's identity ($CC --version), the options, the model's bytes and
 * the --weights file's bytes. A build happens in CACHE/tmp.<pid>.<n>/ and is
 * renamed into place; when another process got there first, its entry is used. */
#include "include/jtc.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/args.h"
#include "driver/compile.h"

struct jtc_model {
  void *so;
  char path[3072];             /* the shared object */
  int cached;
  int (*run)(const void *const *, void *const *);
  int (*train_step)(const void *const *, const void *const *, float *);
  int (*save_weights)(const char *);
  void (*free_fn)(void);
  const char *(*last_error)(void);
  int nin, nout;
  const char *const *in_names, *const *out_names;
  const size_t *in_sizes, *out_sizes;
  const char *const *in_dtypes, *const *out_dtypes;
  const int64_t (*in_shapes)[IR_MAX_RANK + 1], (*out_shapes)[IR_MAX_RANK + 1];
  char err[1024];
};

#define PREFIX "jtc_model"

static int fail(char *err, size_t errlen, int code, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int fail(char *err, size_t errlen, int code, const char *fmt, ...) {
  if (err && errlen) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
  }
  return code;
}


/* A whole file, malloc'ed; NULL if unreadable. */
static unsigned char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  size_t cap = 1 << 16, n = 0;
  unsigned char *buf = malloc(cap);
  for (size_t got; buf && (got = fread(buf + n, 1, cap - n, f)) > 0;) {
    n += got;
    if (n == cap) {
      unsigned char *b = realloc(buf, cap *= 2);
      if (!b) { free(buf); buf = NULL; }
      buf = b;
    }
  }
  bool bad = ferror(f);
  fclose(f);
  if (bad) { free(buf); return NULL; }
  *len = n;
  return buf;
}

/* Run a shell command, its output (stdout and stderr) into out; returns its exit status or -1. */
static int run_cmd(const char *cmd, char *out, size_t outlen) {
  FILE *p = popen(cmd, "r");
  if (!p) return -1;
  size_t n = 0;
  char buf[512];
  for (size_t got; (got = fread(buf, 1, sizeof buf, p)) > 0;) {
    size_t room = outlen && n < outlen - 1 ? outlen - 1 - n : 0;
    memcpy(out + n, buf, got < room ? got : room);
    n += got < room ? got : room;
  }
  if (outlen) out[n] = 0;
  int st = pclose(p);
  return st == -1 ? -1 : WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* A word safe inside single quotes in a shell command. */
static bool shell_safe(const char *s) {
  return !strchr(s, '\'');
}

static const char *cache_root(const jtc_options *o, char *buf, size_t n) {
  const char *d = o && o->cache_dir ? o->cache_dir : getenv("JTC_CACHE_DIR");
  if (d && *d) return d;
  const char *x = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
  if (x && *x) snprintf(buf, n, "%s/jtc", x);
  else if (home && *home) snprintf(buf, n, "%s/.cache/jtc", home);
  else return NULL;
  return buf;
}

/* mkdir -p */
static int make_dirs(const char *path) {
  char p[4096];
  snprintf(p, sizeof p, "%s", path);
  for (char *s = p + 1; *s; s++)
    if (*s == '/') {
      *s = 0;
      if (mkdir(p, 0755) && errno != EEXIST) return -1;
      *s = '/';
    }
  return mkdir(p, 0755) && errno != EEXIST ? -1 : 0;
}

/* Does dir hold a complete entry (manifest matching model.so)? */
static bool entry_valid(const char *dir) {
  char path[3072], line[256];
  snprintf(path, sizeof path, "%s/manifest", dir);
  FILE *f = fopen(path, "r");
  if (!f) return false;
  bool ok = fgets(line, sizeof line, f) != NULL;
  fclose(f);
  unsigned long long bytes, hash;
  if (!ok || sscanf(line, "jtc-entry 1 %llu %llx", &bytes, &hash) != 2) return false;
  snprintf(path, sizeof path, "%s/model.so", dir);
  size_t len = 0;
  unsigned char *so = slurp(path, &len);
  ok = so && len == bytes && ir_fnv1a(IR_FNV1A_BASIS, so, len) == hash;
  free(so);
  return ok;
}

static void remove_dir(const char *dir) {
  const char *files[] = {"model.c", "model.cu", "model.h", "model.weights", "model.so", "manifest"};
  char path[3072];
  for (size_t k = 0; k < sizeof files / sizeof files[0]; k++) {
    snprintf(path, sizeof path, "%s/%s", dir, files[k]);
    unlink(path);
  }
  rmdir(dir);
}

static const char *find_name(const char *const *names, int n, const char *v) {
  for (int k = 0; k < n; k++)
    if (!strcmp(names[k], v)) return names[k];
  return NULL;
}

/* Generate and compile into tmp; 0 or an error code with err set. The manifest's first line
 * identifies the object; the next two say what it was built from (for jtc cache list). */
static int build_entry(const char *model, const jtc_options *o, const char *cc, const char *cflags, const char *tmp,
                       const char *opts, char *err, size_t errlen) {
  static const char *const losses[] = {"mse", "cross_entropy", "nll", "bce_with_logits"};
  static const char *const optimizers[] = {"sgd", "adam", "adamw"};
  OnnxShapeOverride shapes[64];
  int nshapes = 0;
  for (int k = 0; o && k < o->nshapes; k++) {
    if (nshapes == 64 || args_parse_shape(o->shapes[k], &shapes[nshapes]))
      return fail(err, errlen, JTC_ERR_MODEL, "bad shape '%s' (want NAME=D0,D1,...)", o->shapes[k]);
    nshapes++;
  }
  bool cuda = o && o->target && !strcmp(o->target, "cuda");
  const char *arch = o && o->arch ? o->arch : "sm_87,sm_90";
  const char *prec = o && o->precision ? o->precision : "fp32";
  GpuPrecision precision;
  if (args_parse_precision(prec, &precision)) {
    for (int k = 0; k < nshapes; k++) free((char *)shapes[k].name);
    return fail(err, errlen, JTC_ERR_MODEL, "bad precision '%s' (fp32, tf32, fp16)", prec);
  }
  if (!cuda && precision != PRECISION_F32) {
    for (int k = 0; k < nshapes; k++) free((char *)shapes[k].name);
    return fail(err, errlen, JTC_ERR_MODEL, "precision %s applies to target cuda", prec);
  }
  if (cuda && o->train) {
    for (int k = 0; k < nshapes; k++) free((char *)shapes[k].name);
    return fail(err, errlen, JTC_ERR_MODEL, "training builds are C only for now (target cuda)");
  }
  char out[3072], cmd[1024] = "libjtc";
  snprintf(out, sizeof out, "%s/model.%s", tmp, cuda ? "cu" : "c");
  CompileOptions co = {.model = model, .out = out, .prefix = PREFIX, .command = cmd, .quiet = true, .cuda = cuda,
                       .arch = arch, .precision = precision, .shapes = shapes,
                       .nshapes = nshapes, .weights = o ? o->weights : NULL, .wmode = WEIGHTS_AUTO,
                       .embed_limit = 1 << 20, .dump_file = stdout};
  if (o && o->train) {
    co.train = true;
    co.topt = (TrainOptions){.beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .lr = o->lr, .momentum = o->momentum,
                             .weight_decay = o->weight_decay, .nesterov = o->nesterov != 0};
    const char *l = find_name(losses, 4, o->loss ? o->loss : ""), *p = find_name(optimizers, 3, o->optimizer ? o->optimizer : "sgd");
    if (!l || !p) { for (int k = 0; k < nshapes; k++) free((char *)shapes[k].name); return fail(err, errlen, JTC_ERR_MODEL, "training needs loss mse|cross_entropy|nll|bce_with_logits and optimizer sgd|adam|adamw"); }
    co.topt.loss = (TrainLoss)(l == losses[0] ? 0 : l == losses[1] ? 1 : l == losses[2] ? 2 : 3);
    co.topt.opt = (TrainOptimizer)(p == optimizers[0] ? 0 : p == optimizers[1] ? 1 : 2);
    if (co.topt.opt != TRAIN_OPT_SGD && !co.topt.lr) co.topt.lr = 1e-3;
    if (co.topt.opt == TRAIN_OPT_SGD && !(co.topt.lr > 0)) { for (int k = 0; k < nshapes; k++) free((char *)shapes[k].name); return fail(err, errlen, JTC_ERR_MODEL, "optimizer sgd needs lr > 0"); }
  }
  char msg[1024];
  int rc = jtc_compile(&co, msg, sizeof msg);
  for (int k = 0; k < nshapes; k++) free((char *)shapes[k].name);
  if (rc) return fail(err, errlen, JTC_ERR_MODEL, "%s", msg);
  char line[8192], log[8192];
  if (cuda) { /* nvcc -x cu ... -gencode arch=compute_XX,code=sm_XX per listed GPU */
    int n = snprintf(line, sizeof line, "%s -x cu -std=c++17 %s -shared -Xcompiler -fPIC", cc, cflags);
    for (const char *a = arch; *a && n < (int)sizeof line - 200;) {
      size_t l = strcspn(a, ",");
      if (l > 3 && l < 16 && !strncmp(a, "sm_", 3)) n += snprintf(line + n, sizeof line - (size_t)n, " -gencode arch=compute_%.*s,code=sm_%.*s", (int)l - 3, a + 3, (int)l - 3, a + 3);
      a += l + (a[l] == ',');
    }
    snprintf(line + n, sizeof line - (size_t)n, " -o '%s/model.so' '%s/model.cu' 2>&1", tmp, tmp);
  } else {
    snprintf(line, sizeof line, "%s %s -fPIC -shared -fopenmp -o '%s/model.so' '%s/model.c' -lm 2>&1", cc, cflags, tmp, tmp);
  }
  int st = run_cmd(line, log, sizeof log);
  if (st == 127) return fail(err, errlen, JTC_ERR_COMPILER, "compiler '%s' not found: %s", cc, log);
  if (st != 0) return fail(err, errlen, JTC_ERR_COMPILER, "compiler '%s' failed (exit %d): %s", cc, st, log);
  snprintf(line, sizeof line, "%s/model.so", tmp);
  size_t len = 0;
  unsigned char *so = slurp(line, &len);
  if (!so) return fail(err, errlen, JTC_ERR_COMPILER, "compiler '%s' wrote no %s", cc, line);
  uint64_t h = ir_fnv1a(IR_FNV1A_BASIS, so, len);
  free(so);
  snprintf(line, sizeof line, "%s/manifest", tmp);
  FILE *f = fopen(line, "w");
  if (!f || fprintf(f, "jtc-entry 1 %zu %" PRIx64 "\nmodel %s\noptions %s cc=%s\n", len, h, model, opts, cc) < 0 || fclose(f))
    return fail(err, errlen, JTC_ERR_LOAD, "cannot write %s", line);
  return 0;
}

static int open_entry(const char *dir, jtc_model *m, char *err, size_t errlen) {
  snprintf(m->path, sizeof m->path, "%s/model.so", dir);
  /* RTLD_NODELETE: the object (and the OpenMP runtime it pulled in) stays mapped after
   * dlclose, since OpenMP's idle worker threads still run inside it */
  m->so = dlopen(m->path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
  if (!m->so) return fail(err, errlen, JTC_ERR_LOAD, "dlopen %s: %s", m->path, dlerror());
#define SYM(field, name)                                                                                         \
  do {                                                                                                           \
    *(void **)&m->field = dlsym(m->so, PREFIX "_" name);                                                         \
    if (!m->field) return fail(err, errlen, JTC_ERR_LOAD, "dlsym %s in %s: not found", PREFIX "_" name, m->path); \
  } while (0)
  const int *nin, *nout;
  SYM(run, "run");
  SYM(free_fn, "free");
  SYM(last_error, "last_error");
  SYM(in_names, "input_names");
  SYM(out_names, "output_names");
  SYM(in_sizes, "input_sizes");
  SYM(out_sizes, "output_sizes");
  SYM(in_dtypes, "input_dtypes");
  SYM(out_dtypes, "output_dtypes");
  SYM(in_shapes, "input_shapes");
  SYM(out_shapes, "output_shapes");
  if (!(nin = dlsym(m->so, PREFIX "_num_inputs")) || !(nout = dlsym(m->so, PREFIX "_num_outputs")))
    return fail(err, errlen, JTC_ERR_LOAD, "dlsym %s_num_inputs in %s: not found", PREFIX, m->path);
#undef SYM
  m->nin = *nin;
  m->nout = *nout;
  *(void **)&m->train_step = dlsym(m->so, PREFIX "_train_step");
  *(void **)&m->save_weights = dlsym(m->so, PREFIX "_save_weights");
  int (*init)(const char *);
  *(void **)&init = dlsym(m->so, PREFIX "_init");
  if (!init) return fail(err, errlen, JTC_ERR_LOAD, "dlsym %s_init in %s: not found", PREFIX, m->path);
  char w[3072];
  snprintf(w, sizeof w, "%s/model.weights", dir);
  if (init(access(w, R_OK) == 0 ? w : NULL)) return fail(err, errlen, JTC_ERR_LOAD, "%s", m->last_error());
  return 0;
}

int jtc_load(const char *model_path, const jtc_options *o, jtc_model **out, char *err, size_t errlen) {
  *out = NULL;
  if (err && errlen) err[0] = 0;
  size_t mlen = 0, wlen = 0;
  unsigned char *mb = slurp(model_path, &mlen);
  if (!mb) return fail(err, errlen, JTC_ERR_MODEL, "%s: cannot read: %s", model_path, strerror(errno));
  uint64_t key = ir_fnv1a(IR_FNV1A_BASIS, "jtc " JTC_VERSION, strlen("jtc " JTC_VERSION));
  key = ir_fnv1a(key, mb, mlen);
  free(mb);
  if (o && o->weights) {
    unsigned char *wb = slurp(o->weights, &wlen);
    if (!wb) return fail(err, errlen, JTC_ERR_MODEL, "%s: cannot read: %s", o->weights, strerror(errno));
    key = ir_fnv1a(key, wb, wlen);
    free(wb);
  }
  bool cuda = o && o->target && !strcmp(o->target, "cuda");
  if (o && o->target && !cuda && strcmp(o->target, "c")) return fail(err, errlen, JTC_ERR_MODEL, "unknown target '%s' (c, cuda)", o->target);
  const char *envcc = getenv(cuda ? "NVCC" : "CC");
  const char *cc = o && o->cc ? o->cc : envcc && *envcc ? envcc : cuda ? "nvcc" : "cc";
  const char *cflags = o && o->cflags ? o->cflags : cuda ? "-O3" : "-O2";
  if (!shell_safe(cc)) return fail(err, errlen, JTC_ERR_COMPILER, "compiler '%s' holds a quote", cc);
  char opts[2048], line[8192], ver[4096];
  snprintf(opts, sizeof opts, "target=%s arch=%s precision=%s cflags=%s train=%d loss=%s opt=%s lr=%.17g m=%.17g wd=%.17g nesterov=%d",
           cuda ? "cuda" : "c", cuda && o->arch ? o->arch : "", cuda && o->precision ? o->precision : "fp32", cflags, o ? o->train : 0, o && o->loss ? o->loss : "", o && o->optimizer ? o->optimizer : "", o ? o->lr : 0,
           o ? o->momentum : 0, o ? o->weight_decay : 0, o ? o->nesterov : 0);
  for (int k = 0; o && k < o->nshapes; k++) snprintf(opts + strlen(opts), sizeof opts - strlen(opts), " shape=%s", o->shapes[k]);
  key = ir_fnv1a(key, opts, strlen(opts));
  snprintf(line, sizeof line, "%s --version 2>&1", cc); /* $CC may carry flags ("gcc -m32"): split by sh */
  int st = run_cmd(line, ver, sizeof ver);
  if (st == 127 || st < 0) return fail(err, errlen, JTC_ERR_COMPILER, "compiler '%s' not found: %s", cc, ver);
  key = ir_fnv1a(key, ver, strlen(ver));
  char rootbuf[2048], dir[2560], tmp[2560];
  const char *root = cache_root(o, rootbuf, sizeof rootbuf);
  if (!root) return fail(err, errlen, JTC_ERR_LOAD, "no cache directory: set JTC_CACHE_DIR or HOME");
  if (strlen(root) > 2000) return fail(err, errlen, JTC_ERR_LOAD, "cache directory path longer than 2000 bytes");
  if (!shell_safe(root)) return fail(err, errlen, JTC_ERR_LOAD, "cache directory '%s' holds a quote (the compiler runs through sh)", root);
  if (make_dirs(root)) return fail(err, errlen, JTC_ERR_LOAD, "cannot create cache directory %s: %s", root, strerror(errno));
  snprintf(dir, sizeof dir, "%s/%016" PRIx64, root, key);
  jtc_model *m = calloc(1, sizeof *m);
  if (!m) return fail(err, errlen, JTC_ERR_LOAD, "out of memory");
  m->cached = entry_valid(dir);
  if (!m->cached) {
    static int serial;
    snprintf(tmp, sizeof tmp, "%s/tmp.%ld.%d", root, (long)getpid(), serial++);
    remove_dir(tmp);
    if (mkdir(tmp, 0755)) { free(m); return fail(err, errlen, JTC_ERR_LOAD, "cannot create %s: %s", tmp, strerror(errno)); }
    int rc = build_entry(model_path, o, cc, cflags, tmp, opts, err, errlen);
    if (rc) { remove_dir(tmp); free(m); return rc; }
    if (rename(tmp, dir)) { /* an entry is there: valid (another process won), or corrupted (replace it) */
      if (entry_valid(dir)) {
        remove_dir(tmp);
      } else {
        char trash[2600];
        snprintf(trash, sizeof trash, "%s.bad.%ld", dir, (long)getpid());
        if (rename(dir, trash) == 0) remove_dir(trash);
        if (rename(tmp, dir) && !entry_valid(dir)) {
          remove_dir(tmp);
          free(m);
          return fail(err, errlen, JTC_ERR_LOAD, "cannot install cache entry %s: %s", dir, strerror(errno));
        }
        remove_dir(tmp);
      }
    }
  }
  int rc = open_entry(dir, m, err, errlen);
  if (rc) { jtc_free(m); return rc; }
  if (o && o->threads > 0) { /* the OpenMP runtime the object pulled in */
    void (*set_threads)(int);
    *(void **)&set_threads = dlsym(m->so, "omp_set_num_threads");
    if (set_threads) set_threads(o->threads);
  }
  *out = m;
  return 0;
}

static int run_result(jtc_model *m, int rc) {
  if (rc) snprintf(m->err, sizeof m->err, "%s", m->last_error());
  else m->err[0] = 0;
  return rc ? JTC_ERR_RUN : 0;
}

int jtc_run(jtc_model *m, const void *const inputs[], void *const outputs[]) { return run_result(m, m->run(inputs, outputs)); }

int jtc_train_step(jtc_model *m, const void *const inputs[], const void *const targets[], float *loss) {
  if (!m->train_step) { snprintf(m->err, sizeof m->err, "not a training build (jtc_options.train)"); return JTC_ERR_RUN; }
  return run_result(m, m->train_step(inputs, targets, loss));
}

int jtc_save_weights(jtc_model *m, const char *path) {
  if (!m->save_weights) { snprintf(m->err, sizeof m->err, "not a training build (jtc_options.train)"); return JTC_ERR_RUN; }
  return run_result(m, m->save_weights(path));
}

int jtc_num_inputs(const jtc_model *m) { return m->nin; }
int jtc_num_outputs(const jtc_model *m) { return m->nout; }
const char *jtc_input_name(const jtc_model *m, int k) { return k >= 0 && k < m->nin ? m->in_names[k] : NULL; }
const char *jtc_output_name(const jtc_model *m, int k) { return k >= 0 && k < m->nout ? m->out_names[k] : NULL; }
size_t jtc_input_size(const jtc_model *m, int k) { return k >= 0 && k < m->nin ? m->in_sizes[k] : 0; }
size_t jtc_output_size(const jtc_model *m, int k) { return k >= 0 && k < m->nout ? m->out_sizes[k] : 0; }
const char *jtc_input_dtype(const jtc_model *m, int k) { return k >= 0 && k < m->nin ? m->in_dtypes[k] : NULL; }
const char *jtc_output_dtype(const jtc_model *m, int k) { return k >= 0 && k < m->nout ? m->out_dtypes[k] : NULL; }
const int64_t *jtc_input_shape(const jtc_model *m, int k, int *rank) {
  if (k < 0 || k >= m->nin) return NULL;
  *rank = (int)m->in_shapes[k][0];
  return m->in_shapes[k] + 1;
}
const int64_t *jtc_output_shape(const jtc_model *m, int k, int *rank) {
  if (k < 0 || k >= m->nout) return NULL;
  *rank = (int)m->out_shapes[k][0];
  return m->out_shapes[k] + 1;
}
const char *jtc_error(const jtc_model *m) { return m->err; }
const char *jtc_object_path(const jtc_model *m) { return m->path; }
int jtc_was_cached(const jtc_model *m) { return m->cached; }

void jtc_free(jtc_model *m) {
  if (!m) return;
  if (m->so) {
    if (m->free_fn) m->free_fn();
    dlclose(m->so);
  }
  free(m);
}

/* ---- jtc cache list|clear ---- */

int jtc_cache_list(FILE *f, char *err, size_t errlen) {
  char rootbuf[2048];
  const char *root = cache_root(NULL, rootbuf, sizeof rootbuf);
  if (!root) return fail(err, errlen, JTC_ERR_LOAD, "no cache directory: set JTC_CACHE_DIR or HOME");
  DIR *d = opendir(root);
  fprintf(f, "cache %s\n", root);
  if (!d) return 0; /* nothing cached yet */
  int n = 0;
  for (struct dirent *e; (e = readdir(d));) {
    if (e->d_name[0] == '.') continue;
    char dir[2560], path[3072], line[1024];
    snprintf(dir, sizeof dir, "%s/%s", root, e->d_name);
    snprintf(path, sizeof path, "%s/manifest", dir);
    FILE *m = fopen(path, "r");
    bool valid = entry_valid(dir);
    fprintf(f, "%s  %s", e->d_name, !strncmp(e->d_name, "tmp.", 4) ? "(being built, or left by a crash)" : valid ? "ok" : "corrupted (rebuilt on next load)");
    while (m && fgets(line, sizeof line, m))
      if (strncmp(line, "jtc-entry", 9)) fprintf(f, "\n    %.*s", (int)strcspn(line, "\n"), line);
    fprintf(f, "\n");
    if (m) fclose(m);
    n++;
  }
  closedir(d);
  fprintf(f, "%d entr%s\n", n, n == 1 ? "y" : "ies");
  return 0;
}

int jtc_cache_clear(FILE *f, char *err, size_t errlen) {
  char rootbuf[2048];
  const char *root = cache_root(NULL, rootbuf, sizeof rootbuf);
  if (!root) return fail(err, errlen, JTC_ERR_LOAD, "no cache directory: set JTC_CACHE_DIR or HOME");
  DIR *d = opendir(root);
  if (!d) return 0;
  int n = 0, left = 0;
  for (struct dirent *e; (e = readdir(d));) {
    if (e->d_name[0] == '.') continue;
    char dir[2560];
    snprintf(dir, sizeof dir, "%s/%s", root, e->d_name);
    remove_dir(dir);
    if (access(dir, F_OK) == 0) left++;
    else n++;
  }
  closedir(d);
  fprintf(f, "removed %d entr%s from %s\n", n, n == 1 ? "y" : "ies", root);
  return left ? fail(err, errlen, JTC_ERR_LOAD, "%d entries in %s could not be removed", left, root) : 0;
}
