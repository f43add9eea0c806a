/* cuda_emu.h: runs CUDA sources on the CPU, for CI machines without a GPU.
 *
 *   g++ -std=c++17 -O1 -x c++ -include tests/cuda/cuda_emu.h -c net.cu
 *
 * compiles a .cu written for nvcc with the host compiler (g++ or clang++,
 * C++17, clean under -Wall -Wextra -Werror). Kernels run on the CPU with
 * CUDA's semantics, synchronously, in the calling host thread. JTC_CUDA_EMU is
 * defined; __CUDACC__ and __CUDA_ARCH__ are not. A later
 * `#include <cuda_runtime.h>` is skipped if it finds the real header (its
 * include guard is defined here); without CUDA headers on the include path
 * it needs `-I tests/cuda` (whose cuda_runtime.h includes this file) or an
 * `#ifndef JTC_CUDA_EMU` around it in the source.
 *
 * The subset:
 *   qualifiers  __global__ __device__ __host__ __forceinline__ __noinline__
 *               __restrict__ __align__(n) __launch_bounds__(...) __constant__
 *               __shared__ (static-size, in kernels; all blocks share the storage)
 *   built-ins   threadIdx blockIdx (uint3), blockDim gridDim (dim3), warpSize;
 *               dim3, uint3, {float,int,uint}{2,4}, double2, make_*
 *   barriers    __syncthreads()   __syncwarp(mask = ~0u)
 *   warp ops    __shfl_sync __shfl_up_sync __shfl_down_sync __shfl_xor_sync
 *               (mask, v, lane/delta, width = 32) for int, unsigned, long,
 *               unsigned long, long long, unsigned long long, float, double;
 *               __ballot_sync __any_sync __all_sync. A warp is 32 consecutive
 *               linear thread ids; every lane of mask that exists must call the
 *               same op with the same mask; the lanes past the end of a
 *               partial last warp are not waited for. A value read from a lane
 *               that does not exist or does not take part is poison (float and
 *               double NaN, integers 0xbad0bad0...).
 *   tensor cores __half and nvcuda::wmma (fp16 and tf32 MMA): see cuda_emu_mma.h
 *   atomics     atomicAdd: float double int unsigned unsigned-long-long;
 *               atomicSub/And/Or/Xor: int unsigned (And/Or/Xor also ull);
 *               atomicMax/Min: int unsigned long-long unsigned-long-long;
 *               atomicCAS: int unsigned unsigned-long-long;
 *               atomicExch: int unsigned unsigned-long-long float;
 *               atomicInc/atomicDec: unsigned
 *   bits, math  __float_as_int __int_as_float __float_as_uint __uint_as_float
 *               __double_as_longlong __longlong_as_double __ldg __popc __popcll
 *               __clz __clzll __ffs __ffsll __brev; rsqrtf rsqrt __expf __logf
 *               __powf __sinf __cosf __tanf __fdividef fdividef __saturatef
 *               __frcp_rn __fsqrt_rn __fmaf_rn __fadd_rn __fmul_rn normcdff
 *               normcdf __float2int_rn/_rz/_rd/_ru; min/max on any two arithmetic
 *               types; <math.h> as on the host
 *   launches    JTC_LAUNCH(kernel, grid, block, shmem, stream, args...) only (no
 *               <<<>>>); shmem must be 0 (no dynamic shared memory). Arguments
 *               convert to the kernel's parameter types once, at the launch.
 *   runtime     cudaError_t and its codes, cudaGetErrorString/Name,
 *               cudaGetLastError cudaPeekAtLastError cudaMalloc cudaFree
 *               cudaMallocHost cudaFreeHost cudaMemcpy cudaMemcpyAsync cudaMemset
 *               cudaMemsetAsync (cudaMemcpyHostToHost/HostToDevice/DeviceToHost/
 *               DeviceToDevice/Default), cudaStream_t (NULL, cudaStreamLegacy,
 *               cudaStreamPerThread), cudaStreamCreate(WithFlags) cudaStreamDestroy
 *               cudaStreamSynchronize cudaStreamQuery cudaStreamWaitEvent
 *               cudaDeviceSynchronize cudaDeviceReset cudaGetDevice cudaSetDevice
 *               cudaGetDeviceCount; graphs: cudaStreamBeginCapture (any mode)
 *               cudaStreamEndCapture cudaStreamIsCapturing cudaGraphInstantiate
 *               (3- and 5-argument forms) cudaGraphInstantiateWithFlags
 *               cudaGraphLaunch cudaGraphExecDestroy cudaGraphDestroy; events:
 *               cudaEventCreate(WithFlags) cudaEventRecord cudaEventSynchronize
 *               cudaEventQuery cudaEventElapsedTime cudaEventDestroy.
 *
 * Errors as on a GPU, plus a line on stderr (naming the kernel) for each:
 *   a launch with a bad configuration (a zero dim, more than 1024 threads or
 *     (1024, 1024, 64) per block, grid over (2^31-1, 65535, 65535)):
 *     cudaErrorInvalidConfiguration from cudaGetLastError; shmem != 0:
 *     cudaErrorNotSupported; neither is sticky;
 *   a __syncthreads() not reached by every thread of the block (a thread
 *     exits or waits elsewhere while others wait, or two call sites) and a
 *     warp op not reached by every lane it names: the kernel stops;
 *     cudaErrorLaunchFailure, sticky as on a GPU: every later call returns it
 *     until cudaDeviceReset (which also frees every allocation);
 *   copies and memsets must stay inside cudaMalloc allocations on the device
 *     side and outside them on the host side (cudaErrorInvalidValue);
 *   while a stream captures (any mode but Relaxed): cudaMalloc, cudaFree,
 *     cudaMemcpy, cudaMemset and the synchronizing calls fail with
 *     cudaErrorStreamCaptureUnsupported, work on the legacy NULL stream with
 *     cudaErrorStreamCaptureImplicit; either invalidates the capture.
 *   a kernel launched with a pointer argument outside every cudaMalloc and
 *     cudaMallocHost block (a host pointer, freed memory; null is fine): the
 *     kernel does not run; cudaErrorIllegalAddress, sticky as a GPU's fault
 *     would be (JTC_EMU_CHECK_ARGS=0: no check).
 * New cudaMalloc memory is filled with 0xff bytes (NaN floats), and so are the
 * __shared__ variables at each launch and, for kernels that use
 * __syncthreads, at each block while they total at most 64 KiB (ELF only:
 * they live in section jtc_emu_shared). JTC_EMU_POISON=0: no poison.
 *
 * Scheduling. A block's threads are logical threads run one at a time by a
 * cooperative scheduler on one OS thread. A "runner" loop walks the block's
 * threads in a pass order and calls the kernel for each NEW thread directly
 * on the runner's stack, so a thread that never waits costs a function call.
 * A thread that waits (__syncthreads, a warp op) keeps that stack, and the
 * loop continues in a new runner on a fresh stack (allocated once, reused);
 * later passes resume waiting threads with one context switch each (a
 * 6-register swap on x86-64, swapcontext elsewhere or with
 * -DJTC_EMU_UCONTEXT). threadIdx is a global set on every switch. A barrier
 * releases when all N threads arrived, and the next pass starts at once; a
 * warp op completes when its last lane arrives, which computes every lane's
 * result and carries on. A pass in which nothing could run is a deadlock:
 * the divergence is reported. Pass orders alternate ascending and
 * descending (block parity xor pass parity), so a missing barrier shows
 * (shared memory is one static array for all blocks).
 * JTC_EMU_SEED=n (n != 0) uses seeded random permutations instead.
 * JTC_EMU_STACK_KB sets the stack size (default 256, 1024 under ASan).
 *
 * Host calls may come from several threads: one lock serializes them (and
 * the launches); the last error is per process, not per thread.
 *
 * Files: this one (qualifiers, built-in and runtime types) includes
 * cuda_emu_sched.h (the block scheduler), cuda_emu_launch.h (launches,
 * allocations, streams, graphs), cuda_emu_device.h (device functions),
 * cuda_emu_runtime.h (the host API) and cuda_emu_mma.h (__half, wmma). */
