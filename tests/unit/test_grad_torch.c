/* test_grad_torch.c: pass_grad (passes/autodiff.c) against PyTorch autograd,
 * one CMocka test per case, the cases grouped by op-constructor family: conv,
 * conv_transpose, matmul/gemm, pooling, softmax, normalization, activations,
 * element-wise math, layout, gather/cumsum, reductions, where, losses and two
 * composites. References come from tests/data/grad/make_grad_fixtures.py: each
 * tests/data/grad/<case>.txt holds seeded random float32 inputs, the loss
 * weights lw, PyTorch's y and the gradients of L = sum(y * lw) by autograd
 * (float64 on the same float32 values). Here the same y is built from the
 * ir/ops.h constructors on float32 ir_inputs, L from MAP mul and a SCATTER-add
 * reduction, and pass_grad's gradients are evaluated by ir_eval_graph; y and
 * every gradient element must satisfy |got - want| <= 1e-4 + 1e-3 |want|.
 * A case whose gradient jtc gets wrong carries the reason in `skip` and is
 * skipped with it printed. Run from the repository root. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/ops.h"
#include "passes/passes.h"

#define FIX_DIR "tests/data/grad/"
#define MAX_ARRAYS 16
#define MAX_WRT 6
#define TOL_ABS 1e-4
#define TOL_REL 1e-3
#define MAX_PRINTED 8 /* mismatches printed per tensor */

typedef struct {
  char name[32];
  int rank;
  int64_t dims[IR_MAX_RANK];
  int64_t numel;
  double *v;
} Array;

typedef struct {
  int n;
  Array a[MAX_ARRAYS];
} Fixture;

typedef struct Ctx Ctx;
typedef Node *(*Build)(Ctx *c);

typedef struct {
  const char *family, *name;
  const char *wrt[MAX_WRT + 1]; /* the differentiated inputs, NULL-terminated */
  Build build;
  const char *skip;             /* a known jtc bug: printed, the case skipped */
} Case;

struct Ctx {
  Graph *g;
  const Case *k;
  Fixture *f;
  Node *in[MAX_WRT];
};

/* Outcome of one case, outside the setjmp frame. */
static struct {
  int bad;
  char msg[1024]; /* the reasons, "; "-separated */
} rep;

static void report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void report(const char *fmt, ...) {
  size_t k = strlen(rep.msg);
  if (rep.bad++ && k + 3 < sizeof rep.msg) k += (size_t)snprintf(rep.msg + k, sizeof rep.msg - k, "; ");
  if (k + 1 >= sizeof rep.msg) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(rep.msg + k, sizeof rep.msg - k, fmt, ap);
  va_end(ap);
}

/* ---- the fixture file ---- */

/* Next whitespace-separated token, skipping '#' comment lines; NULL at the end. */
static char *token(char **p) {
  char *s = *p;
  for (;;) {
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') s++;
    if (*s != '#') break;
    while (*s && *s != '\n') s++;
  }
  if (!*s) {
    *p = s;
    return NULL;
  }
  char *t = s;
  while (*s && *s != ' ' && *s != '\t' && *s != '\n' && *s != '\r') s++;
  if (*s) *s++ = '\0';
  *p = s;
  return t;
}

static bool parse_int(const char *t, long long lo, long long hi, long long *v) {
  char *end;
  if (!t) return false;
  *v = strtoll(t, &end, 10);
  return *end == '\0' && end != t && *v >= lo && *v <= hi;
}

