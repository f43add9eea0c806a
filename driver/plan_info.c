/* plan_info.c: the facts of plan_info.h, gathered by printing the kernels
 * once more to memory (the text is dropped; the printer's read marks stay). */
#include "driver/plan_info.h"

#include <string.h>

#include "codegen/cuda/cuda_internal.h"

/* Add n to the reads of ki unless it is the kernel's own output, not a buffer, or printed inline. */
static void add_read(KernelInfo *ki, const Kernel *k, const Node *n) {
  if (n == k->root || !pass_is_buffer(n) || pass_is_scalar_const(n)) return;
  for (int r = 0; r < ki->nreads; r++)
    if (ki->reads[r] == n) return;
  ki->reads[ki->nreads++] = n;
}

PlanInfo *plan_info(Plan *p, const CgOptions *co) {
  Graph *g = p->g;
  PlanInfo *pi = ir_alloc(g, sizeof *pi);
  pi->p = p;
  pi->g = g;
  pi->co = co;
  pi->cuda = co->arch != NULL; /* as driver/compile.c picks the printer */
  CgCtx *c = &pi->c;
  cg_ctx_init(c, p, co);
  pi->k = ir_alloc_array(g, (size_t)p->nkernels + 1, sizeof(KernelInfo));
  c->f = ir_memstream_open(g);
  for (int j = 0; j < p->nkernels; j++) {
    KernelInfo *ki = &pi->k[j];
    const Kernel *k = &p->kernels[j];
    ki->reads = ir_alloc_array(g, (size_t)p->nnodes + 1, sizeof(Node *));
    if (pi->cuda) {
      CuKernel ck;
      cu_print_kernel(c, j, &ck);
      ki->name = ck.name;
      ki->epi_name = ck.epi_name;
      /* a __global__'s parameters are exactly the buffers it loads; plan order for the report */
      for (int i = 0; i < p->nnodes; i++) {
        const Node *n = p->nodes[i];
        bool in = false;
        for (int b = 0; b < ck.nparams; b++) in |= ck.params[b] == n;
        for (int b = 0; b < ck.nepi_params; b++) in |= ck.epi_params[b] == n;
        if (in) add_read(ki, k, n);
      }
    } else {
      cg_print_kernel(c, j);
      ki->name = c->kname;
      ki->gemm_post = k->gemm && c->gemm_post;
      for (int i = 0; i < p->nnodes; i++)
        if (c->read[p->nodes[i]->id]) add_read(ki, k, p->nodes[i]);
    }
  }
  ir_memstream_close(g, c->f, NULL);
  c->f = NULL;
  /* the constants the file holds, laid out as the printers do (cgc_write, cgcuda_write) */
  for (int k = 0; k < g->noutputs; k++) c->ever_read[g->outputs[k]->id] = true;
  for (int i = 0; i < p->nnodes; i++) {
    const Node *n = p->nodes[i];
    if (!cg_is_array_const(c, n)) continue;
    pi->const_bytes += n->numel * (int64_t)dt_size(n->dtype);
    pi->nconsts++;
  }
  JTC_ASSERT(pi->const_bytes == p->const_bytes);
  pi->w.embed = co->weights == WEIGHTS_EMBED || (co->weights == WEIGHTS_AUTO && pi->const_bytes <= co->embed_limit);
  cg_weights_layout(c, &pi->w);
  pi->last_use = pass_last_use(p);
  pi->writer = ir_alloc_array(g, (size_t)g->nnodes, sizeof(int));
  for (int i = 0; i < g->nnodes; i++) pi->writer[i] = -1;
  for (int j = 0; j < p->nkernels; j++) pi->writer[p->kernels[j].root->id] = j;
  return pi;
}

/* Length of the valid UTF-8 sequence at s (1 to 4), or 0. */
static int utf8_len(const unsigned char *s) {
  int n = s[0] < 0x80 ? 1 : (s[0] & 0xe0) == 0xc0 ? 2 : (s[0] & 0xf0) == 0xe0 ? 3 : (s[0] & 0xf8) == 0xf0 ? 4 : 0;
  if (n == 2 && s[0] < 0xc2) return 0; /* overlong */
  for (int k = 1; k < n; k++)
    if ((s[k] & 0xc0) != 0x80) return 0;
  if (n == 3 && ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0))) return 0; /* overlong, surrogate */
  if (n == 4 && ((s[0] == 0xf0 && s[1] < 0x90) || s[0] > 0xf4 || (s[0] == 0xf4 && s[1] >= 0x90))) return 0;
  return n;
}

const char *plan_text(Graph *g, const char *s) {
  if (!s) return NULL;
  Str b;
  str_init(&b, g);
  str_cat(&b, "%s", "");
  for (const unsigned char *u = (const unsigned char *)s; *u;) {
    int n = utf8_len(u);
    if (n == 1 && *u < 32 && *u != '\n' && *u != '\t') n = 0;
    if (!n) {
      str_cat(&b, "?");
      u++;
    } else {
      str_cat(&b, "%.*s", n, (const char *)u);
      u += n;
    }
  }
  return b.s;
}

const char **plan_kernel_origins(Graph *g, const Kernel *k, bool ops, int *n) {
  const char **seen = ir_alloc_array(g, (size_t)k->nfused + 1, sizeof(char *));
  *n = 0;
  for (int f = -1; f < k->nfused; f++) {
    const Node *x = f < 0 ? k->root : k->fused[f];
    const char *s = ops ? x->origin_op : x->origin;
    bool dup = !s;
    for (int i = 0; i < *n && !dup; i++) dup = !strcmp(seen[i], s);
    if (!dup) seen[(*n)++] = s;
  }
  return seen;
}
