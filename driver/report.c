/* report.c: writes the --report JSON with cJSON. Every object is built in one
 * fixed key order and every key is always present (null where it does not
 * apply); integers are written as exact decimal text (cJSON's numbers are
 * doubles). The format is documented in README.md, "Report format". */
#include "driver/report.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static void add_int(cJSON *o, const char *key, int64_t v) {
  char buf[32];
  snprintf(buf, sizeof buf, "%" PRId64, v);
  cJSON_AddRawToObject(o, key, buf);
}

static cJSON *int_item(int64_t v) {
  char buf[32];
  snprintf(buf, sizeof buf, "%" PRId64, v);
  return cJSON_CreateRaw(buf);
}

static void add_str(const PlanInfo *pi, cJSON *o, const char *key, const char *s) {
  if (s) cJSON_AddStringToObject(o, key, plan_text(pi->g, s));
  else cJSON_AddNullToObject(o, key);
}

static cJSON *int_array(const int64_t *v, int n) {
  cJSON *a = cJSON_CreateArray();
  for (int i = 0; i < n; i++) cJSON_AddItemToArray(a, int_item(v[i]));
  return a;
}

static cJSON *var_array(const int *v, int n) {
  cJSON *a = cJSON_CreateArray();
  for (int i = 0; i < n; i++) cJSON_AddItemToArray(a, int_item(v[i]));
  return a;
}

static int64_t node_bytes(const Node *n) { return n->numel * (int64_t)dt_size(n->dtype); }

/* {"name", "dtype", "shape", "bytes"} of a graph input or output */
static cJSON *tensor(const PlanInfo *pi, const char *name, const Node *n) {
  cJSON *t = cJSON_CreateObject();
  add_str(pi, t, "name", name);
  cJSON_AddStringToObject(t, "dtype", dt_name(n->dtype));
  cJSON_AddItemToObject(t, "shape", int_array(n->dims, n->rank));
  add_int(t, "bytes", node_bytes(n));
  return t;
}

/* FLOPs of one node: an arithmetic MAP (every op but CAST and COPY) counts one per
 * element of its result; a reducing SCATTER (every reduction but RED_ASSIGN) one per
 * element of its source; LEAF, GATHER, OPAQUE and copies count 0. A contraction, a
 * SCATTER-add of a MAP-mul, so counts 2*M*N*K*outer: the multiply and the add. */
static int64_t node_flops(const Node *n) {
  if (n->kind == NODE_MAP) return n->op == MAP_CAST || n->op == MAP_COPY ? 0 : n->numel;
  if (n->kind == NODE_SCATTER) return n->red == RED_ASSIGN ? 0 : n->in[0]->numel;
  return 0;
}

int64_t report_kernel_flops(const Kernel *k) {
  int64_t f = node_flops(k->root);
  for (int i = 0; i < k->nfused; i++) f += node_flops(k->fused[i]);
  return f;
}

/* Per ISA of runtime_stub/gemm.h (the C compiler's feature macros pick one when the
 * generated file is compiled): float lanes per vector, and the MR x NR micro-tile
 * and NC column block. tests/report/check_report.py checks these against gemm.h. */
static const struct { const char *isa; int lanes, mr, nr, nc; } gemm_isas[] = {
  {"avx512f", 16, 12, 32, 512},
  {"avx2+fma", 8, 6, 16, 512},
  {"neon", 4, 12, 8, 256},
  {"scalar", 1, 4, 16, 256},
};
enum { GEMM_ISAS = sizeof gemm_isas / sizeof gemm_isas[0], GEMM_KC = 256, GEMM_PANEL = 12, CUDA_TILE = 64, CUDA_THREAD_TILE = 4 };

static cJSON *per_isa(int field) {
  cJSON *o = cJSON_CreateObject();
  for (int i = 0; i < GEMM_ISAS; i++)
    add_int(o, gemm_isas[i].isa, field == 0 ? gemm_isas[i].lanes : field == 1 ? gemm_isas[i].mr : field == 2 ? gemm_isas[i].nr : gemm_isas[i].nc);
  return o;
}