/* Read tests/data/grad/<name>.txt into f (buffers in g's arena); false with rep set on error. */
static bool load_fixture(Graph *g, const char *name, Fixture *f) {
  char path[256];
  snprintf(path, sizeof path, FIX_DIR "%s.txt", name);
  FILE *fp = fopen(path, "rb");
  if (!fp) {
    report("%s: cannot open (run from the repository root; make it with tests/data/grad/make_grad_fixtures.py)", path);
    return false;
  }
  fseek(fp, 0, SEEK_END);
  long size = ftell(fp);
  fseek(fp, 0, SEEK_SET);
  char *text = ir_alloc(g, (size_t)(size > 0 ? size : 0) + 1);
  size_t got = size > 0 ? fread(text, 1, (size_t)size, fp) : 0;
  fclose(fp);
  if (size < 0 || got != (size_t)size) {
    report("%s: read error", path);
    return false;
  }
  text[got] = '\0';
  char *p = text, *t;
  f->n = 0;
  while ((t = token(&p))) {
    if (f->n == MAX_ARRAYS) {
      report("%s: more than %d arrays", path, MAX_ARRAYS);
      return false;
    }
    Array *a = &f->a[f->n++];
    if (strlen(t) >= sizeof a->name) {
      report("%s: array name '%.40s' is too long", path, t);
      return false;
    }
    strcpy(a->name, t);
    long long v;
    if (!parse_int(token(&p), 0, IR_MAX_RANK, &v)) {
      report("%s: array %s: bad rank", path, a->name);
      return false;
    }
    a->rank = (int)v;
    a->numel = 1;
    for (int d = 0; d < a->rank; d++) {
      if (!parse_int(token(&p), 1, 1 << 20, &v)) {
        report("%s: array %s: bad dim %d", path, a->name, d);
        return false;
      }
      a->dims[d] = v;
      a->numel *= v;
    }
    if (a->numel > 1 << 20) {
      report("%s: array %s is too large", path, a->name);
      return false;
    }
    a->v = ir_alloc_array(g, (size_t)a->numel, sizeof(double));
    for (int64_t i = 0; i < a->numel; i++) {
      char *end;
      const char *s = token(&p);
      if (s) a->v[i] = strtod(s, &end);
      if (!s || *end != '\0' || end == s || !isfinite(a->v[i])) {
        report("%s: array %s: value %lld is missing or not a finite number", path, a->name, (long long)i);
        return false;
      }
    }
  }
  return true;
}

static Array *find(Fixture *f, const char *name) {
  for (int i = 0; i < f->n; i++)
    if (!strcmp(f->a[i].name, name)) return &f->a[i];
  return NULL;
}

/* An array the case needs: missing is an error (through ir_fail, caught by the runner). */
static Array *need(Ctx *c, const char *name) {
  Array *a = find(c->f, name);
  if (!a) ir_fail(c->g, "fixture %s has no array '%s'", c->k->name, name);
  return a;
}

/* The differentiated input `name` (an ir_input made by the runner). */
static Node *in(Ctx *c, const char *name) {
  for (int i = 0; c->k->wrt[i]; i++)
    if (!strcmp(c->k->wrt[i], name)) return c->in[i];
  ir_fail(c->g, "case %s: '%s' is not one of its inputs", c->k->name, name);
}

/* The fixture array `name` as a constant of dtype t (floats, int64 indices, bool conditions). */
static Node *cst(Ctx *c, const char *name, Dtype t) {
  Array *a = need(c, name);
  void *buf = ir_alloc_array(c->g, (size_t)a->numel, dt_size(t));
  for (int64_t i = 0; i < a->numel; i++)
    dt_store(buf, t, i, dt_is_float(t) ? sc_f(a->v[i]) : sc_i((int64_t)llround(a->v[i])));
  return ir_const(c->g, t, a->rank, a->dims, buf);
}

static Node *f32(Graph *g, double v) { return ir_scalar(g, DT_F32, v); }

/* ---- comparing ---- */

static const char *fmt_index(char *buf, size_t n, const Array *a, int64_t i) {
  int64_t idx[IR_MAX_RANK];
  for (int d = a->rank - 1; d >= 0; d--) {
    idx[d] = i % a->dims[d];
    i /= a->dims[d];
  }
  size_t k = (size_t)snprintf(buf, n, "[");
  for (int d = 0; d < a->rank && k < n; d++) k += (size_t)snprintf(buf + k, n - k, "%s%lld", d ? "," : "", (long long)idx[d]);
  if (k < n) snprintf(buf + k, n - k, "]");
  return buf;
}

