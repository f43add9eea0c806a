/* run.c: `jtc run`, a model run in one command through libjtc (include/jtc.h).
 *
 *   jtc run MODEL.onnx [--input NAME=FILE ...] [--output-dir DIR] [--iters N]
 *   jtc run DIR        (ONNX's test layout: DIR/model.onnx, DIR/test_data_set_*)
 *
 * Inputs come from .npy or TensorProto .pb files, or are random (seeded: floats
 * uniform in [-1, 1), integers in [0, 10), bools 0/1). Outputs are written to
 * DIR/<name>.npy with --output-dir, else summarized. --iters N times N runs and
 * prints the median, minimum and 90th percentile. On a test folder every
 * test_data_set_* runs and its outputs are compared with output_*.pb (ONNX's
 * tolerance: |got - want| <= 1e-7 + 1e-3 |want|, integers exact); a mismatch
 * exits 1. Exit status: 0, 1 model/data error or mismatch, 2 usage, else libjtc's code. */
#include "cli/run.h"

#include <dirent.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "frontend/onnx/onnx.h"
#include "include/jtc.h"

#define MAX_IO 64

static const struct { const char *dtype, *npy; } npy_types[] = {
  {"float32", "<f4"}, {"float64", "<f8"}, {"float16", "<f2"}, {"int8", "|i1"}, {"int16", "<i2"}, {"int32", "<i4"},
  {"int64", "<i8"}, {"uint8", "|u1"}, {"uint16", "<u2"}, {"uint32", "<u4"}, {"uint64", "<u8"}, {"bool", "|b1"},
};

static int64_t numel_of(int rank, const int64_t *dims) { /* dims already checked by the file reader */
  int64_t n = 1;
  for (int d = 0; d < rank; d++) n *= dims[d];
  return n;
}

static const char *npy_descr(const char *dtype) {
  for (size_t k = 0; k < sizeof npy_types / sizeof npy_types[0]; k++)
    if (!strcmp(npy_types[k].dtype, dtype)) return npy_types[k].npy;
  return NULL;
}

static int shape_str(char *buf, size_t n, int rank, const int64_t *dims) {
  int len = snprintf(buf, n, "[");
  for (int d = 0; d < rank && len < (int)n; d++) len += snprintf(buf + len, n - (size_t)len, "%s%" PRId64, d ? "," : "", dims[d]);
  return len + snprintf(buf + len, n > (size_t)len ? n - (size_t)len : 0, "]");
}

/* A .npy file's dtype, shape and data (malloc'ed); 0, or -1 with err. Only C order. */
static int read_npy(const char *path, char dtype[16], int *rank, int64_t dims[IR_MAX_RANK], void **data, size_t *bytes,
                    char *err, size_t errlen) {
  FILE *f = fopen(path, "rb");
  if (!f) { snprintf(err, errlen, "%s: cannot open", path); return -1; }
  unsigned char head[12];
  char *hdr = NULL;
  int rc = -1;
  if (fread(head, 1, 10, f) != 10 || memcmp(head, "\x93NUMPY", 6)) { snprintf(err, errlen, "%s: not a .npy file", path); goto out; }
  size_t hl = head[8] | (size_t)head[9] << 8;
  if (head[6] >= 2) {
    if (fread(head + 10, 1, 2, f) != 2) { snprintf(err, errlen, "%s: truncated header", path); goto out; }
    hl |= (size_t)head[10] << 16 | (size_t)head[11] << 24;
  }
  if (hl > 1 << 20 || !(hdr = calloc(1, hl + 1)) || fread(hdr, 1, hl, f) != hl) { snprintf(err, errlen, "%s: bad header", path); goto out; }
  const char *d = strstr(hdr, "'descr'"), *fo = strstr(hdr, "'fortran_order'"), *sh = strstr(hdr, "'shape'");
  if (!d || !fo || !sh || !(d = strchr(d + 7, '\'')) || !(sh = strchr(sh, '('))) { snprintf(err, errlen, "%s: bad header", path); goto out; }
  if (strstr(fo, "True")) { snprintf(err, errlen, "%s: Fortran order is not supported", path); goto out; }
  const char *descr_end = strchr(d + 1, '\'');
  size_t dl = descr_end ? (size_t)(descr_end - d - 1) : 99;
  dtype[0] = 0;
  for (size_t k = 0; k < sizeof npy_types / sizeof npy_types[0]; k++)
    if (strlen(npy_types[k].npy) == dl && !strncmp(d + 1, npy_types[k].npy, dl)) snprintf(dtype, 16, "%s", npy_types[k].dtype);
  if (!dtype[0]) { snprintf(err, errlen, "%s: dtype %.*s is not supported", path, (int)(dl < 16 ? dl : 16), d + 1); goto out; }
  *rank = 0;
  size_t numel = 1;
  for (const char *s = sh + 1; *s && *s != ')';) {
    char *end;
    long long v = strtoll(s, &end, 10);
    if (end == s) { s++; continue; }
    if (*rank == IR_MAX_RANK || v < 0 || (v && numel > ((size_t)1 << 40) / (size_t)v)) { snprintf(err, errlen, "%s: bad shape", path); goto out; }
    dims[(*rank)++] = v;
    numel *= (size_t)v;
    s = end;
  }
  size_t es = dt_size(dt_from_name(dtype, strlen(dtype)));
  *bytes = numel * es;
  *data = malloc(*bytes ? *bytes : 1);
  if (!*data || fread(*data, 1, *bytes, f) != *bytes) { snprintf(err, errlen, "%s: truncated data", path); free(*data); *data = NULL; goto out; }
  rc = 0;
out:
  free(hdr);
  fclose(f);
  return rc;
}

