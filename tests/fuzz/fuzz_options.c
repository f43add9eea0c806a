/* fuzz_options.c: bytes -> the command line's value parsers (cli/args.c, the
 * code jtc's main uses) and the files the options name:
 *   --shape NAME=D0,D1   args_parse_shape, then as an override of a model's input
 *   --bind/--seq NAME=F  args_parse_bind; F is read as a TensorProto (--bind) and as
 *                        a SequenceProto/OptionalProto (--seq, onnx_read_value_file)
 *   --embed-limit=N etc. args_parse_count
 *   --weights F          jtpy_load_weights, then applied to the model (names,
 *                        dtypes and shapes checked) and reported (jtpy_weights_report)
 *   -o/--name            args_stem_of, args_prefix_of, args_is_identifier
 * Input: MODEL-BYTE SHAPE \0 BIND-NAME \0 COUNT \0 FILE-BYTES. The model (by
 * MODEL-BYTE % 5) is a small committed one, so run from the repository root.
 * Each parser's result is checked against what its contract promises. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "frontend/jtpy/jtpy.h"
#include "tests/fuzz/fuzz.h"

static const char *const models[] = {
  "samples/mlp/model.onnx",            /* input; initializers layer1.weight ... (--weights) */
  "tests/data/onnx/shape_chain.onnx",  /* X */
  "tests/data/onnx/symbolic_batch.onnx", /* X, symbolic batch (--shape) */
  "tests/data/seq/seq_opt_input.onnx", /* O: an optional input (--seq) */
  "/usr/share/libonnx-testdata/data/node/test_reshape_reordered_all_dims/model.onnx", /* data, shape (--bind) */
};

/* The next NUL-terminated field of in (a copy), or the rest if there is no NUL. */
static char *field(FuzzIn *in) {
  const uint8_t *z = memchr(in->p, 0, in->n);
  size_t n = z ? (size_t)(z - in->p) : in->n;
  char *s = strndup((const char *)in->p, n);
  in->p += n + (z ? 1 : 0);
  in->n -= n + (z ? 1 : 0);
  return s;
}

static void check_shape(const char *arg) {
  OnnxShapeOverride s;
  int rc = args_parse_shape(arg, &s);
  const char *eq = strrchr(arg, '=');
  if (rc == 0) {
    if (!eq || eq == arg || !s.name || strlen(s.name) != (size_t)(eq - arg) || memcmp(s.name, arg, (size_t)(eq - arg)))
      fuzz_fail("--shape '%s': parsed name '%s' is not the text before the last '='", arg, s.name ? s.name : "(null)");
    if (s.rank < 0 || s.rank > IR_MAX_RANK) fuzz_fail("--shape '%s': rank %d", arg, s.rank);
    for (int k = 0; k < s.rank; k++)
      if (s.dims[k] < 0 || s.dims[k] > ((int64_t)1 << 40)) fuzz_fail("--shape '%s': dim %d is %lld", arg, k, (long long)s.dims[k]);
    /* the dims printed back are the text after '=' (up to leading zeros) */
    int commas = 0;
    for (const char *p = eq + 1; *p; p++) commas += *p == ',';
    if (eq[1] && commas + 1 != s.rank) fuzz_fail("--shape '%s': %d dims from %d commas", arg, s.rank, commas);
  } else if (eq && eq != arg && !eq[1]) {
    fuzz_fail("--shape '%s' (a scalar) was refused", arg);
  }
  free((char *)s.name);
}

static void check_bind(const char *arg) {
  OnnxBind b;
  int rc = args_parse_bind(arg, &b);
  const char *eq = strchr(arg, '=');
  bool want = eq && eq != arg && eq[1];
  if ((rc == 0) != want) fuzz_fail("--bind '%s': parse returned %d", arg, rc);
  if (rc == 0 && (strlen(b.name) != (size_t)(eq - arg) || b.path != eq + 1))
    fuzz_fail("--bind '%s': name '%s' or path '%s' is wrong", arg, b.name, b.path);
  free((char *)b.name);
}

static void check_count(const char *arg) {
  int64_t v = -1;
  int rc = args_parse_count(arg, INT64_MAX, &v);
  bool digits = *arg != 0;
  for (const char *p = arg; *p; p++) digits &= isdigit((unsigned char)*p) != 0;
  errno = 0;
  long long ref = digits ? strtoll(arg, NULL, 10) : -1;
  bool want = digits && errno == 0;
  if ((rc == 0) != want) fuzz_fail("count '%s': parse returned %d", arg, rc);
  if (rc == 0 && v != ref) fuzz_fail("count '%s': parsed %lld", arg, (long long)v);
  int64_t small;
  if (args_parse_count(arg, 1000, &small) == 0 && (small < 0 || small > 1000)) fuzz_fail("count '%s': %lld > max", arg, (long long)small);
}

static void check_names(const char *arg) {
  char *stem = args_stem_of(arg);
  char *prefix = args_prefix_of(stem);
  if (!prefix[0] || isdigit((unsigned char)prefix[0])) fuzz_fail("prefix of '%s' is '%s'", arg, prefix);
  for (const char *p = prefix; *p; p++)
    if (!isalnum((unsigned char)*p) && *p != '_') fuzz_fail("prefix of '%s' is '%s'", arg, prefix);
  if (strlen(prefix) <= 40 && !args_is_identifier(prefix)) fuzz_fail("prefix '%s' is not an identifier", prefix);
  (void)args_is_identifier(arg);
  free(stem);
  free(prefix);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  FuzzIn in = {data, size};
  const char *model = models[fz_u8(&in) % 5];
  char *shape = field(&in), *bind_name = field(&in), *count = field(&in);
  check_shape(shape);
  check_bind(shape);
  check_count(count);
  check_names(shape);
  check_names(bind_name);

  const char *path = fuzz_write("option.file", in.p, in.n);
  char err[512];
  OnnxValueData v;
  for (int k = 0; k < 3; k++)
    if (onnx_read_value_file(path, (OnnxValueKind)k, &v, err, sizeof err) == 0) onnx_value_data_free(&v);

  /* the whole command: jtc MODEL --shape SHAPE --bind NAME=F --seq NAME=F --weights F */
  OnnxShapeOverride ov;
  bool have_shape = args_parse_shape(shape, &ov) == 0;
  char *bind_arg = malloc(strlen(bind_name) + strlen(path) + 2);
  sprintf(bind_arg, "%s=%s", bind_name, path);
  OnnxBind b = {0};
  bool have_bind = args_parse_bind(bind_arg, &b) == 0;
  OnnxOptions opt = {.shapes = &ov, .nshapes = have_shape, .binds = &b, .nbinds = have_bind, .seqs = &b, .nseqs = have_bind,
                     .max_nodes = 1 << 14};
  JtpyWeights *w = jtpy_load_weights_max(path, 64 << 20);
  if (w) {
    opt.weights = w->w;
    opt.nweights = w->n;
    opt.weights_used = calloc((size_t)w->n + 1, sizeof(bool));
  }
  Graph *g = onnx_load(model, &opt);
  if (w && g) {
    static FILE *devnull;
    if (!devnull) devnull = fopen("/dev/null", "w");
    jtpy_weights_report(w, opt.weights_used, path, devnull);
  }
  ir_graph_free(g);
  jtpy_weights_free(w);
  free(opt.weights_used);
  free((char *)ov.name);
  free((char *)b.name);
  free(bind_arg);
  free(shape);
  free(bind_name);
  free(count);
  return 0;
}