/* got (float32, node n's shape) against the reference array; prints every mismatch up to MAX_PRINTED. */
static void compare(const char *kase, const Node *n, const float *got, const Array *want) {
  bool same = n->rank == want->rank;
  for (int d = 0; same && d < n->rank; d++) same = n->dims[d] == want->dims[d];
  if (!same) {
    report("%s: %s: jtc's shape (rank %d, %lld elements) is not PyTorch's (rank %d, %lld elements)", kase, want->name,
           n->rank, (long long)n->numel, want->rank, (long long)want->numel);
    return;
  }
  int64_t bad = 0;
  double worst = 0;
  for (int64_t i = 0; i < want->numel; i++) {
    double g = got[i], w = want->v[i], err = fabs(g - w);
    if (err <= TOL_ABS + TOL_REL * fabs(w)) continue; /* NaN falls through */
    if (bad++ < MAX_PRINTED) {
      char ib[128];
      print_error("%s: %s%s (flat %lld): got %.8g, want %.8g (diff %.3g)\n", kase, want->name,
                  fmt_index(ib, sizeof ib, want, i), (long long)i, g, w, g - w);
    }
    if (!(err <= worst)) worst = err;
  }
  if (bad)
    report("%s: %s: %lld of %lld elements differ (largest |diff| %.3g)%s", kase, want->name, (long long)bad,
           (long long)want->numel, worst, strcmp(want->name, "y") ? "" : ": the forward value, check the semantics");
}

/* ---- the runner ---- */

static void run_body(Graph *g, const Case *k) {
  Fixture *f = ir_alloc(g, sizeof *f);
  if (!load_fixture(g, k->name, f)) return;
  Ctx c = {.g = g, .k = k, .f = f};
  int nx = 0;
  void *inbuf[MAX_WRT];
  for (; k->wrt[nx]; nx++) {
    Array *a = need(&c, k->wrt[nx]);
    c.in[nx] = ir_input(g, k->wrt[nx], DT_F32, a->rank, a->dims);
    float *b = ir_alloc_array(g, (size_t)a->numel, sizeof(float));
    for (int64_t i = 0; i < a->numel; i++) b[i] = (float)a->v[i];
    inbuf[nx] = b;
  }
  Node *y = k->build(&c);
  Array *ya = need(&c, "y");
  if (y->dtype != DT_F32) ir_fail(g, "y is %s, not float32", dt_name(y->dtype));
  Node *wy = ir_binary(g, MAP_MUL, y, cst(&c, "lw", DT_F32));
  int axes[IR_MAX_RANK];
  for (int d = 0; d < wy->rank; d++) axes[d] = d;
  Node *loss = ir_reduce(g, wy, RED_ADD, wy->rank, axes, false);
  Node **gr = pass_grad(g, loss, NULL, nx, c.in);
  ir_mark_output(g, y, "y");
  Array *want[MAX_WRT];
  for (int i = 0; i < nx; i++) {
    char name[48];
    snprintf(name, sizeof name, "grad_%s", k->wrt[i]);
    want[i] = need(&c, name);
    ir_mark_output(g, gr[i], ir_strdup(g, name));
  }
  void *out[MAX_WRT + 1];
  ir_eval_graph(g, inbuf, out);
  compare(k->name, y, out[0], ya);
  for (int i = 0; i < nx; i++) compare(k->name, gr[i], out[1 + i], want[i]);
}

static void run_case(void **state) {
  const Case *k = *state;
  if (k->skip) {
    print_message("[  SKIP    ] %s (%s): known jtc bug: %s\n", k->name, k->family, k->skip);
    skip();
  }
  rep.bad = 0;
  rep.msg[0] = '\0';
  Graph *g = ir_graph_new();
  jmp_buf jb;
  g->on_error = &jb;
  if (setjmp(jb) == 0) run_body(g, k);
  else report("%s: jtc failed: %s", k->name, g->errmsg);
  ir_graph_free(g);
  if (rep.bad) fail_msg("%s", rep.msg);
}

/* ---- the cases (the same ops and attributes as make_grad_fixtures.py) ---- */

/* Window attributes as designated initializers; stride, dilation and group left 0 mean 1. */
static const WindowParams *win_defaults(WindowParams *p) {
  for (int s = 0; s < IR_MAX_SPATIAL; s++) {
    if (!p->stride[s]) p->stride[s] = 1;
    if (!p->dilation[s]) p->dilation[s] = 1;
  }
  if (!p->group) p->group = 1;
  return p;
}
#define WIN(...) win_defaults(&(WindowParams){__VA_ARGS__})