static int write_npy(const char *path, const char *dtype, int rank, const int64_t *dims, const void *data, size_t bytes) {
  const char *descr = npy_descr(dtype);
  FILE *f = fopen(path, "wb");
  if (!f || !descr) { if (f) fclose(f); return -1; }
  char h[512], sh[256];
  int sl = 0;
  for (int d = 0; d < rank; d++) sl += snprintf(sh + sl, sizeof sh - (size_t)sl, "%" PRId64 ",%s", dims[d], d + 1 < rank ? " " : "");
  sh[sl] = 0;
  int n = snprintf(h, sizeof h, "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", descr, sh);
  while ((10 + n + 1) % 64) h[n++] = ' ';
  h[n++] = '\n';
  unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)n, (unsigned char)(n >> 8)};
  bool ok = fwrite(pre, 1, 10, f) == 10 && fwrite(h, 1, (size_t)n, f) == (size_t)n && fwrite(data, 1, bytes, f) == bytes;
  return fclose(f) == 0 && ok ? 0 : -1;
}

/* An input file (.npy or .pb) that must match input k's dtype and shape; malloc'ed data or NULL. */
static void *load_input(jtc_model *m, int k, const char *path, char *err, size_t errlen) {
  char dtype[16];
  int rank, mr;
  int64_t dims[IR_MAX_RANK];
  void *data = NULL;
  size_t bytes = 0, len = strlen(path);
  if (len > 4 && !strcmp(path + len - 4, ".npy")) {
    if (read_npy(path, dtype, &rank, dims, &data, &bytes, err, errlen)) return NULL;
  } else {
    Dtype dt;
    if (onnx_read_tensor_file(path, &dt, &rank, dims, &data, err, errlen)) return NULL;
    snprintf(dtype, sizeof dtype, "%s", dt_name(dt));
    bytes = (size_t)numel_of(rank, dims) * dt_size(dt);
  }
  const int64_t *md = jtc_input_shape(m, k, &mr);
  bool same = !strcmp(dtype, jtc_input_dtype(m, k)) && rank == mr && bytes == jtc_input_size(m, k);
  for (int d = 0; same && d < rank; d++) same = dims[d] == md[d];
  if (!same) {
    char a[256], b[256];
    shape_str(a, sizeof a, rank, dims);
    shape_str(b, sizeof b, mr, md);
    snprintf(err, errlen, "%s holds %s%s; input '%s' is %s%s", path, dtype, a, jtc_input_name(m, k), jtc_input_dtype(m, k), b);
    free(data);
    return NULL;
  }
  if (!data) data = calloc(1, 1);
  return data;
}

