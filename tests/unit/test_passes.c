/* test_passes.c: the pass pipeline on small hand-built graphs: GATHER
 * composition (including across ranks), identity-GATHER removal, dead code,
 * which nodes fusion materializes, the schedule of reductions, and that the
 * memory plan never overlaps two buffers that are live at once. Where a pass
 * rewrites the graph, the interpreter checks the result is unchanged. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "ir/ops.h"
#include "passes/passes.h"

#define V(k) ix_var(g, k)
#define C(v) ix_const(g, v)

static void fill_input(float *x, int64_t n) {
  for (int64_t i = 0; i < n; i++) x[i] = (float)(i % 7) - 2.5f;
}

/* Evaluate g's first output on a patterned input, before and after the passes. */
static void check_same_result(Graph *g, Plan **out_plan) {
  int64_t n = g->inputs[0]->numel;
  float *x = ir_alloc(g, (size_t)n * sizeof(float));
  fill_input(x, n);
  void *in[1] = {x}, *before[4], *after[4];
  ir_eval_graph(g, in, before);
  Plan *p = pass_run_all(g, NULL, NULL);
  assert_non_null(p);
  ir_eval_graph(g, in, after);
  const Node *o = g->outputs[0];
  assert_memory_equal(before[0], after[0], (size_t)o->numel * dt_size(o->dtype));
  if (out_plan) *out_plan = p;
}

/* ir_memstream: text comes back as an arena string; a stream left open by an ir_fail
 * (a printer failing mid-kernel) is closed and freed by ir_graph_free (LeakSanitizer
 * in `make asan` would report it otherwise); the slot is reused after a close. */
static void test_memstream(void **s) {
  (void)s;
  Graph *g = ir_graph_new();
  FILE *a = ir_memstream_open(g), *b = ir_memstream_open(g);
  fprintf(a, "kernel %d", 7);
  fprintf(b, "inner");
  size_t len;
  assert_string_equal(ir_memstream_close(g, b, &len), "inner");
  assert_int_equal(len, 5);
  fprintf(a, " done");
  assert_string_equal(ir_memstream_close(g, a, NULL), "kernel 7 done");
  for (int k = 0; k < 20; k++) ir_memstream_close(g, ir_memstream_open(g), NULL); /* slots are reused */
  jmp_buf jb;
  g->on_error = &jb;
  if (setjmp(jb) == 0) {
    FILE *f = ir_memstream_open(g);
    fprintf(f, "a half-printed kernel that will never be closed");
    ir_fail(g, "failing mid-print");
  }
  assert_non_null(strstr(g->errmsg, "failing mid-print"));
  ir_graph_free(g); /* closes and frees the open stream */
}

static void test_compose_transpose_of_reshape(void **s) {
  (void)s;
  Graph *g = ir_graph_new();
  int64_t d[2] = {6, 4};
  Node *x = ir_input(g, "x", DT_F32, 2, d);
  int64_t r[3] = {2, 3, 4};
  Node *y = ir_reshape(g, x, 3, r);          /* rank 2 -> 3 */
  int perm[3] = {2, 0, 1};
  Node *z = ir_transpose(g, y, perm);       /* [4,2,3] */
  ir_mark_output(g, ir_unary(g, MAP_NEG, z), "out");
  Plan *p;
  check_same_result(g, &p);
  /* the transpose now reads x directly */
  assert_ptr_equal(z->in[0], x);
  assert_int_equal(p->nkernels, 1);
  ir_graph_free(g);
}

/* the outer GATHER has fewer dims than the inner one (DepthToSpace-like chains) */
static void test_compose_across_ranks(void **s) {
  (void)s;
  Graph *g = ir_graph_new();
  int64_t d[3] = {2, 3, 4};
  Node *x = ir_input(g, "x", DT_F32, 3, d);
  int perm[3] = {2, 0, 1};
  Node *t = ir_transpose(g, x, perm);        /* [4,2,3] */
  int64_t flat[1] = {24};
  Node *f = ir_reshape(g, t, 1, flat);       /* rank 3 -> 1 */
  ir_mark_output(g, ir_unary(g, MAP_NEG, f), "out");
  check_same_result(g, NULL);
  assert_ptr_equal(f->in[0], x);
  ir_graph_free(g);
}