#ifndef JTC_CUDA_EMU_H
#define JTC_CUDA_EMU_H

#ifndef __cplusplus
#error "cuda_emu.h is C++17: compile the .cu file with -x c++"
#endif
#if defined(__CUDACC__)
#error "cuda_emu.h is for host compilers: nvcc builds the .cu file as it is"
#endif
#if defined(__CUDA_RUNTIME_H__) || defined(__DRIVER_TYPES_H__)
#error "the real CUDA headers were included before cuda_emu.h"
#endif

#define JTC_CUDA_EMU 1
#define CUDART_VERSION 12000
#define __CUDA_RUNTIME_H__ /* the real cuda_runtime.h, if on the include path, is skipped */

#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <cmath> /* the standard headers are few and light: each .cu parses them */
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#if !defined(JTC_EMU_UCONTEXT) && !(defined(__x86_64__) && defined(__ELF__))
#define JTC_EMU_UCONTEXT 1
#endif
#ifdef JTC_EMU_UCONTEXT
#include <ucontext.h>
#endif
#if defined(__SANITIZE_ADDRESS__)
#define JTC_EMU_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define JTC_EMU_ASAN 1
#endif
#endif
#ifdef JTC_EMU_ASAN
extern "C" void __sanitizer_start_switch_fiber(void **fake_stack_save, const void *bottom, size_t size);
extern "C" void __sanitizer_finish_switch_fiber(void *fake_stack_save, const void **bottom_old, size_t *size_old);
extern "C" void __asan_unpoison_memory_region(void const volatile *addr, size_t size);
#endif

