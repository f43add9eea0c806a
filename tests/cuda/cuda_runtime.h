/* cuda_runtime.h: lets a .cu file's `#include <cuda_runtime.h>` find the CUDA
 * emulator when it is built with the host compiler and `-I tests/cuda`. */
#include "cuda_emu.h"