/* The innermost emitted loop (a row kernel's: its row), or -1. */
static int inner_var(const Kernel *k) {
  if (k->row_gather) return k->row_var;
  return k->nloops ? k->order[k->nloops - 1] : -1;
}

static int64_t row_extent(const Kernel *k, int v) {
  return v < 0 ? 0 : k->row_scatter ? k->row_scatter->in[0]->dims[v] : k->dom[v];
}

static cJSON *vector_width(const PlanInfo *pi, const Kernel *k) {
  cJSON *v = cJSON_CreateObject();
  if (pi->cuda) add_int(v, "compile_time", 1); /* a thread per element (a GEMM: a 4x4 tile per thread) */
  else cJSON_AddNullToObject(v, "compile_time");
  if (k->gemm && !pi->cuda) cJSON_AddItemToObject(v, "by_isa", per_isa(0));
  else cJSON_AddNullToObject(v, "by_isa");
  int iv = inner_var(k);
  if (!pi->cuda && !k->gemm && iv >= 0) {
    cJSON *l = cJSON_CreateObject();
    add_int(l, "var", iv);
    add_int(l, "extent", row_extent(k, iv));
    cJSON_AddItemToObject(v, "auto_vectorized_loop", l);
  } else {
    cJSON_AddNullToObject(v, "auto_vectorized_loop");
  }
  return v;
}

static const char *epilogue_kind(const PlanInfo *pi, const KernelInfo *ki, const Kernel *k) {
  const Contraction *gm = k->gemm;
  if (k->root == gm->scatter) return "none";
  if (gm->epi) return "in_stores";
  if (pi->cuda) return "separate_kernel";
  return ki->gemm_post ? "per_tile" : "second_pass";
}

static cJSON *tiles(const PlanInfo *pi, const KernelInfo *ki, const Kernel *k) {
  if (k->gemm) {
    const Contraction *gm = k->gemm;
    int64_t outer = 1;
    for (int o = 0; o < gm->nouter; o++) outer *= gm->scatter->in[0]->dims[gm->outer[o]];
    cJSON *t = cJSON_CreateObject();
    cJSON_AddStringToObject(t, "kind", "gemm");
    add_int(t, "M", gm->M);
    add_int(t, "N", gm->N);
    add_int(t, "K", gm->K);
    add_int(t, "outer", outer);
    add_int(t, "ldc", gm->ldc);
    add_int(t, "contraction_flops", 2 * gm->M * gm->N * gm->K * outer);
    cJSON_AddBoolToObject(t, "a_packed_at_compile_time", gm->apacked != NULL);
    cJSON_AddBoolToObject(t, "transposed", gm->transposed);
    cJSON_AddStringToObject(t, "epilogue", epilogue_kind(pi, ki, k));
    if (pi->cuda) {
      cJSON_AddNullToObject(t, "mr");
      cJSON_AddNullToObject(t, "nr");
      cJSON_AddNullToObject(t, "kc");
      cJSON_AddNullToObject(t, "nc");
      cJSON_AddNullToObject(t, "panel");
      int64_t bt[2] = {CUDA_TILE, CUDA_TILE}, tt[2] = {CUDA_THREAD_TILE, CUDA_THREAD_TILE};
      cJSON_AddItemToObject(t, "block_tile", int_array(bt, 2));
      cJSON_AddItemToObject(t, "thread_tile", int_array(tt, 2));
    } else {
      cJSON_AddItemToObject(t, "mr", per_isa(1));
      cJSON_AddItemToObject(t, "nr", per_isa(2));
      add_int(t, "kc", GEMM_KC);
      cJSON_AddItemToObject(t, "nc", per_isa(3));
      add_int(t, "panel", GEMM_PANEL);
      cJSON_AddNullToObject(t, "block_tile");
      cJSON_AddNullToObject(t, "thread_tile");
    }
    return t;
  }
  if (k->row_gather) {
    int v = k->row_var, u = k->row_var2;
    cJSON *t = cJSON_CreateObject();
    cJSON_AddStringToObject(t, "kind", "rows");
    add_int(t, "row_var", v);
    add_int(t, "row_extent", row_extent(k, v));
    if (u >= 0) add_int(t, "plane_var", u);
    else cJSON_AddNullToObject(t, "plane_var");
    if (u >= 0) add_int(t, "plane_extent", row_extent(k, u));
    else cJSON_AddNullToObject(t, "plane_extent");
    add_int(t, "accumulators", k->taps ? k->taps->band * k->taps->wq : row_extent(k, v) * (u >= 0 ? row_extent(k, u) : 1));
    cJSON_AddBoolToObject(t, "epilogue_on_store", k->row_scatter != NULL);
    if (k->taps) {
      add_int(t, "taps", k->taps->ntaps);
      add_int(t, "taps_per_pass", k->taps->per_pass);
      add_int(t, "padded_buffer", k->taps->buf);
      add_int(t, "band_rows", k->taps->band);
    } else {
      cJSON_AddNullToObject(t, "taps");
      cJSON_AddNullToObject(t, "taps_per_pass");
      cJSON_AddNullToObject(t, "padded_buffer");
      cJSON_AddNullToObject(t, "band_rows");
    }
    return t;
  }
  return cJSON_CreateNull();
}

