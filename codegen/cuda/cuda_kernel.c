/* cuda_kernel.c: prints one scheduled kernel as CUDA __global__ functions,
 * following the thread mapping pass_launch chose (Kernel.gpu).
 *
 * Expressions are the C printer's (cg_expr): the same text is valid CUDA
 * C++. A thread's loop variables come from its work-item number by division
 * and remainder (innermost loop fastest, so neighbouring threads touch
 * neighbouring elements); only the variables the body uses are declared,
 * which is decided on the printed body text. Parameters are the buffers the
 * body loads, in plan order, after the root's own buffer. */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_internal.h"

/* ---- printing to memory ---- */

typedef struct { FILE *saved; } Capture;

static void capture_begin(CgCtx *c, Capture *cap, int indent) {
  cap->saved = c->f;
  c->f = ir_memstream_open(c->g);
  c->indent = indent;
}

static char *capture_end(CgCtx *c, Capture *cap) {
  char *text = ir_memstream_close(c->g, c->f, NULL);
  c->f = cap->saved;
  return text;
}


/* "const int64_t iV = t / after % extent;" for the variables of list (innermost last)
 * that text uses; t < the product of their extents. */
static void delinearize(Str *b, int indent, const int *list, int n, const int64_t *ext, const char *t, const char *text) {
  int64_t after = 1;
  int first = 0; /* the outermost variable that is not of extent 1 needs no remainder */
  while (first < n - 1 && ext[list[first]] == 1) first++;
  for (int j = 0; j < n; j++)
    if (ext[list[j]] == 0) { /* an empty domain: the loop never runs (and dividing by 0 would not compile) */
      for (int k = 0; k < n; k++)
        if (cg_text_uses_var(text, list[k])) str_cat(b, "%*sconst int64_t i%d = 0;\n", 2 * indent, "", list[k]);
      return;
    }
  for (int j = n - 1; j >= 0; j--) {
    int v = list[j];
    int64_t e = ext[v];
    if (e > 1 && cg_text_uses_var(text, v)) {
      str_cat(b, "%*sconst int64_t i%d = ", 2 * indent, "", v);
      if (j == first && after == 1) str_cat(b, "%s;\n", t);
      else if (j == first) str_cat(b, "%s / %" PRId64 ";\n", t, after);
      else if (after == 1) str_cat(b, "%s %% %" PRId64 ";\n", t, e);
      else str_cat(b, "%s / %" PRId64 " %% %" PRId64 ";\n", t, after, e);
    }
    after *= e;
  }
}

static void vars(CgCtx *c, Ix **idx, int n) {
  for (int k = 0; k < n; k++) idx[k] = ix_var(c->g, k);
}

/* The buffers the printed body loads (c->read), in plan order, without the root. */
static const Node **read_params(CgCtx *c, const Node *root, int *n) {
  const Plan *p = c->p;
  const Node **list = ir_alloc_array(c->g, (size_t)p->nnodes + 1, sizeof *list);
  *n = 0;
  for (int i = 0; i < p->nnodes; i++) {
    const Node *b = p->nodes[i];
    if (b == root || !c->read[b->id] || !c->names[b->id]) continue;
    list[(*n)++] = b;
    c->ever_read[b->id] = true;
  }
  return list;
}

static void print_signature(CgCtx *c, const char *name, const Node *root, const Node **params, int n) {
  fprintf(c->f, "__global__ void %s(%s *__restrict__ %s", name, dt_ctype(root->dtype), cg_bufname(c, root));
  for (int b = 0; b < n; b++)
    fprintf(c->f, ", const %s *__restrict__ %s", dt_ctype(params[b]->dtype), cg_bufname(c, params[b]));
  fprintf(c->f, ") {\n");
}

static void reset(CgCtx *c, int ndom, const int64_t *dom) {
  c->ndom = ndom;
  memcpy(c->dom, dom, (size_t)ndom * sizeof(int64_t));
  c->nacc = 0;
  c->pre_depth = 0;
  c->nmemo = 0;
  str_init(&c->pre, c->g);
  c->gemm_result = NULL;
  c->row_result = NULL;
  c->nocheck = NULL;
  memset(c->read, 0, (size_t)c->g->nnodes * sizeof(bool));
}

#define GRID_STRIDE "for (int64_t t = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; t < %" PRId64 "; t += (int64_t)gridDim.x * blockDim.x) {\n"

/* ---- thread per element: MAP and GATHER roots, and a GEMM's separate epilogue ---- */