static void *random_input(jtc_model *m, int k, uint64_t *rng) {
  size_t bytes = jtc_input_size(m, k);
  const char *t = jtc_input_dtype(m, k);
  unsigned char *p = calloc(1, bytes ? bytes : 1);
  size_t es = dt_size(dt_from_name(t, strlen(t)));
  for (size_t i = 0; p && i < bytes / es; i++) {
    *rng ^= *rng << 13, *rng ^= *rng >> 7, *rng ^= *rng << 17;
    double u = (double)(*rng >> 11) * 0x1p-53;
    if (!strcmp(t, "float32")) ((float *)p)[i] = (float)(2 * u - 1);
    else if (!strcmp(t, "float64")) ((double *)p)[i] = 2 * u - 1;
    else if (!strcmp(t, "bool")) p[i] = u < 0.5;
    else if (es == 8) ((int64_t *)p)[i] = (int64_t)(u * 10);
    else if (es == 4) ((int32_t *)p)[i] = (int32_t)(u * 10);
    else if (es == 2 && strcmp(t, "float16") && strcmp(t, "bfloat16")) ((int16_t *)p)[i] = (int16_t)(u * 10);
    else if (es == 1) p[i] = (unsigned char)(u * 10);
  }
  return p;
}

static double now_ms(void) {
  struct timespec ts;
  timespec_get(&ts, TIME_UTC);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Compare output k with a .pb reference; returns the number of mismatching elements (printing a few). */
static long compare(jtc_model *m, int k, const void *got, const char *ref, char *err, size_t errlen) {
  Dtype dt;
  int rank;
  int64_t dims[IR_MAX_RANK];
  void *want = NULL;
  if (onnx_read_tensor_file(ref, &dt, &rank, dims, &want, err, errlen)) return -1;
  int64_t n = numel_of(rank, dims);
  if (strcmp(dt_name(dt), jtc_output_dtype(m, k)) || (size_t)n * dt_size(dt) != jtc_output_size(m, k)) {
    snprintf(err, errlen, "%.2000s is %s with %" PRId64 " elements; output '%s' is %s of %zu bytes", ref, dt_name(dt), n,
             jtc_output_name(m, k), jtc_output_dtype(m, k), jtc_output_size(m, k));
    free(want);
    return -1;
  }
  long bad = 0;
  for (int64_t i = 0; i < n; i++) {
    Scalar a = dt_load(got, dt, i), b = dt_load(want, dt, i);
    bool ok = dt_is_float(dt) ? (a.f == b.f || (a.f != a.f && b.f != b.f) || fabs(a.f - b.f) <= 1e-7 + 1e-3 * fabs(b.f)) : a.i == b.i;
    if (!ok && bad++ < 3)
      printf("    output '%s'[%" PRId64 "]: got %.9g, want %.9g\n", jtc_output_name(m, k), i, dt_is_float(dt) ? a.f : (double)a.i,
             dt_is_float(dt) ? b.f : (double)b.i);
  }
  free(want);
  return bad;
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The files DIR/PREFIX<k>.pb for k = 0, 1, ...; returns how many exist in a row. */
static int numbered(const char *dir, const char *prefix, char paths[][8300], int max) {
  int n = 0;
  for (; n < max; n++) {
    snprintf(paths[n], 8300, "%s/%s%d.pb", dir, prefix, n);
    FILE *f = fopen(paths[n], "rb");
    if (!f) break;
    fclose(f);
  }
  return n;
}

/* String tensors go through the generated C API (arrays of const char *), not jtc run's
 * dense files: 1 with a message (and m freed) if the model has one. */
static int refuse_strings(jtc_model *m) {
  for (int k = 0; k < jtc_num_inputs(m) + jtc_num_outputs(m); k++) {
    bool in = k < jtc_num_inputs(m);
    int j = in ? k : k - jtc_num_inputs(m);
    if (strcmp(in ? jtc_input_dtype(m, j) : jtc_output_dtype(m, j), "string")) continue;
    fprintf(stderr, "jtc run: %s '%s' is a string tensor; jtc run handles numeric tensors only (use the generated C API)\n",
            in ? "input" : "output", in ? jtc_input_name(m, j) : jtc_output_name(m, j));
    jtc_free(m);
    return 1;
  }
  return 0;
}

static int run_test_folder(const char *dir) {
  char model[4096], err[4096];
  snprintf(model, sizeof model, "%s/model.onnx", dir);
  jtc_model *m;
  int rc = jtc_load(model, NULL, &m, err, sizeof err);
  if (rc) { fprintf(stderr, "jtc run: %s\n", err); return rc; }
  if (refuse_strings(m)) return 1;
  DIR *d = opendir(dir);
  char **sets = NULL;
  int nsets = 0, failed = 0;
  for (struct dirent *e; d && (e = readdir(d));)
    if (!strncmp(e->d_name, "test_data_set_", 14)) {
      sets = realloc(sets, (size_t)(nsets + 1) * sizeof *sets);
      sets[nsets++] = strdup(e->d_name);
    }
  if (d) closedir(d);
  if (nsets) qsort(sets, (size_t)nsets, sizeof *sets, by_name);
  static char ins[MAX_IO][8300], outs[MAX_IO][8300];
  for (int s = 0; s < nsets; s++) {
    char sd[8192];
    snprintf(sd, sizeof sd, "%s/%s", dir, sets[s]);
    int ni = numbered(sd, "input_", ins, MAX_IO), no = numbered(sd, "output_", outs, MAX_IO);
    void *in[MAX_IO] = {0}, *out[MAX_IO] = {0};
    long bad = 0;
    err[0] = 0;
    if (ni != jtc_num_inputs(m) || no != jtc_num_outputs(m)) {
      snprintf(err, sizeof err, "%d input and %d output files; the model has %d inputs and %d outputs", ni, no, jtc_num_inputs(m),
               jtc_num_outputs(m));
      bad = -1;
    }
    for (int k = 0; k < ni && bad == 0; k++)
      if (!(in[k] = load_input(m, k, ins[k], err, sizeof err))) bad = -1;
    for (int k = 0; k < no && bad == 0; k++) out[k] = calloc(1, jtc_output_size(m, k) + 1);
    if (bad == 0 && jtc_run(m, (const void *const *)in, out)) { snprintf(err, sizeof err, "%s", jtc_error(m)); bad = -1; }
    for (int k = 0; k < no && bad >= 0; k++) {
      long b = compare(m, k, out[k], outs[k], err, sizeof err);
      bad = b < 0 ? -1 : bad + b;
    }
    if (bad) printf("FAIL %s: %s\n", sets[s], bad < 0 ? err : "outputs differ from the reference");
    else printf("PASS %s\n", sets[s]);
    failed += bad != 0;
    for (int k = 0; k < MAX_IO; k++) { free(in[k]); free(out[k]); }
    free(sets[s]);
  }
  free(sets);
  jtc_free(m);
  if (!nsets) { fprintf(stderr, "jtc run: %s has no test_data_set_* folders\n", dir); return 1; }
  printf("%d of %d test data sets match\n", nsets - failed, nsets);
  return failed ? 1 : 0;
}

static _Noreturn void run_usage(const char *why) {
  fprintf(stderr, "jtc run: %s\nusage: jtc run MODEL.onnx [--input NAME=FILE ...] [--output-dir DIR] [--iters N]\n"
                  "       jtc run DIR   (ONNX test layout: DIR/model.onnx and DIR/test_data_set_*)\n", why);
  exit(2);
}

int jtc_run_command(int argc, char **argv) {
  const char *model = NULL, *outdir = NULL, *in_name[MAX_IO], *in_file[MAX_IO];
  int nin = 0;
  long iters = 0;
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--input") && i + 1 < argc) {
      const char *v = argv[++i], *eq = strchr(v, '=');
      if (!eq || eq == v || nin == MAX_IO) run_usage("--input needs NAME=FILE");
      in_name[nin] = strndup(v, (size_t)(eq - v));
      in_file[nin++] = eq + 1;
    } else if (!strcmp(a, "--output-dir") && i + 1 < argc) outdir = argv[++i];
    else if (!strcmp(a, "--iters") && i + 1 < argc) {
      char *end;
      iters = strtol(argv[++i], &end, 10);
      if (*end || iters < 1 || iters > 1000000) run_usage("--iters needs a count from 1 to 1000000");
    } else if (a[0] == '-') run_usage("unknown option");
    else if (model) run_usage("more than one model");
    else model = a;
  }
  if (!model) run_usage("no model given");
  DIR *isdir = opendir(model);
  if (isdir) {
    closedir(isdir);
    if (nin || outdir || iters) run_usage("a test folder takes no other options");
    return run_test_folder(model);
  }
  char err[4096];
  jtc_model *m;
  double t0 = now_ms();
  int rc = jtc_load(model, NULL, &m, err, sizeof err);
  if (rc) {
    fprintf(stderr, "jtc run: %s\n", err);
    for (int j = 0; j < nin; j++) free((char *)in_name[j]);
    return rc;
  }
  if (refuse_strings(m)) {
    for (int j = 0; j < nin; j++) free((char *)in_name[j]);
    return 1;
  }
  fprintf(stderr, "jtc run: %s %s in %.1f ms\n", model, jtc_was_cached(m) ? "loaded from the cache" : "compiled", now_ms() - t0);
  int ni = jtc_num_inputs(m), no = jtc_num_outputs(m);
  if (ni > MAX_IO || no > MAX_IO) {
    jtc_free(m);
    for (int j = 0; j < nin; j++) free((char *)in_name[j]);
    fprintf(stderr, "jtc run: more than %d inputs or outputs\n", MAX_IO);
    return 1;
  }
  void *in[MAX_IO] = {0}, *out[MAX_IO] = {0};
  uint64_t rng = 0x9E3779B97F4A7C15ULL;
  rc = 0;
  for (int j = 0; j < nin && !rc; j++) {
    int k = 0;
    while (k < ni && strcmp(jtc_input_name(m, k), in_name[j])) k++;
    if (k == ni) { fprintf(stderr, "jtc run: the model has no input '%s'\n", in_name[j]); rc = 1; }
    else if (!(in[k] = load_input(m, k, in_file[j], err, sizeof err))) { fprintf(stderr, "jtc run: %s\n", err); rc = 1; }
  }
  for (int k = 0; k < ni && !rc; k++)
    if (!in[k]) {
      in[k] = random_input(m, k, &rng);
      fprintf(stderr, "jtc run: input '%s': random\n", jtc_input_name(m, k));
    }
  for (int k = 0; k < no && !rc; k++) out[k] = calloc(1, jtc_output_size(m, k) + 1);
  if (!rc && jtc_run(m, (const void *const *)in, out)) { fprintf(stderr, "jtc run: %s\n", jtc_error(m)); rc = 4; }
  for (int k = 0; k < no && !rc; k++) {
    int r;
    const int64_t *dims = jtc_output_shape(m, k, &r);
    char sh[256];
    shape_str(sh, sizeof sh, r, dims);
    if (outdir) {
      char path[8192], name[256];
      snprintf(name, sizeof name, "%s", jtc_output_name(m, k));
      for (char *c = name; *c; c++)
        if (*c == '/' || *c == '\\') *c = '_';
      snprintf(path, sizeof path, "%s/%s.npy", outdir, name);
      if (write_npy(path, jtc_output_dtype(m, k), r, dims, out[k], jtc_output_size(m, k))) {
        fprintf(stderr, "jtc run: cannot write %s\n", path);
        rc = 1;
      } else {
        printf("output '%s': %s%s -> %s\n", jtc_output_name(m, k), jtc_output_dtype(m, k), sh, path);
      }
    } else {
      printf("output '%s': %s%s", jtc_output_name(m, k), jtc_output_dtype(m, k), sh);
      if (!strcmp(jtc_output_dtype(m, k), "float32"))
        for (size_t i = 0; i < 4 && i < jtc_output_size(m, k) / 4; i++) printf("%s%g", i ? " " : ": ", ((float *)out[k])[i]);
      printf("\n");
    }
  }
  if (!rc && iters) {
    double *t = malloc((size_t)iters * sizeof *t);
    for (long i = 0; t && i < iters && !rc; i++) {
      double s = now_ms();
      if (jtc_run(m, (const void *const *)in, out)) { fprintf(stderr, "jtc run: %s\n", jtc_error(m)); rc = 4; }
      t[i] = now_ms() - s;
    }
    if (t && !rc) {
      qsort(t, (size_t)iters, sizeof *t, cmp_double);
      printf("%ld runs: median %.3f ms, min %.3f ms, p90 %.3f ms\n", iters, t[iters / 2], t[0], t[(iters * 9) / 10 < iters ? (iters * 9) / 10 : iters - 1]);
    }
    free(t);
  }
  for (int k = 0; k < MAX_IO; k++) { free(in[k]); free(out[k]); }
  for (int j = 0; j < nin; j++) free((char *)in_name[j]);
  jtc_free(m);
  return rc;
}