/* conv */
static Node *b_conv2d_pad_stride(Ctx *c) {
  return ir_conv(c->g, in(c, "x"), in(c, "w"), in(c, "b"),
                 WIN(.nsp = 2, .kernel = {3, 3}, .stride = {2, 2}, .pad_begin = {1, 1}, .pad_end = {1, 1}));
}
static Node *b_conv2d_asym_dil(Ctx *c) {
  return ir_conv(c->g, in(c, "x"), in(c, "w"), NULL,
                 WIN(.nsp = 2, .kernel = {3, 2}, .stride = {1, 2}, .dilation = {2, 1}, .pad_begin = {2, 0},
                     .pad_end = {1, 1}));
}
static Node *b_conv2d_group(Ctx *c) {
  return ir_conv(c->g, in(c, "x"), in(c, "w"), in(c, "b"),
                 WIN(.nsp = 2, .kernel = {3, 3}, .pad_begin = {1, 1}, .pad_end = {1, 1}, .group = 2));
}
static Node *b_conv2d_depthwise(Ctx *c) {
  return ir_conv(c->g, in(c, "x"), in(c, "w"), in(c, "b"),
                 WIN(.nsp = 2, .kernel = {3, 3}, .stride = {2, 2}, .pad_begin = {1, 1}, .pad_end = {1, 1}, .group = 3));
}
static Node *b_conv1d_pad(Ctx *c) {
  return ir_conv(c->g, in(c, "x"), in(c, "w"), in(c, "b"),
                 WIN(.nsp = 1, .kernel = {3}, .stride = {2}, .pad_begin = {2}, .pad_end = {1}));
}
static Node *b_conv3d(Ctx *c) {
  return ir_conv(c->g, in(c, "x"), in(c, "w"), in(c, "b"),
                 WIN(.nsp = 3, .kernel = {2, 2, 2}, .stride = {2, 2, 2}, .pad_begin = {1, 1, 1}, .pad_end = {1, 1, 1}));
}

/* conv_transpose */
static Node *b_convT2d_stride(Ctx *c) {
  return ir_conv_transpose(c->g, in(c, "x"), in(c, "w"), in(c, "b"),
                           WIN(.nsp = 2, .kernel = {3, 3}, .stride = {2, 2}, .pad_begin = {1, 1}, .pad_end = {1, 1},
                               .output_padding = {1, 1}));
}
static Node *b_convT2d_group_dil(Ctx *c) {
  return ir_conv_transpose(c->g, in(c, "x"), in(c, "w"), NULL,
                           WIN(.nsp = 2, .kernel = {2, 2}, .dilation = {2, 2}, .group = 2));
}

/* matmul, gemm */
static Node *b_matmul(Ctx *c) { return ir_matmul(c->g, in(c, "a"), in(c, "b")); }
static Node *b_gemm_transB(Ctx *c) { return ir_gemm(c->g, in(c, "a"), in(c, "b"), in(c, "c"), 0.7, 1.3, false, true); }
static Node *b_gemm_transA(Ctx *c) { return ir_gemm(c->g, in(c, "a"), in(c, "b"), in(c, "c"), 1.0, 0.5, true, false); }

/* pooling */
static Node *b_maxpool_k3s2p1(Ctx *c) {
  return ir_maxpool(c->g, in(c, "x"), WIN(.nsp = 2, .kernel = {3, 3}, .stride = {2, 2}, .pad_begin = {1, 1}, .pad_end = {1, 1}));
}
static Node *b_maxpool_ceil(Ctx *c) {
  return ir_maxpool(c->g, in(c, "x"), WIN(.nsp = 2, .kernel = {2, 2}, .stride = {2, 2}, .ceil_mode = true));
}
static Node *b_maxpool_overlap_dil(Ctx *c) {
  return ir_maxpool(c->g, in(c, "x"), WIN(.nsp = 2, .kernel = {2, 2}, .dilation = {2, 2}));
}
static Node *b_avgpool_pad_excl(Ctx *c) {
  return ir_avgpool(c->g, in(c, "x"), WIN(.nsp = 2, .kernel = {3, 3}, .stride = {2, 2}, .pad_begin = {1, 1}, .pad_end = {1, 1}));
}
static Node *b_avgpool_pad_incl(Ctx *c) {
  return ir_avgpool(c->g, in(c, "x"),
                    WIN(.nsp = 2, .kernel = {3, 3}, .stride = {2, 2}, .pad_begin = {1, 1}, .pad_end = {1, 1},
                        .count_include_pad = true));
}
static Node *b_global_avgpool(Ctx *c) { return ir_reduce_mean(c->g, in(c, "x"), 2, (int[]){2, 3}, true); }
static Node *b_global_maxpool(Ctx *c) { return ir_reduce(c->g, in(c, "x"), RED_MAX, 2, (int[]){2, 3}, true); }