static void test_compose_slice_of_pad_keeps_fill(void **s) {
  (void)s;
  Graph *g = ir_graph_new();
  int64_t d[1] = {5};
  Node *x = ir_input(g, "x", DT_F32, 1, d);
  int64_t b[1] = {2}, a[1] = {1};
  Node *pad = ir_pad(g, x, b, a, PAD_CONSTANT, sc_f(9.0));  /* [8] */
  int64_t st[1] = {1}, step[1] = {2}, len[1] = {4};
  Node *sl = ir_slice(g, pad, st, step, len);               /* pad[1,3,5,7] */
  ir_mark_output(g, ir_unary(g, MAP_NEG, sl), "out");
  check_same_result(g, NULL);
  assert_ptr_equal(sl->in[0], x);
  assert_true(sl->fill.f == 9.0);
  ir_graph_free(g);
}

static void test_identity_gather_is_dropped(void **s) {
  (void)s;
  Graph *g = ir_graph_new();
  int64_t d[2] = {3, 4};
  Node *x = ir_input(g, "x", DT_F32, 2, d);
  int perm[2] = {1, 0};
  Node *t = ir_transpose(g, ir_transpose(g, x, perm), perm);
  Node *y = ir_unary(g, MAP_EXP, t);
  ir_mark_output(g, y, "out");
  check_same_result(g, NULL);
  assert_ptr_equal(y->in[0], x);
  ir_graph_free(g);
}

static void test_dce_and_fusion(void **s) {
  (void)s;
  Graph *g = ir_graph_new();
  int64_t d[2] = {8, 16};
  Node *x = ir_input(g, "x", DT_F32, 2, d);
  Node *dead = ir_unary(g, MAP_SIN, x);
  Node *e = ir_unary(g, MAP_EXP, x);         /* used twice: materialized */
  Node *a = ir_binary(g, MAP_ADD, e, e);
  int ax[1] = {1};
  Node *r = ir_reduce(g, a, RED_ADD, 1, ax, false); /* SCATTER: materialized */
  Node *o = ir_unary(g, MAP_NEG, r);
  ir_mark_output(g, o, "out");
  Plan *p;
  check_same_result(g, &p);
  for (int i = 0; i < p->nnodes; i++) assert_ptr_not_equal(p->nodes[i], dead);
  assert_true(e->flags & NF_MATERIALIZE);
  assert_false(a->flags & NF_MATERIALIZE);
  assert_false(r->flags & NF_MATERIALIZE); /* reduced in o's kernel as its epilogue's input */
  assert_true(o->flags & NF_MATERIALIZE);
  assert_int_equal(p->nkernels, 2);
  ir_graph_free(g);
}

static void test_matmul_schedule_is_register_reduction(void **s) {
  (void)s;
  Graph *g = ir_graph_new();
  int64_t da[2] = {5, 7}, db[2] = {7, 3};
  Node *a = ir_input(g, "a", DT_F32, 2, da);
  Node *b = ir_const(g, DT_F32, 2, db, NULL);
  Node *m = ir_matmul(g, a, b);
  ir_mark_output(g, m, "out");
  Plan *p;
  check_same_result(g, &p);
  assert_int_equal(p->nkernels, 1);
  const Kernel *k = &p->kernels[0];
  assert_true(k->acc_reg);
  assert_int_equal(k->nouter, 2);
  assert_int_equal(k->nloops, 3);
  /* the reduced variable is innermost */
  const Node *src = m->in[0];
  assert_int_equal(src->dims[k->order[2]], 7);
  ir_graph_free(g);
}

/* --precision: the CUDA schedule puts float32 contractions on the tensor cores, and only
 * those (a float64 one is no GEMM at all: a thread per output) */