static void print_elementwise(CgCtx *c, const char *name, Node *n, const int *order, int nloops, int64_t items,
                              const Node ***params, int *nparams) {
  Ix *idx[IR_MAX_RANK];
  vars(c, idx, n->rank);
  Capture cap;
  capture_begin(c, &cap, 2);
  char *v = cg_expr(c, n, idx, true);
  cg_flush_pre(c);
  cg_line(c, "%s[%s] = %s;", cg_bufname(c, n), cg_ix_sum(c, cg_linearize(c, n, idx)), cg_wrap(c->g, cg_store_conv(n->dtype), v));
  char *body = capture_end(c, &cap);
  *params = read_params(c, n, nparams);
  Str b;
  str_init(&b, c->g);
  delinearize(&b, 2, order, nloops, c->dom, "t", body);
  print_signature(c, name, n, *params, *nparams);
  fprintf(c->f, "  " GRID_STRIDE "%s%s  }\n}\n", items, b.s ? b.s : "", body);
}

/* ---- reductions ---- */

/* The reduced loops of a register reduction, serial in one thread: acc = combine(acc, src). */
static void serial_inner(CgCtx *c, Node *n, int from, int to) {
  const Kernel *k = c->k;
  Graph *g = c->g;
  Ix *idx[IR_MAX_RANK];
  vars(c, idx, n->in[0]->rank);
  int opened = 0;
  for (int l = from; l < to; l++) {
    int v = k->order[l];
    cg_line(c, "for (int64_t i%d = 0; i%d < %" PRId64 "; i%d++) {", v, v, k->dom[v], v);
    c->indent++;
    opened++;
  }
  char *v = cg_expr(c, n->in[0], idx, false);
  JTC_ASSERT(c->pre.len == 0); /* fuse.c keeps reductions out of a reduction's source */
  if (n->cond) cg_line(c, "if (%s) acc = %s;", cg_ix(c, ix_simplify(g, n->cond, k->ndom, k->dom)), cg_combine(c, n->red, n->dtype, "acc", v));
  else cg_line(c, "acc = %s;", cg_combine(c, n->red, n->dtype, "acc", v));
  while (opened--) {
    c->indent--;
    cg_line(c, "}");
  }
}

static char *store_index(CgCtx *c, Node *n) {
  Ix *oidx[IR_MAX_RANK];
  for (int j = 0; j < n->rank; j++) oidx[j] = ix_simplify(c->g, n->idx[j], c->k->ndom, c->k->dom);
  return cg_ix_sum(c, cg_linearize(c, n, oidx));
}

static void print_outputs(CgCtx *c, const char *name, Node *n, const Node ***params, int *nparams) {
  const Kernel *k = c->k;
  Capture cap;
  capture_begin(c, &cap, 2);
  cg_line(c, "%s acc = %s;", dt_ctype_compute(n->dtype), cg_literal(c->g, reduce_identity(n->red, n->dtype), n->dtype));
  serial_inner(c, n, k->nouter, k->nloops);
  cg_line(c, "%s[%s] = %s;", cg_bufname(c, n), store_index(c, n), cg_wrap(c->g, cg_store_conv(n->dtype), "acc"));
  char *body = capture_end(c, &cap);
  *params = read_params(c, n, nparams);
  Str b;
  str_init(&b, c->g);
  delinearize(&b, 2, k->order, k->nouter, k->dom, "t", body);
  print_signature(c, name, n, *params, *nparams);
  fprintf(c->f, "  " GRID_STRIDE "%s%s  }\n}\n", k->gpu_items, b.s ? b.s : "", body);
}

/* Few outputs, long reductions: a block per output; its threads stride over the reduced
 * loops, then a warp-shuffle tree and one partial per warp in shared memory. */