/* softmax */
static Node *b_softmax_axis1(Ctx *c) { return ir_softmax(c->g, in(c, "x"), 1, false); }
static Node *b_log_softmax_last(Ctx *c) { return ir_softmax(c->g, in(c, "x"), -1, true); }

/* normalization */
static Node *b_layernorm_last(Ctx *c) { return ir_layernorm(c->g, in(c, "x"), in(c, "scale"), in(c, "bias"), -1, 1e-5); }
static Node *b_layernorm_axis1(Ctx *c) { return ir_layernorm(c->g, in(c, "x"), in(c, "scale"), in(c, "bias"), 1, 1e-3); }
static Node *b_batchnorm_infer(Ctx *c) {
  return ir_batchnorm(c->g, in(c, "x"), in(c, "scale"), in(c, "bias"), cst(c, "mean", DT_F32), cst(c, "var", DT_F32), 1e-3);
}

/* activations */
static Node *b_act_relu(Ctx *c) { return ir_relu(c->g, in(c, "x")); }
static Node *b_act_leaky_relu(Ctx *c) { return ir_leaky_relu(c->g, in(c, "x"), 0.1); }
static Node *b_act_elu(Ctx *c) { return ir_elu(c->g, in(c, "x"), 0.7); }
static Node *b_act_selu(Ctx *c) { return ir_selu(c->g, in(c, "x"), 1.6732632423543772848, 1.0507009873554804934); }
static Node *b_act_gelu(Ctx *c) { return ir_gelu(c->g, in(c, "x"), false); }
static Node *b_act_gelu_tanh(Ctx *c) { return ir_gelu(c->g, in(c, "x"), true); }
static Node *b_act_softplus(Ctx *c) { return ir_softplus(c->g, in(c, "x")); }
static Node *b_act_sigmoid(Ctx *c) { return ir_unary(c->g, MAP_SIGMOID, in(c, "x")); }
static Node *b_act_tanh(Ctx *c) { return ir_unary(c->g, MAP_TANH, in(c, "x")); }
static Node *b_act_hard_sigmoid(Ctx *c) { return ir_hard_sigmoid(c->g, in(c, "x"), 0.2, 0.5); }
static Node *b_act_hard_sigmoid_torch(Ctx *c) { return ir_hard_sigmoid(c->g, in(c, "x"), 1.0 / 6.0, 0.5); }
static Node *b_act_hard_swish(Ctx *c) { return ir_hard_swish(c->g, in(c, "x")); }
static Node *b_act_mish(Ctx *c) { return ir_mish(c->g, in(c, "x")); }
static Node *b_act_clip(Ctx *c) { return ir_clip(c->g, in(c, "x"), f32(c->g, -0.5), f32(c->g, 0.6)); }
static Node *b_act_prelu(Ctx *c) { return ir_prelu(c->g, in(c, "x"), in(c, "slope")); }