static cJSON *gpu(const PlanInfo *pi, const KernelInfo *ki, const Kernel *k) {
  if (!pi->cuda) return cJSON_CreateNull();
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "mapping", gpu_map_names[k->gpu]);
  add_int(o, "block", k->gpu_block);
  cJSON_AddItemToObject(o, "grid", int_array(k->gpu_grid, 3));
  add_int(o, "items", k->gpu_items);
  add_str(pi, o, "epilogue_kernel", ki->epi_name);
  return o;
}

static cJSON *kernel(const PlanInfo *pi, int j, int64_t *tot) {
  const Kernel *k = &pi->p->kernels[j];
  const KernelInfo *ki = &pi->k[j];
  Node *root = k->root;
  cJSON *o = cJSON_CreateObject();
  add_int(o, "index", j);
  add_str(pi, o, "name", ki->name);
  add_str(pi, o, "op", root->origin_op ? root->origin_op : node_kind_names[root->kind]);
  cJSON *nodes = cJSON_CreateArray();
  int nnames;
  const char **names = plan_kernel_origins(pi->g, k, false, &nnames);
  for (int i = 0; i < nnames; i++) cJSON_AddItemToArray(nodes, cJSON_CreateString(plan_text(pi->g, names[i])));
  cJSON_AddItemToObject(o, "onnx_nodes", nodes);
  cJSON *out = cJSON_CreateObject();
  add_str(pi, out, "buffer", cg_bufname((CgCtx *)&pi->c, root));
  cJSON_AddStringToObject(out, "dtype", dt_name(root->dtype));
  cJSON_AddItemToObject(out, "shape", int_array(root->dims, root->rank));
  cJSON_AddItemToObject(o, "output", out);
  cJSON_AddItemToObject(o, "domain", int_array(k->dom, k->ndom));
  cJSON_AddItemToObject(o, "loop_order", var_array(k->order, k->nloops));
  add_int(o, "parallel_loops", k->npar);
  cJSON_AddBoolToObject(o, "register_accumulator", k->acc_reg);
  cJSON_AddItemToObject(o, "vector_width", vector_width(pi, k));
  cJSON_AddItemToObject(o, "tiles", tiles(pi, ki, k));
  cJSON_AddItemToObject(o, "gpu", gpu(pi, ki, k));
  int64_t flops = report_kernel_flops(k), rd = 0, wr = node_bytes(root);
  cJSON *reads = cJSON_CreateArray();
  for (int r = 0; r < ki->nreads; r++) {
    rd += node_bytes(ki->reads[r]);
    cJSON_AddItemToArray(reads, cJSON_CreateString(plan_text(pi->g, cg_bufname((CgCtx *)&pi->c, ki->reads[r]))));
  }
  cJSON_AddItemToObject(o, "reads", reads);
  add_int(o, "flops", flops);
  add_int(o, "bytes_read", rd);
  add_int(o, "bytes_written", wr);
  tot[0] += flops;
  tot[1] += rd;
  tot[2] += wr;
  return o;
}

