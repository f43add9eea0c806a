/* mma.h: lets a .cu file's `#include <mma.h>` find the CUDA emulator when it is
 * built with the host compiler and `-I tests/cuda` (see cuda_runtime.h). */
#include "cuda_emu.h"