static void print_block_reduce(CgCtx *c, const char *name, Node *n, const Node ***params, int *nparams) {
  const Kernel *k = c->k;
  Graph *g = c->g;
  int64_t inner = 1;
  for (int l = k->nouter; l < k->nloops; l++) inner *= k->dom[k->order[l]];
  Ix *idx[IR_MAX_RANK];
  vars(c, idx, n->in[0]->rank);
  Capture cap;
  capture_begin(c, &cap, 3);
  char *v = cg_expr(c, n->in[0], idx, false);
  JTC_ASSERT(c->pre.len == 0);
  cg_line(c, "acc = %s;", cg_combine(c, n->red, n->dtype, "acc", v));
  char *step = capture_end(c, &cap);
  char *store = str_fmt(g, "%s[%s] = %s;", cg_bufname(c, n), store_index(c, n), cg_wrap(g, cg_store_conv(n->dtype), "acc"));
  *params = read_params(c, n, nparams);
  const char *ct = dt_ctype_compute(n->dtype);
  /* shuffles carry 32- and 64-bit values: int64_t goes as long long */
  const char *sh = n->dtype == DT_I64 ? "(long long)acc" : "acc";
  char *id = cg_literal(g, reduce_identity(n->red, n->dtype), n->dtype);
  char *comb = cg_combine(c, n->red, n->dtype, "acc", str_fmt(g, "(%s)__shfl_down_sync(0xffffffffu, %s, off)", ct, sh));
  Str inner_vars, outer_vars;
  str_init(&inner_vars, g);
  str_init(&outer_vars, g);
  delinearize(&inner_vars, 3, k->order + k->nouter, k->nloops - k->nouter, k->dom, "r", step);
  delinearize(&outer_vars, 2, k->order, k->nouter, k->dom, "t", str_fmt(g, "%s\n%s", step, store));
  print_signature(c, name, n, *params, *nparams);
  FILE *f = c->f;
  fprintf(f, "  __shared__ %s part[32]; /* one partial per warp */\n", ct);
  fprintf(f, "  for (int64_t t = blockIdx.x; t < %" PRId64 "; t += gridDim.x) {\n", k->gpu_items);
  fprintf(f, "%s", outer_vars.s ? outer_vars.s : "");
  fprintf(f, "    %s acc = %s;\n", ct, id);
  fprintf(f, "    for (int64_t r = threadIdx.x; r < %" PRId64 "; r += blockDim.x) {\n%s%s    }\n", inner,
          inner_vars.s ? inner_vars.s : "", step);
  fprintf(f, "    for (int off = 16; off > 0; off >>= 1) acc = %s;\n", comb);
  fprintf(f, "    if ((threadIdx.x & 31) == 0) part[threadIdx.x >> 5] = acc;\n");
  fprintf(f, "    __syncthreads();\n");
  fprintf(f, "    if (threadIdx.x < 32) {\n");
  fprintf(f, "      acc = threadIdx.x < (blockDim.x >> 5) ? part[threadIdx.x] : %s;\n", id);
  fprintf(f, "      for (int off = 16; off > 0; off >>= 1) acc = %s;\n", comb);
  fprintf(f, "      if (threadIdx.x == 0) %s\n", store);
  fprintf(f, "    }\n");
  fprintf(f, "    __syncthreads(); /* part[] is reused by the next output */\n");
  fprintf(f, "  }\n}\n");
}

/* Shared write indices, a sum: the host clears the output; each source element adds atomically. */
static void print_atomic(CgCtx *c, const char *name, Node *n, const Node ***params, int *nparams) {
  const Kernel *k = c->k;
  Graph *g = c->g;
  Ix *idx[IR_MAX_RANK], *oidx[IR_MAX_RANK];
  vars(c, idx, n->in[0]->rank);
  for (int j = 0; j < n->rank; j++) oidx[j] = ix_simplify(g, n->idx[j], k->ndom, k->dom);
  Capture cap;
  capture_begin(c, &cap, 2);
  Ix *cond = n->cond ? ix_simplify(g, n->cond, k->ndom, k->dom) : NULL;
  cond = ix_and(g, cond, pass_bounds_cond(g, oidx, n, c->dom));
  char *v = cg_expr(c, n->in[0], idx, false);
  JTC_ASSERT(c->pre.len == 0);
  if (cond) {
    cg_line(c, "if (%s) {", cg_ix(c, cond));
    c->indent++;
  }
  const char *out = str_fmt(g, "&%s[%s]", cg_bufname(c, n), cg_ix_sum(c, cg_linearize(c, n, oidx)));
  switch (n->dtype) {
  case DT_I64: case DT_U64: cg_line(c, "atomicAdd((unsigned long long *)%s, (unsigned long long)(%s));", out, v); break;
  case DT_I32: cg_line(c, "atomicAdd((int *)%s, (int)(%s));", out, v); break;
  case DT_U32: cg_line(c, "atomicAdd((unsigned int *)%s, (unsigned int)(%s));", out, v); break;
  default: cg_line(c, "atomicAdd(%s, %s);", out, v); break;
  }
  if (cond) {
    c->indent--;
    cg_line(c, "}");
  }
  char *body = capture_end(c, &cap);
  *params = read_params(c, n, nparams);
  Str b;
  str_init(&b, g);
  delinearize(&b, 2, k->order, k->nloops, k->dom, "t", body);
  print_signature(c, name, n, *params, *nparams);
  fprintf(c->f, "  " GRID_STRIDE "%s%s  }\n}\n", k->gpu_items, b.s ? b.s : "", body);
}

/* Shared write indices where order matters: the C printer's loop nest, in one thread. */
static void print_serial(CgCtx *c, const char *name, Node *n, const Node ***params, int *nparams) {
  Capture cap;
  capture_begin(c, &cap, 1);
  cg_kernel_body(c);
  char *body = capture_end(c, &cap);
  *params = read_params(c, n, nparams);
  print_signature(c, name, n, *params, *nparams);
  fprintf(c->f, "%s}\n", body);
}

/* ---- contractions ---- */