/* element-wise math */
static Node *b_math_pow(Ctx *c) { return ir_binary(c->g, MAP_POW, in(c, "a"), in(c, "b")); }
static Node *b_math_div(Ctx *c) { return ir_binary(c->g, MAP_DIV, in(c, "a"), in(c, "b")); }
static Node *b_math_sqrt(Ctx *c) { return ir_unary(c->g, MAP_SQRT, in(c, "x")); }
static Node *b_math_exp(Ctx *c) { return ir_unary(c->g, MAP_EXP, in(c, "x")); }
static Node *b_math_log(Ctx *c) { return ir_unary(c->g, MAP_LOG, in(c, "x")); }
static Node *b_math_mixed(Ctx *c) {
  Graph *g = c->g;
  Node *a = in(c, "a"), *b = in(c, "b");
  Node *s = ir_binary(g, MAP_MUL, ir_unary(g, MAP_SIN, a), ir_unary(g, MAP_COS, b));
  s = ir_binary(g, MAP_ADD, s, ir_unary(g, MAP_ERF, a));
  s = ir_binary(g, MAP_SUB, s, ir_unary(g, MAP_ATAN, b));
  s = ir_binary(g, MAP_ADD, s, ir_binary(g, MAP_MUL, ir_unary(g, MAP_ABS, a), b));
  s = ir_binary(g, MAP_ADD, s, ir_unary(g, MAP_RECIP, b));
  s = ir_binary(g, MAP_ADD, s, ir_binary(g, MAP_MAX, a, b));
  s = ir_binary(g, MAP_SUB, s, ir_binary(g, MAP_MIN, a, b));
  return ir_binary(g, MAP_SUB, s, ir_binary(g, MAP_MUL, b, b));
}

/* layout */
static Node *b_layout_chain(Ctx *c) {
  Graph *g = c->g;
  Node *t = ir_transpose(g, in(c, "x"), (int[]){0, 2, 3, 1});
  Node *r = ir_reshape(g, t, 2, (int64_t[]){8, 15});
  Node *s = ir_slice(g, r, (int64_t[]){1, 2}, (int64_t[]){2, 3}, (int64_t[]){4, 4});
  Node *p = ir_pad(g, s, (int64_t[]){1, 0}, (int64_t[]){2, 3}, PAD_CONSTANT, sc_f(0.5));
  return ir_concat(g, 2, (Node *[]){p, in(c, "x2")}, 1);
}
static Node *b_layout_slice_crop(Ctx *c) {
  Graph *g = c->g;
  Node *s = ir_slice(g, in(c, "x"), (int64_t[]){4, 1}, (int64_t[]){-2, 2}, (int64_t[]){3, 3});
  Node *p = ir_pad(g, s, (int64_t[]){-1, 0}, (int64_t[]){1, -1}, PAD_CONSTANT, sc_f(0));
  return ir_reshape(g, p, 1, (int64_t[]){6});
}
static Node *b_layout_pad_modes(Ctx *c) {
  Graph *g = c->g;
  Node *x = in(c, "x"), *p[3];
  PadMode modes[3] = {PAD_REFLECT, PAD_EDGE, PAD_WRAP};
  for (int i = 0; i < 3; i++) p[i] = ir_pad(g, x, (int64_t[]){0, 0, 1, 2}, (int64_t[]){0, 0, 2, 1}, modes[i], sc_f(0));
  return ir_concat(g, 3, p, 1);
}

/* gather, cumsum */
static Node *b_gather_axis1(Ctx *c) { return ir_gather_axis(c->g, in(c, "x"), cst(c, "idx", DT_I64), 1); }
static Node *b_gather_elements(Ctx *c) { return ir_gather_elements(c->g, in(c, "x"), cst(c, "idx", DT_I64), 0); }
static Node *b_cumsum_rev_excl(Ctx *c) { return ir_cumsum(c->g, in(c, "x"), 1, true, true); }

/* reductions */
static Node *b_reduce_sum(Ctx *c) { return ir_reduce(c->g, in(c, "x"), RED_ADD, 2, (int[]){0, 2}, false); }
static Node *b_reduce_mean(Ctx *c) { return ir_reduce_mean(c->g, in(c, "x"), 2, (int[]){1, 3}, true); }
static Node *b_reduce_max(Ctx *c) { return ir_reduce(c->g, in(c, "x"), RED_MAX, 1, (int[]){1}, false); }
static Node *b_reduce_min(Ctx *c) { return ir_reduce(c->g, in(c, "x"), RED_MIN, 2, (int[]){0, 2}, true); }

/* where */
static Node *b_where_bcast(Ctx *c) { return ir_where(c->g, cst(c, "cond", DT_BOOL), in(c, "a"), in(c, "b")); }