/* ---- qualifiers ---- */

#define __global__
#define __device__
#define __host__
#define __constant__
/* __shared__ variables are statics (one copy for all blocks); on ELF they
 * also go to a section of their own, which the scheduler poisons (below). */
#if defined(__ELF__)
#define JTC_EMU_SHARED_SECTION 1
#define __shared__ static __attribute__((section("jtc_emu_shared")))
extern char __start_jtc_emu_shared[] __attribute__((weak, visibility("hidden")));
extern char __stop_jtc_emu_shared[] __attribute__((weak, visibility("hidden")));
#else
#define __shared__ static
#endif
#define __forceinline__ __inline__ __attribute__((always_inline))
#define __noinline__ __attribute__((noinline))
#define __align__(n) __attribute__((aligned(n)))
#define __launch_bounds__(...)

/* ---- vector types and built-ins ---- */

struct uint3 { unsigned int x, y, z; };
struct dim3 {
  unsigned int x, y, z;
  constexpr dim3(unsigned int vx = 1, unsigned int vy = 1, unsigned int vz = 1) : x(vx), y(vy), z(vz) {}
  constexpr dim3(uint3 v) : x(v.x), y(v.y), z(v.z) {}
  constexpr operator uint3() const { return uint3{x, y, z}; }
};
struct __align__(8) float2 { float x, y; };
struct float3 { float x, y, z; };
struct __align__(16) float4 { float x, y, z, w; };
struct __align__(8) int2 { int x, y; };
struct int3 { int x, y, z; };
struct __align__(16) int4 { int x, y, z, w; };
struct __align__(8) uint2 { unsigned int x, y; };
struct __align__(16) uint4 { unsigned int x, y, z, w; };
struct __align__(16) double2 { double x, y; };
inline float2 make_float2(float x, float y) { return float2{x, y}; }
inline float3 make_float3(float x, float y, float z) { return float3{x, y, z}; }
inline float4 make_float4(float x, float y, float z, float w) { return float4{x, y, z, w}; }
inline int2 make_int2(int x, int y) { return int2{x, y}; }
inline int3 make_int3(int x, int y, int z) { return int3{x, y, z}; }
inline int4 make_int4(int x, int y, int z, int w) { return int4{x, y, z, w}; }
inline uint2 make_uint2(unsigned x, unsigned y) { return uint2{x, y}; }
inline uint3 make_uint3(unsigned x, unsigned y, unsigned z) { return uint3{x, y, z}; }
inline uint4 make_uint4(unsigned x, unsigned y, unsigned z, unsigned w) { return uint4{x, y, z, w}; }
inline double2 make_double2(double x, double y) { return double2{x, y}; }

