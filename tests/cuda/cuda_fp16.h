/* cuda_fp16.h: lets a .cu file's `#include <cuda_fp16.h>` find the CUDA emulator when it is
 * built with the host compiler and `-I tests/cuda` (see cuda_runtime.h). */
#include "cuda_emu.h"