/* losses */
static Node *b_nll_mean_weight_ii(Ctx *c) {
  return ir_nll_loss(c->g, in(c, "x"), cst(c, "target", DT_I64), cst(c, "weight", DT_F32), LOSS_MEAN, true, 1);
}
static Node *b_nll_none_spatial(Ctx *c) {
  return ir_nll_loss(c->g, in(c, "x"), cst(c, "target", DT_I64), NULL, LOSS_NONE, false, 0);
}
static Node *b_sce_mean(Ctx *c) {
  return ir_softmax_cross_entropy(c->g, in(c, "x"), cst(c, "labels", DT_I64), NULL, LOSS_MEAN, false, 0, NULL);
}
static Node *b_sce_sum_weight(Ctx *c) {
  return ir_softmax_cross_entropy(c->g, in(c, "x"), cst(c, "labels", DT_I64), cst(c, "weight", DT_F32), LOSS_SUM,
                                  false, 0, NULL);
}
static Node *b_sce_mean_weight_ii(Ctx *c) {
  return ir_softmax_cross_entropy(c->g, in(c, "x"), cst(c, "labels", DT_I64), cst(c, "weight", DT_F32), LOSS_MEAN,
                                  true, 3, NULL);
}

/* composites */
static Node *b_attention(Ctx *c) {
  Graph *g = c->g;
  Node *s = ir_matmul(g, in(c, "q"), ir_transpose(g, in(c, "k"), (int[]){0, 2, 1}));
  s = ir_binary(g, MAP_DIV, s, f32(g, sqrt(8.0)));
  return ir_matmul(g, ir_softmax(g, s, -1, false), in(c, "v"));
}
static Node *b_conv_bn_tanh_pool(Ctx *c) {
  Graph *g = c->g;
  Node *y = ir_conv(g, in(c, "x"), in(c, "w"), NULL, WIN(.nsp = 2, .kernel = {3, 3}, .pad_begin = {1, 1}, .pad_end = {1, 1}));
  y = ir_batchnorm(g, y, in(c, "scale"), in(c, "bias"), cst(c, "mean", DT_F32), cst(c, "var", DT_F32), 1e-5);
  return ir_maxpool(g, ir_unary(g, MAP_TANH, y), WIN(.nsp = 2, .kernel = {2, 2}, .stride = {2, 2}));
}

#define XW {"x", "w", "b", NULL}
#define X1 {"x", NULL}
#define AB {"a", "b", NULL}
#define XSB {"x", "scale", "bias", NULL}