static void test_gpu_precision_maps_float_gemms(void **s) {
  (void)s;
  static const GpuPrecision precs[] = {PRECISION_F32, PRECISION_TF32, PRECISION_F16};
  static const GpuMap want[] = {GPU_GEMM, GPU_GEMM_TF32, GPU_GEMM_F16};
  for (int i = 0; i < 3; i++)
    for (int f64 = 0; f64 < 2; f64++) {
      Graph *g = ir_graph_new();
      int64_t da[2] = {5, 7}, db[2] = {7, 3};
      Dtype t = f64 ? DT_F64 : DT_F32;
      ir_mark_output(g, ir_matmul(g, ir_input(g, "a", t, 2, da), ir_const(g, t, 2, db, NULL)), "out");
      Plan *p = pass_run_gpu(g, precs[i], NULL, NULL);
      assert_non_null(p);
      assert_int_equal(p->nkernels, 1);
      assert_true(f64 ? !p->kernels[0].gemm : p->kernels[0].gemm != NULL);
      assert_int_equal(p->kernels[0].gpu, f64 ? GPU_OUTPUTS : want[i]);
      ir_graph_free(g);
    }
}

/* matmul + bias + relu: one kernel; a reduction feeding another reduction is materialized */
static void test_epilogue_fusion(void **s) {
  (void)s;
  Graph *g = ir_graph_new();
  int64_t da[2] = {4, 6}, db[2] = {6, 5}, dc[2] = {5, 3}, bias[1] = {5};
  Node *a = ir_input(g, "a", DT_F32, 2, da);
  float wb[30], wc[15], bb[5];
  for (int i = 0; i < 30; i++) wb[i] = (float)((i * 7) % 11) - 5.0f;
  for (int i = 0; i < 15; i++) wc[i] = (float)((i * 5) % 7) - 3.0f;
  for (int i = 0; i < 5; i++) bb[i] = (float)i - 2.0f;
  Node *m1 = ir_matmul(g, a, ir_const(g, DT_F32, 2, db, wb));
  Node *h = ir_relu(g, ir_binary(g, MAP_ADD, m1, ir_const(g, DT_F32, 1, bias, bb)));
  Node *m2 = ir_matmul(g, h, ir_const(g, DT_F32, 2, dc, wc));
  ir_mark_output(g, ir_unary(g, MAP_NEG, m2), "out");
  Plan *p;
  check_same_result(g, &p);
  assert_false(m1->flags & NF_MATERIALIZE);
  assert_false(m2->flags & NF_MATERIALIZE);
  assert_true(h->flags & NF_MATERIALIZE);   /* read by m2's reduction: not recomputed per step */
  assert_int_equal(p->nkernels, 2);
  ir_graph_free(g);
}

/* x * sigmoid(x) after a matmul + bias (SiLU): x is used twice, both times inside the same
 * element-wise expression, so it is inlined (a diamond) and the whole thing is one kernel */
static void test_diamond_silu_is_one_kernel(void **s) {
  (void)s;
  Graph *g = ir_graph_new();
  int64_t da[2] = {4, 6}, db[2] = {6, 5}, bias[1] = {5};
  Node *a = ir_input(g, "a", DT_F32, 2, da);
  float wb[30], bb[5];
  for (int i = 0; i < 30; i++) wb[i] = (float)((i * 7) % 11) - 5.0f;
  for (int i = 0; i < 5; i++) bb[i] = (float)i - 2.0f;
  Node *x = ir_binary(g, MAP_ADD, ir_matmul(g, a, ir_const(g, DT_F32, 2, db, wb)), ir_const(g, DT_F32, 1, bias, bb));
  ir_mark_output(g, ir_binary(g, MAP_MUL, x, ir_unary(g, MAP_SIGMOID, x)), "out");
  Plan *p;
  check_same_result(g, &p);
  assert_false(x->flags & NF_MATERIALIZE);
  assert_int_equal(p->nkernels, 1);
  assert_non_null(p->kernels[0].gemm);
  ir_graph_free(g);
}

/* nested diamonds would double the inlined expression per level: past a size, they are
 * materialized again, so code size stays bounded */
