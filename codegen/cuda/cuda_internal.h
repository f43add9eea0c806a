/* cuda_internal.h: shared by the CUDA printer's files (cuda_gen.c prints the
 * file and the host API, cuda_kernel.c the __global__ kernels). */
#ifndef JTC_CUDA_INTERNAL_H
#define JTC_CUDA_INTERNAL_H

#include "codegen/c/cgen_internal.h"

/* One printed kernel: its device function(s) and the buffers each reads (its parameters after the root). */
typedef struct {
  const char *name;          /* <prefix>_k<j>_<onnx node> */
  const Node **params; int nparams;
  const char *epi_name;      /* a GEMM whose root is a separate element-wise pass: that kernel, else NULL */
  const Node **epi_params; int nepi_params;
  int64_t epi_items, epi_grid;
} CuKernel;

/* Print kernel j of c->p into c->f; fills *out. Marks c->ever_read. */
void cu_print_kernel(CgCtx *c, int j, CuKernel *out);

#endif
