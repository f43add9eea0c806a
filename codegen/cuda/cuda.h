/* cuda.h: the CUDA code generator's interface. It prints a Plan scheduled
 * by pass_run_gpu as one .cu file plus its header: the C target's API (host
 * pointers) plus <prefix>_run_device (device pointers and a stream). */
#ifndef JTC_CUDA_H
#define JTC_CUDA_H

#include "codegen/c/cgen.h"

/* Write the files; returns 0, or -1 with a message printed to stderr. */
int cgcuda_write(Plan *p, const CgOptions *opt);
/* Check an --arch list ("sm_87,sm_90"); returns NULL or what is wrong with it. */
const char *cgcuda_check_arch(const char *arch);

#endif