typedef struct { const char *name; int64_t off, bytes, reserved; int first, last; } ArenaBuf;

static int by_offset_name(const void *a, const void *b) {
  const ArenaBuf *x = a, *y = b;
  if (x->off != y->off) return x->off < y->off ? -1 : 1;
  return strcmp(x->name, y->name);
}

static cJSON *arena(const PlanInfo *pi) {
  const Plan *p = pi->p;
  cJSON *o = cJSON_CreateObject();
  add_int(o, "bytes", p->arena_bytes);
  add_int(o, "peak_live_bytes", p->peak_live_bytes);
  add_int(o, "two_largest_live_bytes", p->two_largest_live_bytes);
  ArenaBuf *bufs = ir_alloc_array(pi->g, (size_t)p->nkernels + 1, sizeof *bufs);
  int n = 0;
  for (int j = 0; j < p->nkernels; j++) {
    const Node *r = p->kernels[j].root;
    if (pass_buf_kind(r) != BUF_ARENA) continue;
    int64_t reserved = (node_bytes(r) + 63) & ~(int64_t)63; /* as pass_memplan reserves */
    int last = pi->last_use[r->id];
    bufs[n++] = (ArenaBuf){cg_bufname((CgCtx *)&pi->c, r), r->offset, node_bytes(r), reserved ? reserved : 64, j, last > j ? last : j};
  }
  qsort(bufs, (size_t)n, sizeof *bufs, by_offset_name);
  cJSON *a = cJSON_CreateArray();
  for (int i = 0; i < n; i++) {
    cJSON *b = cJSON_CreateObject();
    add_str(pi, b, "name", bufs[i].name);
    add_int(b, "offset", bufs[i].off);
    add_int(b, "bytes", bufs[i].bytes);
    add_int(b, "reserved_bytes", bufs[i].reserved);
    add_int(b, "first_kernel", bufs[i].first);
    add_int(b, "last_kernel", bufs[i].last);
    cJSON_AddItemToArray(a, b);
  }
  cJSON_AddItemToObject(o, "buffers", a);
  return o;
}

static cJSON *options(const PlanInfo *pi, const CompileOptions *o) {
  static const char *const wmodes[] = {[WEIGHTS_AUTO] = "auto", [WEIGHTS_EMBED] = "embed", [WEIGHTS_FILE] = "file"};
  cJSON *j = cJSON_CreateObject();
  cJSON_AddStringToObject(j, "target", pi->cuda ? "cuda" : "c");
  add_str(pi, j, "prefix", pi->co->prefix);
  cJSON_AddBoolToObject(j, "naive", o->naive);
  cJSON_AddBoolToObject(j, "embedded", o->embedded);
  cJSON *shapes = cJSON_CreateArray();
  for (int i = 0; i < o->nshapes; i++) {
    cJSON *s = cJSON_CreateObject();
    add_str(pi, s, "name", o->shapes[i].name);
    cJSON_AddItemToObject(s, "dims", int_array(o->shapes[i].dims, o->shapes[i].rank));
    cJSON_AddItemToArray(shapes, s);
  }
  cJSON_AddItemToObject(j, "shapes", shapes);
  for (int w = 0; w < 2; w++) { /* --bind, --seq: the input and the file's basename */
    const OnnxBind *b = w ? o->seqs : o->binds;
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < (w ? o->nseqs : o->nbinds); i++) {
      cJSON *s = cJSON_CreateObject();
      add_str(pi, s, "name", b[i].name);
      add_str(pi, s, "file", cg_basename(b[i].path));
      cJSON_AddItemToArray(a, s);
    }
    cJSON_AddItemToObject(j, w ? "seqs" : "binds", a);
  }
  add_str(pi, j, "weights_override", o->weights ? cg_basename(o->weights) : NULL);
  cJSON_AddStringToObject(j, "weights_mode", wmodes[pi->co->weights]);
  add_int(j, "embed_limit", pi->co->embed_limit);
  add_str(pi, j, "arch", pi->cuda ? pi->co->arch : NULL);
  cJSON_AddBoolToObject(j, "cuda_graph", pi->cuda && pi->co->cuda_graph);
  add_str(pi, j, "precision", pi->cuda ? gpu_precision_names[pi->p->precision] : NULL);
  return j;
}