/* Declarations of the variables in list (a flattened coordinate f) that text uses, at indent. */
static char *coords(CgCtx *c, const Node *dom, const int *list, int n, const char *f, const char *text, int indent) {
  Str b;
  str_init(&b, c->g);
  delinearize(&b, indent, list, n, dom->dims, f, text);
  return b.s ? b.s : "";
}

/* "v = <n at idx>;" (after any statements it needs) at indent, as text. */
static char *assign_v(CgCtx *c, Node *n, Ix *const *idx, int indent) {
  Capture cap;
  capture_begin(c, &cap, indent);
  char *v = cg_expr(c, n, idx, false);
  cg_flush_pre(c);
  cg_line(c, "v = %s;", v);
  return capture_end(c, &cap);
}

/* A or B of the GEMM at (row, col) of its tile, zero outside: the body of a tile load. */
static char *operand_load(CgCtx *c, const Contraction *gm, Node *op, bool is_a) {
  Graph *g = c->g;
  const Node *dom = gm->scatter->in[0];
  Ix *ids[IR_MAX_RANK];
  vars(c, ids, dom->rank);
  char *expr = assign_v(c, op, ids, 5);
  const char *mn = is_a ? "m" : "n";
  char *decl = str_fmt(g, "%s%s", coords(c, dom, is_a ? gm->mvars : gm->nvars, is_a ? gm->nm : gm->nn, mn, expr, 5),
                       coords(c, dom, gm->kvars, gm->nk, "k", expr, 5));
  return str_fmt(g, "%s%s", decl, expr);
}