static const Case cases[] = {
  {"conv", "conv2d_pad_stride", XW, b_conv2d_pad_stride, NULL},
  {"conv", "conv2d_asym_dil", {"x", "w", NULL}, b_conv2d_asym_dil, NULL},
  {"conv", "conv2d_group", XW, b_conv2d_group, NULL},
  {"conv", "conv2d_depthwise", XW, b_conv2d_depthwise, NULL},
  {"conv", "conv1d_pad", XW, b_conv1d_pad, NULL},
  {"conv", "conv3d", XW, b_conv3d, NULL},
  {"conv_transpose", "convT2d_stride", XW, b_convT2d_stride, NULL},
  {"conv_transpose", "convT2d_group_dil", {"x", "w", NULL}, b_convT2d_group_dil, NULL},
  {"matmul", "matmul_batched", AB, b_matmul, NULL},
  {"matmul", "matmul_bcast", AB, b_matmul, NULL},
  {"matmul", "matmul_vec", AB, b_matmul, NULL},
  {"gemm", "gemm_transB", {"a", "b", "c", NULL}, b_gemm_transB, NULL},
  {"gemm", "gemm_transA", {"a", "b", "c", NULL}, b_gemm_transA, NULL},
  {"pool", "maxpool_k3s2p1", X1, b_maxpool_k3s2p1, NULL},
  {"pool", "maxpool_ceil", X1, b_maxpool_ceil, NULL},
  {"pool", "maxpool_overlap_dil", X1, b_maxpool_overlap_dil, NULL},
  {"pool", "avgpool_pad_excl", X1, b_avgpool_pad_excl, NULL},
  {"pool", "avgpool_pad_incl", X1, b_avgpool_pad_incl, NULL},
  {"pool", "global_avgpool", X1, b_global_avgpool, NULL},
  {"pool", "global_maxpool", X1, b_global_maxpool, NULL},
  {"softmax", "softmax_axis1", X1, b_softmax_axis1, NULL},
  {"softmax", "log_softmax_last", X1, b_log_softmax_last, NULL},
  {"norm", "layernorm_last", XSB, b_layernorm_last, NULL},
  {"norm", "layernorm_axis1", XSB, b_layernorm_axis1, NULL},
  {"norm", "batchnorm_infer", XSB, b_batchnorm_infer, NULL},
  {"activation", "act_relu", X1, b_act_relu, NULL},
  {"activation", "act_leaky_relu", X1, b_act_leaky_relu, NULL},
  {"activation", "act_elu", X1, b_act_elu, NULL},
  {"activation", "act_selu", X1, b_act_selu, NULL},
  {"activation", "act_gelu", X1, b_act_gelu, NULL},
  {"activation", "act_gelu_tanh", X1, b_act_gelu_tanh, NULL},
  {"activation", "act_softplus", X1, b_act_softplus, NULL},
  {"activation", "act_sigmoid", X1, b_act_sigmoid, NULL},
  {"activation", "act_tanh", X1, b_act_tanh, NULL},
  {"activation", "act_hard_sigmoid", X1, b_act_hard_sigmoid, NULL},
  {"activation", "act_hard_sigmoid_torch", X1, b_act_hard_sigmoid_torch, NULL},
  {"activation", "act_hard_swish", X1, b_act_hard_swish, NULL},
  {"activation", "act_mish", X1, b_act_mish, NULL},
  {"activation", "act_clip", X1, b_act_clip, NULL},
  {"activation", "act_prelu", {"x", "slope", NULL}, b_act_prelu, NULL},
  {"math", "math_pow", AB, b_math_pow, NULL},
  {"math", "math_div", AB, b_math_div, NULL},
  {"math", "math_sqrt", X1, b_math_sqrt, NULL},
  {"math", "math_exp", X1, b_math_exp, NULL},
  {"math", "math_log", X1, b_math_log, NULL},
  {"math", "math_mixed", AB, b_math_mixed, NULL},
  {"layout", "layout_chain", {"x", "x2", NULL}, b_layout_chain, NULL},
  {"layout", "layout_slice_crop", X1, b_layout_slice_crop, NULL},
  {"layout", "layout_pad_modes", X1, b_layout_pad_modes, NULL},
  {"gather", "gather_axis1", X1, b_gather_axis1, NULL},
  {"gather", "gather_elements", X1, b_gather_elements, NULL},
  {"gather", "cumsum_rev_excl", X1, b_cumsum_rev_excl, NULL},
  {"reduce", "reduce_sum", X1, b_reduce_sum, NULL},
  {"reduce", "reduce_mean", X1, b_reduce_mean, NULL},
  {"reduce", "reduce_max", X1, b_reduce_max, NULL},
  {"reduce", "reduce_min", X1, b_reduce_min, NULL},
  {"where", "where_bcast", AB, b_where_bcast, NULL},
  {"loss", "nll_mean_weight_ii", X1, b_nll_mean_weight_ii, NULL},
  {"loss", "nll_none_spatial", X1, b_nll_none_spatial, NULL},
  {"loss", "sce_mean", X1, b_sce_mean, NULL},
  {"loss", "sce_sum_weight", X1, b_sce_sum_weight, NULL},
  {"loss", "sce_mean_weight_ii", X1, b_sce_mean_weight_ii, NULL},
  {"composite", "attention", {"q", "k", "v", NULL}, b_attention, NULL},
  {"composite", "conv_bn_tanh_pool", {"x", "w", "scale", "bias", NULL}, b_conv_bn_tanh_pool, NULL},
};

#define NCASES ((int)(sizeof cases / sizeof cases[0]))

int main(void) {
  struct CMUnitTest tests[NCASES];
  for (int i = 0; i < NCASES; i++)
    tests[i] = (struct CMUnitTest){.name = cases[i].name, .test_func = run_case, .initial_state = (void *)&cases[i]};
  return cmocka_run_group_tests_name("grad_torch", tests, NULL, NULL);
}