/* Set by the scheduler: threadIdx on every switch to a thread, the rest per
 * block or launch. Plain globals: kernels read them like CUDA's registers. */
inline uint3 threadIdx, blockIdx;
inline dim3 blockDim, gridDim;
constexpr int warpSize = 32;

/* ---- runtime types ---- */

enum cudaError {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorMemoryAllocation = 2,
  cudaErrorInitializationError = 3,
  cudaErrorInvalidConfiguration = 9,
  cudaErrorInvalidDevicePointer = 17,
  cudaErrorInvalidMemcpyDirection = 21,
  cudaErrorNoDevice = 100,
  cudaErrorInvalidDevice = 101,
  cudaErrorInvalidResourceHandle = 400,
  cudaErrorIllegalState = 401,
  cudaErrorNotReady = 600,
  cudaErrorIllegalAddress = 700,
  cudaErrorLaunchOutOfResources = 701,
  cudaErrorLaunchFailure = 719,
  cudaErrorNotSupported = 801,
  cudaErrorStreamCaptureUnsupported = 900,
  cudaErrorStreamCaptureInvalidated = 901,
  cudaErrorStreamCaptureImplicit = 906,
  cudaErrorStreamCaptureWrongThread = 908,
  cudaErrorUnknown = 999
};
typedef enum cudaError cudaError_t;
enum cudaMemcpyKind {
  cudaMemcpyHostToHost = 0,
  cudaMemcpyHostToDevice = 1,
  cudaMemcpyDeviceToHost = 2,
  cudaMemcpyDeviceToDevice = 3,
  cudaMemcpyDefault = 4
};
enum cudaStreamCaptureMode { cudaStreamCaptureModeGlobal = 0, cudaStreamCaptureModeThreadLocal = 1, cudaStreamCaptureModeRelaxed = 2 };
enum cudaStreamCaptureStatus { cudaStreamCaptureStatusNone = 0, cudaStreamCaptureStatusActive = 1, cudaStreamCaptureStatusInvalidated = 2 };
#define cudaStreamDefault 0x00
#define cudaStreamNonBlocking 0x01
#define cudaEventDefault 0x00
#define cudaEventBlockingSync 0x01
#define cudaEventDisableTiming 0x02

struct CUstream_st;
struct CUgraph_st;
struct CUgraphExec_st;
struct CUgraphNode_st;
struct CUevent_st;
typedef CUstream_st *cudaStream_t;
typedef CUgraph_st *cudaGraph_t;
typedef CUgraphExec_st *cudaGraphExec_t;
typedef CUgraphNode_st *cudaGraphNode_t;
typedef CUevent_st *cudaEvent_t;
#define cudaStreamLegacy ((cudaStream_t)0x1)
#define cudaStreamPerThread ((cudaStream_t)0x2)

#include "cuda_emu_sched.h"
#include "cuda_emu_launch.h"
#include "cuda_emu_device.h"
#include "cuda_emu_runtime.h"
#include "cuda_emu_mma.h"

#endif /* JTC_CUDA_EMU_H */