static void print_gemm(CgCtx *c, const char *name, CuKernel *out) {
  const Kernel *k = c->k;
  const Contraction *gm = k->gemm;
  Graph *g = c->g;
  Node *root = k->root;
  const Node *dom = gm->scatter->in[0];
  if (root->dtype != DT_F32) ir_fail(g, "CUDA: a contraction stored as %s is not supported", dt_name(root->dtype));
  reset(c, dom->rank, dom->dims);
  char *aload = operand_load(c, gm, gm->aop, true);
  char *bload = operand_load(c, gm, gm->bop, false);
  /* the output offset of the tile's outer coordinates, and the epilogue in the stores */
  Ix *base = ix_const(g, 0);
  for (int o = 0; o < gm->nouter; o++)
    if (dom->dims[gm->outer[o]] > 1) base = ix_add(g, base, ix_mulc(g, ix_var(g, gm->outer[o]), gm->ostride[gm->outer[o]]));
  char *bs = cg_ix_sum(c, ix_simplify(g, base, c->ndom, c->dom));
  Str val;
  str_init(&val, g);
  str_cat(&val, "acc[r][s]");
  if (gm->epi) {
    if (gm->bias_row) {
      str_cat(&val, " + %s[m]", cg_bufname(c, gm->bias_row->in[0]));
      c->read[gm->bias_row->in[0]->id] = true;
    }
    if (gm->bias_col) {
      str_cat(&val, " + %s[n]", cg_bufname(c, gm->bias_col->in[0]));
      c->read[gm->bias_col->in[0]->id] = true;
    }
    if (gm->residual) {
      str_cat(&val, " + %s[%s%sm * %" PRId64 " + n]", cg_bufname(c, gm->residual), strcmp(bs, "0") ? bs : "",
              strcmp(bs, "0") ? " + " : "", gm->ldc);
      c->read[gm->residual->id] = true;
    }
  }
  out->params = read_params(c, root, &out->nparams);
  char *outer_decl = coords(c, dom, gm->outer, gm->nouter, "o", str_fmt(g, "%s\n%s\n%s", aload, bload, bs), 2);
  /* tensor cores (--precision): A and B are rounded as they enter shared memory, so a GPU
   * without the MMA (and nvcc's host pass) computes the same products on the FMA path */
  bool tc = k->gpu != GPU_GEMM, f16 = k->gpu == GPU_GEMM_F16;
  const char *elem = f16 ? "__half" : "float", *kf = f16 ? "16" : "8", *frag = f16 ? "__half" : "nvcuda::wmma::precision::tf32";
  const char *round = f16 ? "__float2half(v)" : tc ? "jtc_tf32(v)" : "v", *wide = f16 ? "__half2float(" : "", *wide_end = f16 ? ")" : "";
  const char *guard = f16 ? "#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 700 /* fp16 MMA from sm_70 */\n"
                          : "#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 800 /* tf32 MMA from sm_80 */\n";
  FILE *f = c->f;
  fprintf(f, "/* C[m][n] = sum over k of A[m][k] * B[k][n]: M=%" PRId64 " N=%" PRId64 " K=%" PRId64
             ", 64x64 tiles of C per block, 16 of K at a time through shared memory, ",
          gm->M, gm->N, gm->K);
  if (tc)
    fprintf(f, "A and B rounded to %s;\n * each warp multiplies a 16x32 part on the tensor cores (16x16x%s MMA, float sums),\n"
               " * or 4x4 per thread on GPUs without the MMA */\n",
            f16 ? "fp16" : "tf32", kf);
  else
    fprintf(f, "4x4 per thread */\n");
  print_signature(c, name, root, out->params, out->nparams);
  fprintf(f, "  __shared__ %s%s As[16][64], Bs[16][64]; /* [k][m], [k][n] */\n", tc ? "__align__(32) " : "", elem);
  fprintf(f, "  const int tx = threadIdx.x %% 16, ty = threadIdx.x / 16;\n");
  if (tc) {
    fprintf(f, "%s", guard);
    fprintf(f, "  __shared__ __align__(32) float Cs[64][64]; /* the block's tile of C, from the MMA accumulators */\n");
    fprintf(f, "  const int wm = threadIdx.x / 32 %% 4 * 16, wn = threadIdx.x / 128 * 32; /* this warp's part of the tile */\n#endif\n");
  }
  fprintf(f, "  for (int64_t o = blockIdx.z; o < %" PRId64 "; o += gridDim.z) {\n", k->gpu_items);
  fprintf(f, "%s", outer_decl);
  fprintf(f, "  for (int64_t m0 = (int64_t)blockIdx.y * 64; m0 < %" PRId64 "; m0 += (int64_t)gridDim.y * 64) {\n", gm->M);
  fprintf(f, "  for (int64_t n0 = (int64_t)blockIdx.x * 64; n0 < %" PRId64 "; n0 += (int64_t)gridDim.x * 64) {\n", gm->N);
  fprintf(f, "    float acc[4][4] = {{0.0f}};\n");
  if (tc) {
    fprintf(f, "%s", guard);
    fprintf(f, "    nvcuda::wmma::fragment<nvcuda::wmma::accumulator, 16, 16, %s, float> c0, c1;\n", kf);
    fprintf(f, "    nvcuda::wmma::fill_fragment(c0, 0.0f);\n    nvcuda::wmma::fill_fragment(c1, 0.0f);\n#endif\n");
  }
  fprintf(f, "    for (int64_t k0 = 0; k0 < %" PRId64 "; k0 += 16) {\n", gm->K);
  fprintf(f, "      for (int l = threadIdx.x; l < 16 * 64; l += blockDim.x) {\n");
  fprintf(f, "        const int kk = l %% 16, mm = l / 16;\n");
  fprintf(f, "        const int64_t m = m0 + mm, k = k0 + kk;\n");
  fprintf(f, "        float v = 0.0f;\n");
  fprintf(f, "        if (m < %" PRId64 " && k < %" PRId64 ") {\n%s        }\n", gm->M, gm->K, aload);
  fprintf(f, "        As[kk][mm] = %s;\n      }\n", round);
  fprintf(f, "      for (int l = threadIdx.x; l < 16 * 64; l += blockDim.x) {\n");
  fprintf(f, "        const int nn = l %% 64, kk = l / 64;\n");
  fprintf(f, "        const int64_t n = n0 + nn, k = k0 + kk;\n");
  fprintf(f, "        float v = 0.0f;\n");
  fprintf(f, "        if (n < %" PRId64 " && k < %" PRId64 ") {\n%s        }\n", gm->N, gm->K, bload);
  fprintf(f, "        Bs[kk][nn] = %s;\n      }\n", round);
  fprintf(f, "      __syncthreads();\n");
  if (tc) {
    fprintf(f, "%s", guard);
    fprintf(f, "      for (int kk = 0; kk < 16; kk += %s) {\n", kf);
    fprintf(f, "        nvcuda::wmma::fragment<nvcuda::wmma::matrix_a, 16, 16, %s, %s, nvcuda::wmma::col_major> a;\n", kf, frag);
    fprintf(f, "        nvcuda::wmma::fragment<nvcuda::wmma::matrix_b, 16, 16, %s, %s, nvcuda::wmma::row_major> b0, b1;\n", kf, frag);
    fprintf(f, "        nvcuda::wmma::load_matrix_sync(a, &As[kk][wm], 64);\n");
    fprintf(f, "        nvcuda::wmma::load_matrix_sync(b0, &Bs[kk][wn], 64);\n");
    fprintf(f, "        nvcuda::wmma::load_matrix_sync(b1, &Bs[kk][wn + 16], 64);\n");
    fprintf(f, "        nvcuda::wmma::mma_sync(c0, a, b0, c0);\n");
    fprintf(f, "        nvcuda::wmma::mma_sync(c1, a, b1, c1);\n");
    fprintf(f, "      }\n#else\n");
  }
  fprintf(f, "      for (int kk = 0; kk < 16; kk++) {\n");
  fprintf(f, "        float a[4], b[4];\n");
  fprintf(f, "        for (int r = 0; r < 4; r++) a[r] = %sAs[kk][ty + 16 * r]%s;\n", wide, wide_end);
  fprintf(f, "        for (int s = 0; s < 4; s++) b[s] = %sBs[kk][tx + 16 * s]%s;\n", wide, wide_end);
  fprintf(f, "        for (int r = 0; r < 4; r++)\n");
  fprintf(f, "          for (int s = 0; s < 4; s++) acc[r][s] += a[r] * b[s];\n");
  fprintf(f, "      }\n");
  if (tc) fprintf(f, "#endif\n");
  fprintf(f, "      __syncthreads(); /* before the next tiles overwrite As and Bs */\n");
  fprintf(f, "    }\n");
  if (tc) {
    fprintf(f, "%s", guard);
    fprintf(f, "    nvcuda::wmma::store_matrix_sync(&Cs[wm][wn], c0, 64, nvcuda::wmma::mem_row_major);\n");
    fprintf(f, "    nvcuda::wmma::store_matrix_sync(&Cs[wm][wn + 16], c1, 64, nvcuda::wmma::mem_row_major);\n");
    fprintf(f, "    __syncthreads();\n");
    fprintf(f, "    for (int r = 0; r < 4; r++)\n");
    fprintf(f, "      for (int s = 0; s < 4; s++) acc[r][s] = Cs[ty + 16 * r][tx + 16 * s];\n");
    fprintf(f, "    __syncthreads(); /* before the next tile's accumulators overwrite Cs */\n#endif\n");
  }
  fprintf(f, "    for (int r = 0; r < 4; r++)\n");
  fprintf(f, "      for (int s = 0; s < 4; s++) {\n");
  fprintf(f, "        const int64_t m = m0 + ty + 16 * r, n = n0 + tx + 16 * s;\n");
  fprintf(f, "        if (m >= %" PRId64 " || n >= %" PRId64 ") continue;\n", gm->M, gm->N);
  fprintf(f, "        float v = %s;\n", val.s);
  if (gm->epi && gm->clamp) {
    if (!isinf(gm->lo)) fprintf(f, "        v = v < %s ? %s : v;\n", cg_literal(g, sc_f(gm->lo), DT_F32), cg_literal(g, sc_f(gm->lo), DT_F32));
    if (!isinf(gm->hi)) fprintf(f, "        v = v > %s ? %s : v;\n", cg_literal(g, sc_f(gm->hi), DT_F32), cg_literal(g, sc_f(gm->hi), DT_F32));
  }
  fprintf(f, "        %s[%s%sm * %" PRId64 " + n] = v;\n", cg_bufname(c, root), strcmp(bs, "0") ? bs : "", strcmp(bs, "0") ? " + " : "", gm->ldc);
  fprintf(f, "      }\n");
  fprintf(f, "  }\n  }\n  }\n}\n");
  if (root == gm->scatter || gm->epi) return;
  /* the root's element-wise expression, reading the contraction from the root's buffer */
  reset(c, k->ndom, k->dom);
  c->gemm_result = gm->scatter;
  out->epi_name = str_fmt(g, "%s_epilogue", name);
  int64_t items = 1;
  for (int l = 0; l < k->nloops; l++) items *= k->dom[k->order[l]];
  out->epi_items = items;
  out->epi_grid = (items + 255) / 256 < 65535 ? (items + 255) / 256 : 65535;
  fprintf(f, "\n");
  print_elementwise(c, out->epi_name, root, k->order, k->nloops, items, &out->epi_params, &out->nepi_params);
}