static cJSON *build(const PlanInfo *pi, const CompileOptions *o) {
  const Plan *p = pi->p;
  Graph *g = pi->g;
  cJSON *r = cJSON_CreateObject();
  cJSON_AddStringToObject(r, "jtc", JTC_VERSION);
  cJSON_AddItemToObject(r, "options", options(pi, o));
  add_str(pi, r, "model", cg_basename(pi->co->model));
  cJSON *ins = cJSON_CreateArray(), *outs = cJSON_CreateArray();
  for (int k = 0; k < g->ninputs; k++) cJSON_AddItemToArray(ins, tensor(pi, g->inputs[k]->name, g->inputs[k]));
  for (int k = 0; k < g->noutputs; k++) cJSON_AddItemToArray(outs, tensor(pi, g->output_names[k], g->outputs[k]));
  cJSON_AddItemToObject(r, "inputs", ins);
  cJSON_AddItemToObject(r, "outputs", outs);
  int64_t tot[3] = {0, 0, 0};
  cJSON *ks = cJSON_CreateArray();
  for (int j = 0; j < p->nkernels; j++) cJSON_AddItemToArray(ks, kernel(pi, j, tot));
  cJSON_AddItemToObject(r, "kernels", ks);
  cJSON *t = cJSON_CreateObject();
  add_int(t, "kernels", p->nkernels);
  add_int(t, "flops", tot[0]);
  add_int(t, "bytes_read", tot[1]);
  add_int(t, "bytes_written", tot[2]);
  cJSON_AddItemToObject(r, "totals", t);
  cJSON_AddItemToObject(r, "arena", arena(pi));
  cJSON *w = cJSON_CreateObject();
  add_int(w, "bytes", pi->const_bytes);
  add_int(w, "tensors", pi->nconsts);
  add_int(w, "blob_bytes", pi->w.bytes);
  cJSON_AddBoolToObject(w, "embedded", pi->w.embed);
  add_str(pi, w, "file", pi->w.embed ? NULL : cg_basename(pi->co->weights_path));
  cJSON_AddItemToObject(r, "weights", w);
  if (pi->cuda) {
    cJSON_AddNullToObject(r, "gemm_scratch");
  } else {
    cJSON *s = cJSON_CreateObject();
    add_int(s, "per_thread_floats", p->gemm_scratch_floats);
    add_int(s, "apack_floats", p->gemm_apack_floats);
    add_int(s, "ct_floats", p->gemm_ct_floats);
    cJSON_AddItemToObject(r, "gemm_scratch", s);
  }
  return r;
}

int report_write(const PlanInfo *pi, const CompileOptions *o, const char *path) {
  cJSON *r = build(pi, o);
  char *text = r ? cJSON_Print(r) : NULL;
  cJSON_Delete(r);
  if (!text) {
    fprintf(stderr, "jtc: cannot write %s: out of memory\n", path);
    return -1;
  }
  FILE *f = fopen(path, "w");
  if (!f) {
    fprintf(stderr, "jtc: cannot write %s: %s\n", path, strerror(errno));
    cJSON_free(text);
    return -1;
  }
  bool ok = fputs(text, f) >= 0 && fputc('\n', f) != EOF;
  cJSON_free(text);
  if (fclose(f) != 0 || !ok) {
    fprintf(stderr, "jtc: error writing %s\n", path);
    return -1;
  }
  return 0;
}