static void test_diamonds_stay_small(void **s) {
  (void)s;
  Graph *g = ir_graph_new();
  int64_t d[1] = {8};
  Node *x = ir_input(g, "x", DT_F32, 1, d), *y = ir_unary(g, MAP_NEG, x);
  for (int i = 0; i < 12; i++) y = ir_binary(g, MAP_MUL, y, ir_unary(g, MAP_SIGMOID, y));
  ir_mark_output(g, y, "out");
  Plan *p;
  check_same_result(g, &p);
  int materialized = 0;
  for (int i = 0; i < p->nnodes; i++) materialized += p->nodes[i]->kind == NODE_MAP && (p->nodes[i]->flags & NF_MATERIALIZE);
  assert_true(materialized > 1 && materialized < 12);
  ir_graph_free(g);
}

/* depthwise conv: not a GEMM; the row schedule takes it, with the padding as loop limits */
static void test_depthwise_rows(void **s) {
  (void)s;
  Graph *g = ir_graph_new();
  int64_t dx[4] = {1, 4, 12, 12}, dw[4] = {4, 1, 3, 3};
  Node *x = ir_input(g, "x", DT_F32, 4, dx);
  float w[36];
  for (int i = 0; i < 36; i++) w[i] = (float)(i % 5) - 2.0f;
  WindowParams wp = {.nsp = 2, .kernel = {3, 3}, .stride = {1, 1}, .dilation = {1, 1},
                     .pad_begin = {1, 1}, .pad_end = {1, 1}, .group = 4};
  Node *y = ir_conv(g, x, ir_const(g, DT_F32, 4, dw, w), NULL, &wp);
  ir_mark_output(g, y, "out");
  Plan *p;
  check_same_result(g, &p);
  bool rows = false, gemm = false;
  for (int j = 0; j < p->nkernels; j++) {
    rows |= p->kernels[j].row_gather != NULL;
    gemm |= p->kernels[j].gemm != NULL;
  }
  assert_true(rows);
  assert_false(gemm);
  ir_graph_free(g);
}

/* the same with a bias and ReLU: the plane is accumulated and the epilogue applied on store */
static void test_depthwise_rows_epilogue(void **s) {
  (void)s;
  Graph *g = ir_graph_new();
  int64_t dx[4] = {1, 4, 12, 12}, dw[4] = {4, 1, 3, 3}, db[1] = {4};
  Node *x = ir_input(g, "x", DT_F32, 4, dx);
  float w[36], b[4] = {0.5f, -0.5f, 1.0f, 0.0f};
  for (int i = 0; i < 36; i++) w[i] = (float)(i % 5) - 2.0f;
  WindowParams wp = {.nsp = 2, .kernel = {3, 3}, .stride = {1, 1}, .dilation = {1, 1},
                     .pad_begin = {1, 1}, .pad_end = {1, 1}, .group = 4};
  Node *y = ir_relu(g, ir_conv(g, x, ir_const(g, DT_F32, 4, dw, w), ir_const(g, DT_F32, 1, db, b), &wp));
  ir_mark_output(g, y, "out");
  Plan *p;
  check_same_result(g, &p);
  assert_int_equal(p->nkernels, 1);
  assert_non_null(p->kernels[0].row_scatter);
  assert_int_equal(p->kernels[0].row_var2, 2); /* the whole 12x12 plane */
  /* run as the tap schedule: 9 taps over a 14x14 padded copy, one band */
  const RowTaps *t = p->kernels[0].taps;
  assert_non_null(t);
  assert_int_equal(t->ntaps, 9);
  assert_int_equal(t->hq, 14);
  assert_int_equal(t->wq, 14);
  assert_int_equal(t->band, 12);
  assert_int_equal(t->off[4], 15); /* the center tap: one row and one column in */
  ir_graph_free(g);
}

/* the CUDA schedule runs the same tap schedule as GPU_TAPS: a block per (channel, band), the
 * threads covering a band's positions; a plane whose buffer passes GPU_TAPS_SHARED_BYTES would not */