/* ---- window reductions with a tap schedule (depthwise convs, pooling) ---- */

/* " + 3", " - 3" or "" */
static char *signed_const(Graph *g, int64_t v) {
  return v ? str_fmt(g, " %c %" PRId64, v < 0 ? '-' : '+', v < 0 ? -v : v) : "";
}

/* pass_rows' RowTaps, per block: the band's padded, phase-split source plane copied into
 * shared memory, then a thread per output position q = (row - u0) * wq + col combines the
 * taps at their constant offsets (no bounds checks) and stores through the epilogue. */
static void print_taps(CgCtx *c, const char *name, CuKernel *out) {
  const Kernel *k = c->k;
  const RowTaps *t = k->taps;
  Graph *g = c->g;
  Node *root = k->root, *s = k->row_scatter ? k->row_scatter : root;
  Node *src = s->in[0], *win = k->row_gather, *x = win->in[0];
  Node *wf = src == win ? NULL : src->in[src->in[0] == win ? 1 : 0];
  int v = k->row_var, u = k->row_var2, F = src->rank;
  if (F + 2 > IR_MAX_RANK) ir_fail(g, "kernel needs more than %d loop variables", IR_MAX_RANK);
  reset(c, src->rank, src->dims);
  const char *ct = dt_ctype_compute(win->dtype), *cs = dt_ctype_compute(s->dtype);
  char *fill = cg_literal(g, win->fill, win->dtype);
  int64_t H = t->hdim >= 0 ? x->dims[t->hdim] : 1, W = x->dims[t->wdim], plane = t->hq * t->wq, nbands = (t->rows + t->band - 1) / t->band;
  Ix *ids[IR_MAX_RANK];
  vars(c, ids, src->rank);
  /* the copy: padded row i (source row i<F>) and column j of phase pw (source column i<F+1>) */
  c->dom[F] = H, c->dom[F + 1] = W, c->ndom = F + 2;
  Ix *sidx[IR_MAX_RANK];
  for (int d = 0; d < x->rank; d++)
    sidx[d] = d == t->hdim ? ix_var(g, F) : d == t->wdim ? ix_var(g, F + 1) : ix_simplify(g, win->idx[d], F, c->dom);
  char *copy = assign_v(c, x, sidx, 4);
  c->ndom = F;
  /* the taps: each one's variables, and the other factor (a conv's weight), one register each */
  Ix *tids[ROW_TAPS_MAX][IR_MAX_RANK];
  Str weights, taps;
  str_init(&weights, g);
  str_init(&taps, g);
  c->named[0] = win;
  c->named[1] = wf;
  for (int tap = 0; tap < t->ntaps; tap++) {
    cg_tap_ids(g, t, src, tap, ids, tids[tap]);
    if (wf) {
      c->named[1] = NULL;
      str_cat(&weights, "    const %s w%d = %s;\n", dt_ctype_compute(wf->dtype), tap, cg_expr(c, wf, tids[tap], false));
      c->named[1] = wf;
      c->named_as[1] = str_fmt(g, "w%d", tap);
    }
    c->named_as[0] = t->off[tap] ? str_fmt(g, "pad[%" PRId64 " + q]", t->off[tap]) : "pad[q]";
    char *tv = cg_expr(c, src, tids[tap], false);
    if (tap == 0) str_cat(&taps, "      %s acc = %s;\n", cs, tv);
    else str_cat(&taps, "      acc = %s;\n", cg_combine(c, s->red, s->dtype, "acc", tv));
  }
  c->named[0] = c->named[1] = NULL;
  /* the store, through the MAP root's expression of acc */
  char *value = "acc";
  if (root != s) {
    c->row_result = s;
    c->row_at = "acc";
    value = cg_expr(c, root, ids, true);
    c->row_result = NULL;
  }
  JTC_ASSERT(c->pre.len == 0);
  Ix *oidx[IR_MAX_RANK];
  for (int j = 0; j < root->rank; j++) oidx[j] = root != s ? ids[j] : ix_simplify(g, s->idx[j], c->ndom, c->dom);
  char *store = str_fmt(g, "      %s[%s] = %s;\n", cg_bufname(c, root), cg_ix_sum(c, cg_linearize(c, root, oidx)),
                        cg_wrap(g, cg_store_conv(root->dtype), value));
  out->params = read_params(c, root, &out->nparams);
  int outer[IR_MAX_RANK], nout = 0;
  for (int j = 0; j < s->rank; j++)
    if (j != v && j != u) outer[nout++] = j;
  char *body = str_fmt(g, "%s\n%s\n%s\n%s", copy, weights.s ? weights.s : "", taps.s, store);
  char *outer_decl = coords(c, src, outer, nout, "o", body, 2);
  FILE *f = c->f;
  fprintf(f, "/* %d taps over a plane band of %" PRId64 " rows x %" PRId64 " columns (%" PRId64 " with padding and stride phases) in shared memory;\n"
             " * a block per (outer index, band of %" PRId64 " rows), a thread per output position */\n",
          t->ntaps, t->rows, t->cols, t->buf, t->band);
  print_signature(c, name, root, out->params, out->nparams);
  fprintf(f, "  __shared__ %s pad[%" PRId64 "]; /* [row phase][column phase][row][column] */\n", ct, t->buf);
  fprintf(f, "  for (int64_t b = blockIdx.x; b < %" PRId64 "; b += gridDim.x) {\n", k->gpu_items);
  /* b = o * nbands + band: o the outer index (its variables from outer_decl), u0 the band's first row */
  if (*outer_decl) fprintf(f, "    const int64_t o = b%s;\n", nbands > 1 ? str_fmt(g, " / %" PRId64, nbands) : "");
  if (nbands > 1) {
    fprintf(f, "    const int64_t u0 = b %% %" PRId64 " * %" PRId64 ";\n", nbands, t->band);
    fprintf(f, "    const int64_t nb = u0 + %" PRId64 " < %" PRId64 " ? %" PRId64 " : %" PRId64 " - u0;\n", t->band, t->rows, t->band, t->rows);
  } else {
    fprintf(f, "    const int64_t nb = %" PRId64 ";\n", t->rows);
  }
  fprintf(f, "%s", outer_decl);
  if (weights.s) fprintf(f, "%s", weights.s);
  fprintf(f, "    __syncthreads(); /* the last band's taps have read pad */\n");
  fprintf(f, "    for (int64_t l = threadIdx.x; l < %" PRId64 "; l += blockDim.x) {\n", t->ah * t->hq * t->aw * t->wq);
  fprintf(f, "      const int64_t i = l / %" PRId64 ", pw = l / %" PRId64 " %% %" PRId64 ", j = l %% %" PRId64 ";\n", t->aw * t->wq, t->wq,
          t->aw, t->wq);
  if (t->hdim >= 0)
    fprintf(f, "      const int64_t i%d = %si%s;\n", F, nbands > 1 ? str_fmt(g, "u0 * %" PRId64 " + ", t->ah) : "", signed_const(g, t->hmin));
  fprintf(f, "      const int64_t i%d = j * %" PRId64 " + pw%s;\n", F + 1, t->aw, signed_const(g, t->wmin));
  fprintf(f, "      %s v = %s;\n", ct, fill);
  if (t->hdim >= 0) fprintf(f, "      if (i%d >= 0 && i%d < %" PRId64 " && i%d >= 0 && i%d < %" PRId64 ") {\n", F, F, H, F + 1, F + 1, W);
  else fprintf(f, "      if (i%d >= 0 && i%d < %" PRId64 ") {\n", F + 1, F + 1, W);
  fprintf(f, "%s      }\n", copy);
  fprintf(f, "      pad[(i %% %" PRId64 " * %" PRId64 " + pw) * %" PRId64 " + i / %" PRId64 " * %" PRId64 " + j] = v;\n    }\n", t->ah, t->aw, plane,
          t->ah, t->wq);
  if (t->buf > t->ah * t->aw * plane)
    fprintf(f, "    for (int64_t l = %" PRId64 " + threadIdx.x; l < %" PRId64 "; l += blockDim.x) pad[l] = %s; /* read past the last row */\n",
            t->ah * t->aw * plane, t->buf, fill);
  fprintf(f, "    __syncthreads();\n");
  fprintf(f, "    for (int64_t q = threadIdx.x; q < nb * %" PRId64 "; q += blockDim.x) {\n", t->wq);
  fprintf(f, "      const int64_t i%d = q %% %" PRId64 ";\n", v, t->wq);
  fprintf(f, "      if (i%d >= %" PRId64 ") continue; /* a padding column */\n", v, t->cols);
  if (u >= 0) fprintf(f, "      const int64_t i%d = %sq / %" PRId64 ";\n", u, nbands > 1 ? "u0 + " : "", t->wq);
  fprintf(f, "%s%s    }\n  }\n}\n", taps.s, store);
}

