/* launch.c: the CUDA target's thread mapping (Plan.gpu only; a no-op for C).
 *
 * Each kernel's loop nest becomes a grid: element-wise kernels and register
 * reductions put one thread on each output element, striding over the
 * elements with the whole grid; reductions with few outputs and long sums
 * give each output a block that reduces through warp shuffles and shared
 * memory; contractions get tiled GEMM blocks; SCATTERs whose write indices
 * collide use atomics for sums and one ordered thread otherwise. */
#include "passes.h"

const char *const gpu_map_names[] = {
  [GPU_NONE] = "none", [GPU_ELEMENTS] = "thread per element", [GPU_OUTPUTS] = "thread per output",
  [GPU_BLOCK_REDUCE] = "block per output", [GPU_ATOMIC] = "atomic add", [GPU_SERIAL] = "one ordered thread",
  [GPU_GEMM] = "tiled GEMM 64x64x16", [GPU_GEMM_TF32] = "tensor-core GEMM 64x64x16, tf32 inputs",
  [GPU_GEMM_F16] = "tensor-core GEMM 64x64x16, fp16 inputs", [GPU_TAPS] = "block per plane band, taps over shared memory",
};

const char *const gpu_precision_names[] = {[PRECISION_F32] = "fp32", [PRECISION_TF32] = "tf32", [PRECISION_F16] = "fp16"};

enum { BLOCK = 256, MAX_GRID = 65535 };

static int64_t blocks_for(int64_t items, int64_t per_block) {
  int64_t b = (items + per_block - 1) / per_block;
  return b < 1 ? 1 : b > MAX_GRID ? MAX_GRID : b;
}

/* Reductions a shuffle tree may reorder, over types __shfl_down_sync carries. */
static bool tree_reducible(const Node *n) {
  if (n->red == RED_ASSIGN || n->cond) return false;
  switch (n->dtype) {
  case DT_F32: case DT_F64: case DT_I32: case DT_I64: case DT_U32: case DT_U64: return true;
  default: return false;
  }
}

static bool atomic_addable(Dtype t) {
  return t == DT_F32 || t == DT_F64 || t == DT_I32 || t == DT_U32 || t == DT_I64 || t == DT_U64;
}

void pass_launch(Plan *p) {
  for (int j = 0; j < p->nkernels; j++) {
    Kernel *k = &p->kernels[j];
    k->gpu = GPU_NONE;
    if (!p->gpu) continue;
    Node *n = k->root;
    k->gpu_block = BLOCK;
    k->gpu_grid[0] = k->gpu_grid[1] = k->gpu_grid[2] = 1;
    int64_t outer = 1, inner = 1;
    for (int l = 0; l < k->nloops; l++) {
      if (l < k->nouter || !k->acc_reg) outer *= k->dom[k->order[l]];
      else inner *= k->dom[k->order[l]];
    }
    if (k->taps) {
      /* a block per (outer index, band); its threads cover the band's positions once or a few times */
      const RowTaps *t = k->taps;
      const Node *s = k->row_scatter ? k->row_scatter : n;
      int64_t o = 1, positions = t->band * t->wq;
      for (int j = 0; j < s->rank; j++)
        if (j != k->row_var && j != k->row_var2) o *= s->dims[j];
      k->gpu = GPU_TAPS;
      k->gpu_items = o * ((t->rows + t->band - 1) / t->band);
      k->gpu_grid[0] = blocks_for(k->gpu_items, 1);
      k->gpu_block = positions >= BLOCK ? BLOCK : (int)((positions + 31) / 32 * 32);
    } else if (k->gemm) {
      const Contraction *c = k->gemm;
      int64_t o = 1;
      for (int v = 0; v < c->nouter; v++) o *= c->scatter->in[0]->dims[c->outer[v]];
      /* (contractions are float32; an epilogue may store another type, which print_gemm refuses) */
      k->gpu = n->dtype != DT_F32 || p->precision == PRECISION_F32 ? GPU_GEMM
               : p->precision == PRECISION_TF32                    ? GPU_GEMM_TF32
                                                                   : GPU_GEMM_F16;
      k->gpu_items = o;
      k->gpu_grid[0] = blocks_for(c->N, 64);
      k->gpu_grid[1] = blocks_for(c->M, 64);
      k->gpu_grid[2] = blocks_for(o, 1);
    } else if (n->kind == NODE_SCATTER && k->acc_reg) {
      k->gpu_items = outer;
      if (outer < 4096 && inner >= 128 && tree_reducible(n)) {
        k->gpu = GPU_BLOCK_REDUCE;
        k->gpu_grid[0] = blocks_for(outer, 1);
      } else {
        k->gpu = GPU_OUTPUTS;
        k->gpu_grid[0] = blocks_for(outer, BLOCK);
      }
    } else if (n->kind == NODE_SCATTER) {
      k->gpu_items = outer;
      if (n->red == RED_ADD && atomic_addable(n->dtype)) {
        k->gpu = GPU_ATOMIC;
        k->gpu_grid[0] = blocks_for(outer > n->numel ? outer : n->numel, BLOCK);
      } else {
        k->gpu = GPU_SERIAL;
        k->gpu_block = 1;
      }
    } else {
      k->gpu = GPU_ELEMENTS;
      k->gpu_items = outer;
      k->gpu_grid[0] = blocks_for(outer, BLOCK);
    }
  }
}