static void test_depthwise_gpu_taps(void **s) {
  (void)s;
  Graph *g = ir_graph_new();
  int64_t dx[4] = {2, 4, 12, 12}, dw[4] = {4, 1, 3, 3};
  float w[36];
  for (int i = 0; i < 36; i++) w[i] = (float)(i % 5) - 2.0f;
  WindowParams wp = {.nsp = 2, .kernel = {3, 3}, .stride = {1, 1}, .dilation = {1, 1},
                     .pad_begin = {1, 1}, .pad_end = {1, 1}, .group = 4};
  Node *y = ir_relu(g, ir_conv(g, ir_input(g, "x", DT_F32, 4, dx), ir_const(g, DT_F32, 4, dw, w), NULL, &wp));
  ir_mark_output(g, y, "out");
  Plan *p = pass_run_gpu(g, PRECISION_F32, NULL, NULL);
  assert_non_null(p);
  assert_int_equal(p->nkernels, 1);
  const Kernel *k = &p->kernels[0];
  assert_int_equal(k->gpu, GPU_TAPS);
  assert_non_null(k->taps);
  assert_true(k->taps->buf * 4 <= GPU_TAPS_SHARED_BYTES);
  assert_int_equal(k->gpu_items, 2 * 4); /* one band of 12 rows per (image, channel) */
  assert_int_equal(k->gpu_grid[0], 8);
  assert_int_equal(k->gpu_block, 12 * 14 / 32 * 32 + 32); /* the band's 12 x 14 positions, whole warps */
  ir_graph_free(g);
}

static void test_memplan_no_overlap(void **s) {
  (void)s;
  Graph *g = ir_graph_new();
  int64_t d[1] = {100};
  Node *x = ir_input(g, "x", DT_F32, 1, d);
  int ax[1] = {0};
  /* a chain of reductions and broadcasts: several arena buffers with overlapping lives */
  Node *cur = x;
  for (int i = 0; i < 6; i++) {
    Node *m = ir_reduce(g, cur, RED_MAX, 1, ax, true);
    Node *e = ir_unary(g, MAP_EXP, ir_binary(g, MAP_SUB, cur, m));
    Node *sum = ir_reduce(g, e, RED_ADD, 1, ax, true);
    cur = ir_binary(g, MAP_DIV, e, sum);
  }
  ir_mark_output(g, cur, "out");
  Plan *p;
  check_same_result(g, &p);
  /* recompute liveness independently: kernel j defines root j; reads extend life */
  int nk = p->nkernels;
  for (int i = 0; i < nk; i++) {
    const Node *a = p->kernels[i].root;
    if (pass_buf_kind(a) != BUF_ARENA) continue;
    assert_true(a->offset >= 0);
    assert_true(a->offset + a->numel * 4 <= p->arena_bytes);
    assert_int_equal(a->offset % 64, 0);
    for (int j = i + 1; j < nk; j++) {
      const Node *b = p->kernels[j].root;
      if (pass_buf_kind(b) != BUF_ARENA) continue;
      /* is a still read at or after kernel j? */
      bool live = false;
      for (int u = j; u < nk && !live; u++) {
        const Kernel *k = &p->kernels[u];
        for (int f = -1; f < k->nfused && !live; f++) {
          const Node *n = f < 0 ? k->root : k->fused[f];
          for (int e = 0; e < n->nin; e++) live |= n->in[e] == a;
        }
      }
      if (!live) continue;
      bool disjoint = a->offset + a->numel * 4 <= b->offset || b->offset + b->numel * 4 <= a->offset;
      assert_true(disjoint);
    }
  }
  assert_true(p->arena_bytes <= p->peak_live_bytes + 64 * nk);
  ir_graph_free(g);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_memstream),
    cmocka_unit_test(test_compose_transpose_of_reshape),
    cmocka_unit_test(test_compose_across_ranks),
    cmocka_unit_test(test_compose_slice_of_pad_keeps_fill),
    cmocka_unit_test(test_identity_gather_is_dropped),
    cmocka_unit_test(test_dce_and_fusion),
    cmocka_unit_test(test_matmul_schedule_is_register_reduction),
    cmocka_unit_test(test_gpu_precision_maps_float_gemms),
    cmocka_unit_test(test_depthwise_gpu_taps),
    cmocka_unit_test(test_epilogue_fusion),
    cmocka_unit_test(test_diamond_silu_is_one_kernel),
    cmocka_unit_test(test_diamonds_stay_small),
    cmocka_unit_test(test_depthwise_rows),
    cmocka_unit_test(test_depthwise_rows_epilogue),
    cmocka_unit_test(test_memplan_no_overlap),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