/* ---- one kernel ---- */

void cu_print_kernel(CgCtx *c, int j, CuKernel *out) {
  const Kernel *k = &c->p->kernels[j];
  Graph *g = c->g;
  Node *root = k->root;
  c->k = k;
  memset(out, 0, sizeof *out);
  out->name = str_fmt(g, "%s_%s", c->prefix, cg_kernel_name(c, j));
  c->kname = out->name;
  reset(c, k->ndom, k->dom);
  fprintf(c->f, "\n/* kernel %d: %s '%s', %s\n", j, cg_comment_safe(g, root->origin_op ? root->origin_op : "?"),
          cg_comment_safe(g, root->origin ? root->origin : "?"), gpu_map_names[k->gpu]);
  cg_node_comment(c, root);
  for (int f = 0; f < k->nfused; f++) cg_node_comment(c, k->fused[f]);
  fprintf(c->f, " */\n");
  switch (k->gpu) {
  case GPU_GEMM: case GPU_GEMM_TF32: case GPU_GEMM_F16: print_gemm(c, out->name, out); break;
  case GPU_OUTPUTS: print_outputs(c, out->name, root, &out->params, &out->nparams); break;
  case GPU_BLOCK_REDUCE: print_block_reduce(c, out->name, root, &out->params, &out->nparams); break;
  case GPU_ATOMIC: print_atomic(c, out->name, root, &out->params, &out->nparams); break;
  case GPU_SERIAL: print_serial(c, out->name, root, &out->params, &out->nparams); break;
  case GPU_TAPS: print_taps(c, out->name, out); break;
  case GPU_ELEMENTS:
    if (root->kind == NODE_OPAQUE) ir_fail(g, "no CUDA kernel for OPAQUE '%s'", root->opaque_name);
    print_elementwise(c, out->name, root, k->order, k->nloops, k->gpu_items, &out->params, &out->nparams);
    break;
  default: ir_fail(g, "kernel %d has no CUDA thread mapping (pass_launch did not run)", j);
  }
}
