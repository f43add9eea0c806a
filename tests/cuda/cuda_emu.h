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
 * the launches); the last error is per process, not per thread. */
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

namespace jtc_emu {

/* ---- context switching ---- */

struct Stack { char *lo; size_t size; };

struct Ctx {
#ifdef JTC_EMU_UCONTEXT
  ucontext_t uc;
#else
  void *sp; /* the saved registers are on the stack, below sp's return address */
#endif
#ifdef JTC_EMU_ASAN
  const void *lo = nullptr; /* the stack this context runs on */
  size_t size = 0;
  void *fake = nullptr;
#endif
};

#ifndef JTC_EMU_UCONTEXT
/* jtc_emu_swap(&save, to): pushes the callee-saved registers, stores rsp in
 * save, loads to, pops them and jumps to the other context's return address
 * (pop + jmp rather than ret: a ret onto another stack always mispredicts,
 * which made a switch 3 times as slow). A new context's stack holds six
 * zeroed registers with r12 = its entry, then jtc_emu_tramp, which calls
 * r12. MXCSR and the x87 control word are not switched: kernels leave the
 * rounding modes alone. Weak and hidden: every translation unit that
 * includes this header carries a copy; the linker keeps one. */
extern "C" void jtc_emu_swap(void **save, void *to) __attribute__((visibility("hidden")));
extern "C" void jtc_emu_tramp(void) __attribute__((visibility("hidden")));
__asm__(".pushsection .text\n"
        ".weak jtc_emu_swap\n.hidden jtc_emu_swap\n.type jtc_emu_swap,@function\n.p2align 4\n"
        "jtc_emu_swap:\n"
        "  pushq %rbp\n  pushq %rbx\n  pushq %r12\n  pushq %r13\n  pushq %r14\n  pushq %r15\n"
        "  movq %rsp, (%rdi)\n  movq %rsi, %rsp\n"
        "  popq %r15\n  popq %r14\n  popq %r13\n  popq %r12\n  popq %rbx\n  popq %rbp\n"
        "  popq %rcx\n  jmpq *%rcx\n"
        ".size jtc_emu_swap, .-jtc_emu_swap\n"
        ".weak jtc_emu_tramp\n.hidden jtc_emu_tramp\n.type jtc_emu_tramp,@function\n.p2align 4\n"
        "jtc_emu_tramp:\n"
        "  callq *%r12\n  ud2\n"
        ".size jtc_emu_tramp, .-jtc_emu_tramp\n"
        ".popsection\n");
inline void raw_make(Ctx *c, const Stack &s, void (*fn)()) {
  uintptr_t top = (uintptr_t)(s.lo + s.size) & ~(uintptr_t)15;
  void **sp = (void **)(top - 72); /* after 7 pops: rsp = top - 16, 16-aligned at tramp's call */
  for (int i = 0; i < 9; i++) sp[i] = nullptr;
  sp[3] = reinterpret_cast<void *>(fn); /* r12 */
  sp[6] = reinterpret_cast<void *>(jtc_emu_tramp);
  c->sp = sp;
}
inline void raw_switch(Ctx *from, Ctx *to) { jtc_emu_swap(&from->sp, to->sp); }
#else
inline void raw_make(Ctx *c, const Stack &s, void (*fn)()) {
  getcontext(&c->uc);
  c->uc.uc_stack.ss_sp = s.lo;
  c->uc.uc_stack.ss_size = s.size;
  c->uc.uc_link = nullptr;
  makecontext(&c->uc, fn, 0);
}
inline void raw_switch(Ctx *from, Ctx *to) { swapcontext(&from->uc, &to->uc); }
#endif

/* Switches from the running context (saved in from) to to. from_dies: from
 * is never resumed (ASan then drops its fake stack). */
inline void switch_to(Ctx *from, Ctx *to, bool from_dies) {
#ifdef JTC_EMU_ASAN
  __sanitizer_start_switch_fiber(from_dies ? nullptr : &from->fake, to->lo, to->size);
#else
  (void)from_dies;
#endif
  raw_switch(from, to);
#ifdef JTC_EMU_ASAN
  __sanitizer_finish_switch_fiber(from->fake, nullptr, nullptr);
#endif
}

/* ---- the block scheduler ---- */

enum : unsigned char { T_NEW, T_RUN, T_READY, T_BAR, T_WARP, T_DONE, T_STUCK };
/* warp op = mode | value type << 4 */
enum { W_IDX, W_UP, W_DOWN, W_XOR, W_BALLOT, W_ANY, W_ALL, W_SYNC, W_MMA };
enum { V_NONE, V_I32, V_I64, V_F32, V_F64 };

struct Th {                 /* one logical CUDA thread */
  uint3 tid;
  unsigned char st;
  bool on_runner;           /* still on the runner frame that started it: it never waited */
  int stack;                /* the stack it runs on */
  int op, b, c;             /* warp op, its lane/delta operand and PTX c (clamp, segment mask) */
  unsigned mask;
  const char *file;         /* where it waits */
  int line;
  uint64_t val, res;        /* warp op operand and result bits */
  Ctx ctx;                  /* saved while it waits */
};

struct Warp { unsigned exist, arrived; };

struct Sched {
  const char *kname = "";
  void (*body)(void *) = nullptr; /* runs the kernel for the current thread */
  void *obj = nullptr;
  unsigned N = 0, nwarps = 0;
  std::vector<Th> th;
  std::vector<Warp> warps;
  uint64_t blin = 0, launches = 0;
  unsigned k = 0, pass = 0, ran = 0, ndone = 0, nbar = 0;
  bool desc = false, new_pass = false, failed = false, in_kernel = false;
  bool used_barrier = false; /* this launch's kernel has called __syncthreads */
  int poison = -1;           /* JTC_EMU_POISON: fill cudaMalloc and shared memory with 0xff */
  const char *bar_file = nullptr;
  int bar_line = 0;
  Th *cur = nullptr;
  uint64_t seed = 0;
  std::vector<unsigned> order;
  std::vector<Stack> stacks;
  std::vector<int> free_stacks;
  size_t stack_size = 0;
  int sched_stack = -1, fresh_stack = -1; /* the active runner's stack; a new runner's */
  bool from_driver = false;
  Ctx driver, sched, fresh, dead; /* the launching host code; the active runner; a new runner; a dying context */
  char msg[768] = "";
  uint64_t switches = 0;         /* thread resumptions, for benchmarks */
};
inline Sched g;

inline void set_bounds(Ctx &c, int stack) {
#ifdef JTC_EMU_ASAN
  c.lo = g.stacks[(size_t)stack].lo;
  c.size = g.stacks[(size_t)stack].size;
#else
  (void)c, (void)stack;
#endif
}

inline int get_stack() {
  if (!g.free_stacks.empty()) {
    int s = g.free_stacks.back();
    g.free_stacks.pop_back();
    return s;
  }
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  void *p = mmap(nullptr, g.stack_size + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) {
    fprintf(stderr, "jtc-emu: out of memory for thread stacks (%zu of %zu KiB)\n", g.stacks.size(), g.stack_size >> 10);
    abort();
  }
  mprotect(p, page, PROT_NONE); /* guard page: an overflow faults instead of corrupting */
  /* Stack tops at the same offset in a page would share L1 sets: stagger them by cache lines. */
  size_t color = g.stacks.size() * 64 * 13 % 4096;
  g.stacks.push_back(Stack{(char *)p + page, g.stack_size - color});
  return (int)g.stacks.size() - 1;
}

inline uint64_t splitmix(uint64_t &x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

inline void set_order() {
  g.desc = ((g.pass + g.blin) & 1) != 0;
  if (!g.seed) return;
  uint64_t x = g.seed ^ (g.launches << 40) ^ (g.blin << 16) ^ g.pass;
  for (unsigned i = 0; i < g.N; i++) g.order[i] = i;
  for (unsigned i = g.N; i > 1; i--) std::swap(g.order[i - 1], g.order[splitmix(x) % i]);
}

inline const char *op_name(int op) {
  static const char *const n[] = {"__shfl_sync", "__shfl_up_sync", "__shfl_down_sync", "__shfl_xor_sync",
                                  "__ballot_sync", "__any_sync", "__all_sync", "__syncwarp", "an nvcuda::wmma call"};
  return n[op & 15];
}

/* "0-15,17" for the lanes in bits */
inline const char *lane_list(unsigned bits, char *buf, size_t n) {
  size_t len = 0;
  buf[0] = 0;
  for (int l = 0; l < 32 && len + 8 < n; l++) {
    if (!(bits >> l & 1)) continue;
    int e = l;
    while (e < 31 && (bits >> (e + 1) & 1)) e++;
    len += (size_t)snprintf(buf + len, n - len, e > l ? "%s%d-%d" : "%s%d", len ? "," : "", l, e);
    l = e;
  }
  return buf;
}

inline void where(const Th &t, char *buf, size_t n) {
  switch (t.st) {
  case T_DONE: snprintf(buf, n, "exited"); break;
  case T_BAR: snprintf(buf, n, "waits at __syncthreads() at %s:%d", t.file, t.line); break;
  case T_WARP: snprintf(buf, n, "waits at %s at %s:%d (mask 0x%08x)", op_name(t.op), t.file, t.line, t.mask); break;
  default: snprintf(buf, n, "never got there"); break;
  }
}

/* Nothing can run and some threads wait: say who waits where and why. */
inline void diagnose() {
  char a[160], b[160], w[320];
  for (unsigned wi = 0; wi < g.nwarps; wi++) {
    const Warp &W = g.warps[wi];
    if (!W.arrived) continue;
    const Th &t0 = g.th[wi * 32 + (unsigned)__builtin_ctz(W.arrived)];
    unsigned missing = t0.mask & W.exist & ~W.arrived;
    if (!missing) continue;
    where(g.th[wi * 32 + (unsigned)__builtin_ctz(missing)], w, sizeof w);
    snprintf(g.msg, sizeof g.msg, "%s at %s:%d (mask 0x%08x) in warp %u: lanes %s wait, lanes %s do not come (lane %d %s): divergent warp op",
             op_name(t0.op), t0.file, t0.line, t0.mask, wi, lane_list(W.arrived, a, sizeof a), lane_list(missing, b, sizeof b),
             __builtin_ctz(missing), w);
    return;
  }
  if (g.nbar) {
    unsigned other = 0;
    const Th *o = nullptr;
    for (unsigned i = 0; i < g.N; i++)
      if (g.th[i].st != T_BAR && g.th[i].st != T_DONE) other++, o = o ? o : &g.th[i];
    if (o) where(*o, w, sizeof w);
    snprintf(g.msg, sizeof g.msg, "__syncthreads() at %s:%d reached by %u of %u threads, %u exited%s%s%s: divergent barrier", g.bar_file,
             g.bar_line, g.nbar, g.N, g.ndone, other ? ", the others wait elsewhere (one " : "", other ? w : "", other ? ")" : "");
    return;
  }
  snprintf(g.msg, sizeof g.msg, "threads wait for each other: deadlock");
}

[[noreturn]] inline void run_loop(int me);
inline void runner_entry() {
#ifdef JTC_EMU_ASAN
  const void *lo;
  size_t size;
  __sanitizer_finish_switch_fiber(nullptr, &lo, &size);
  if (g.from_driver) g.driver.lo = lo, g.driver.size = size;
#endif
  g.from_driver = false;
  run_loop(g.fresh_stack);
}

/* Starts a runner on a fresh stack, continuing the current pass. */
inline void start_runner(Ctx *save, bool from_dies) {
  int st = get_stack();
#ifdef JTC_EMU_ASAN
  __asan_unpoison_memory_region(g.stacks[(size_t)st].lo, g.stacks[(size_t)st].size); /* frames abandoned there left poison */
#endif
  raw_make(&g.fresh, g.stacks[(size_t)st], runner_entry);
  set_bounds(g.fresh, st);
  g.fresh_stack = st;
  switch_to(save, &g.fresh, from_dies);
}

/* The runner loop (see the top of this file). Returns to the driver when
 * the block is done or failed; never returns to its caller. */
[[noreturn]] inline void run_loop(int me) {
  Sched &s = g;
  for (;;) {
    if (s.failed) break;
    if (s.k == s.N || s.new_pass) {
      if (s.ndone == s.N) break;
      if (!s.ran && !s.new_pass) {
        diagnose();
        s.failed = true;
        break;
      }
      s.pass++, s.k = 0, s.ran = 0, s.new_pass = false;
      set_order();
    }
    unsigned i = s.seed ? s.order[s.k] : s.desc ? s.N - 1 - s.k : s.k;
    s.k++;
    Th &t = s.th[i];
    if (t.st == T_NEW) {
      s.ran++;
      t.st = T_RUN, t.on_runner = true, t.stack = me;
      s.cur = &t;
      threadIdx = t.tid;
      s.body(s.obj);
      t.st = T_DONE;
      s.ndone++;
      if (!t.on_runner) { /* t waited on the way: a newer runner has the schedule, which resumed t last */
        s.free_stacks.push_back(me);
        set_bounds(s.sched, s.sched_stack);
        switch_to(&s.dead, &s.sched, true);
        __builtin_unreachable();
      }
    } else if (t.st == T_READY) {
      s.ran++;
      s.switches++;
      t.st = T_RUN;
      s.cur = &t;
      threadIdx = t.tid;
      s.sched_stack = me;
      set_bounds(t.ctx, t.stack);
      switch_to(&s.sched, &t.ctx, false); /* until t waits again or exits */
    }
  }
  switch_to(&s.dead, &s.driver, true);
  __builtin_unreachable();
}

/* The current thread waits (its state is set): back to the scheduler. */
inline void wait_here() {
  Th &t = *g.cur;
  if (t.on_runner) {
    t.on_runner = false; /* this stack is t's now; the schedule goes on in a new runner */
    set_bounds(t.ctx, t.stack);
    start_runner(&t.ctx, false);
  } else {
    set_bounds(g.sched, g.sched_stack);
    switch_to(&t.ctx, &g.sched, false);
  }
}

inline void fail_here() { /* g.msg is set: stop the block; this thread is never resumed */
  g.failed = true;
  g.cur->st = T_STUCK;
  wait_here();
  abort();
}

inline Th &device_thread(const char *what) {
  if (!g.in_kernel || !g.cur) {
    fprintf(stderr, "jtc-emu: %s called outside a kernel\n", what);
    abort();
  }
  return *g.cur;
}

inline bool same_site(const char *f1, int l1, const char *f2, int l2) { return l1 == l2 && (f1 == f2 || !strcmp(f1, f2)); }

/* Fills all __shared__ variables with 0xff bytes (NaN floats): whole
 * launches, and blocks of kernels that use barriers while the section is at
 * most 64 KiB (a memset per block costs more than a barrier-free block). */
inline void poison_shared(bool block) {
#ifdef JTC_EMU_SHARED_SECTION
  size_t n = (size_t)(__stop_jtc_emu_shared - __start_jtc_emu_shared);
  if (g.poison && __start_jtc_emu_shared && (!block || (g.used_barrier && n <= 65536))) memset(__start_jtc_emu_shared, 0xff, n);
#else
  (void)block;
#endif
}

inline void barrier(const char *file, int line) {
  Th &t = device_thread("__syncthreads()");
  g.used_barrier = true;
  if (g.nbar == 0) {
    g.bar_file = file, g.bar_line = line;
  } else if (!same_site(file, line, g.bar_file, g.bar_line)) {
    snprintf(g.msg, sizeof g.msg, "__syncthreads() at %s:%d and at %s:%d are waited at by different threads: divergent barrier", g.bar_file,
             g.bar_line, file, line);
    fail_here();
  }
  t.st = T_BAR, t.file = file, t.line = line;
  if (++g.nbar == g.N) { /* all here: every thread runs again, in the next pass's order */
    for (unsigned i = 0; i < g.N; i++) g.th[i].st = T_READY;
    g.nbar = 0;
    g.new_pass = true;
  }
  wait_here();
}

/* PTX shfl.sync: source lane for lane l, and whether it is in range */
inline unsigned shfl_src(int mode, unsigned l, int b, int c) {
  unsigned seg = (unsigned)(c >> 8) & 31, cl = (unsigned)c & 31, bv = (unsigned)b & 31;
  unsigned maxl = (l & seg) | (cl & ~seg), minl = l & seg;
  int j;
  bool in;
  switch (mode) {
  case W_UP: j = (int)l - (int)bv, in = j >= (int)maxl; break;
  case W_DOWN: j = (int)(l + bv), in = j <= (int)maxl; break;
  case W_XOR: j = (int)(l ^ bv), in = j <= (int)maxl; break;
  default: j = (int)(minl | (bv & ~seg)), in = j <= (int)maxl; break;
  }
  return in ? (unsigned)j : l;
}

inline uint64_t poison(int vt) {
  switch (vt) {
  case V_F32: return 0x7fc0bad0u;
  case V_F64: return 0x7ff8bad0bad0bad0ull;
  case V_I32: return 0xbad0bad0u;
  default: return 0xbad0bad0bad0bad0ull;
  }
}

/* Lanes deposit their operand and wait; the last lane of the group computes
 * every lane's result, wakes the others and carries on. */
inline uint64_t warp_op(int op, unsigned mask, uint64_t v, int b, int c, const char *file, int line) {
  Th &t = device_thread(op_name(op));
  unsigned lin = (unsigned)(&t - g.th.data()), lane = lin & 31, base = lin - lane;
  Warp &w = g.warps[lin >> 5];
  if (!(mask >> lane & 1)) {
    snprintf(g.msg, sizeof g.msg, "%s at %s:%d: lane %u of warp %u calls it with mask 0x%08x, which does not name it", op_name(op), file,
             line, lane, lin >> 5, mask);
    fail_here();
  }
  t.op = op, t.mask = mask, t.val = v, t.b = b, t.c = c, t.file = file, t.line = line;
  w.arrived |= 1u << lane;
  unsigned need = mask & w.exist;
  if ((w.arrived & need) != need) {
    t.st = T_WARP;
    wait_here();
    return t.res;
  }
  unsigned ballot = 0;
  for (unsigned l = 0; l < 32; l++) {
    if (!(need >> l & 1)) continue;
    const Th &u = g.th[base + l];
    if (u.op != op || u.mask != mask) {
      snprintf(g.msg, sizeof g.msg, "warp %u: lane %u calls %s at %s:%d (mask 0x%08x) while lane %u calls %s at %s:%d (mask 0x%08x): divergent warp op",
               lin >> 5, l, op_name(u.op), u.file, u.line, u.mask, lane, op_name(op), file, line, mask);
      fail_here();
    }
    if (u.val) ballot |= 1u << l;
    if ((op & 15) == W_MMA && u.val != g.th[base].val) {
      snprintf(g.msg, sizeof g.msg, "warp %u: lane %u and lane 0 call nvcuda::wmma at %s:%d with different pointers, ldm or layout (CUDA needs the same in every lane)",
               lin >> 5, l, file, line);
      fail_here();
    }
  }
  int mode = op & 15;
  for (unsigned l = 0; l < 32; l++) {
    if (!(need >> l & 1)) continue;
    Th &u = g.th[base + l];
    if (mode <= W_XOR) {
      unsigned j = shfl_src(mode, l, u.b, u.c);
      u.res = need >> j & 1 ? g.th[base + j].val : poison(op >> 4);
    } else {
      u.res = mode == W_BALLOT ? ballot : mode == W_ANY ? ballot != 0 : mode == W_ALL ? ballot == need : 0;
    }
    if (l != lane) u.st = T_READY;
  }
  w.arrived &= ~need;
  return t.res;
}

template <class T> inline T shfl(int mode, unsigned mask, T v, int b, int width, const char *file, int line) {
  static_assert(sizeof(T) == 4 || sizeof(T) == 8, "warp shuffles move 32- and 64-bit values");
  int vt = std::is_floating_point<T>::value ? (sizeof(T) == 4 ? V_F32 : V_F64) : (sizeof(T) == 4 ? V_I32 : V_I64);
  int c = ((32 - width) << 8) | (mode == W_UP ? 0 : 0x1f);
  uint64_t bits = 0;
  memcpy(&bits, &v, sizeof v);
  bits = warp_op(mode | vt << 4, mask, bits, b, c, file, line);
  memcpy(&v, &bits, sizeof v);
  return v;
}

/* ---- launching ---- */

struct Kernel {
  const char *name;
  dim3 grid, block;
  void (*body)(void *);              /* runs the kernel for threadIdx, blockIdx */
  void *obj;                         /* its arguments */
  int (*bad_arg)(const void *obj);   /* the first pointer argument that is not device memory, or -1 */
};

inline const char *bad_config(dim3 gr, dim3 bl) {
  if (!bl.x || !bl.y || !bl.z) return "a block dimension is 0";
  if (!gr.x || !gr.y || !gr.z) return "a grid dimension is 0";
  if (bl.x > 1024 || bl.y > 1024 || bl.z > 64) return "block dimensions over (1024, 1024, 64)";
  if ((uint64_t)bl.x * bl.y * bl.z > 1024) return "more than 1024 threads per block";
  if (gr.x > 2147483647u || gr.y > 65535 || gr.z > 65535) return "grid dimensions over (2^31-1, 65535, 65535)";
  return nullptr;
}

inline size_t env_num(const char *name, size_t dflt) {
  const char *v = getenv(name);
  return v && *v ? (size_t)strtoull(v, nullptr, 0) : dflt;
}

inline void run_block() {
  Sched &s = g;
  for (unsigned i = 0; i < s.N; i++) s.th[i].st = T_NEW;
  for (unsigned i = 0; i < s.nwarps; i++) s.warps[i].arrived = 0;
  s.k = s.pass = s.ran = s.ndone = s.nbar = 0;
  s.new_pass = false;
  set_order();
  if (s.blin) poison_shared(true);
  s.free_stacks.clear();
  for (size_t i = s.stacks.size(); i-- > 0;) s.free_stacks.push_back((int)i); /* nothing from the last block is live */
  s.from_driver = true;
  start_runner(&s.driver, false);
}

/* Runs every block of the kernel; the caller has checked the configuration. */
inline cudaError_t run_kernel(const Kernel &k) {
  Sched &s = g;
  if (s.in_kernel) {
    fprintf(stderr, "jtc-emu: kernel '%s' launched from device code (dynamic parallelism is not emulated)\n", k.name);
    return cudaErrorNotSupported;
  }
  if (!s.stack_size) {
#ifdef JTC_EMU_ASAN
    s.stack_size = env_num("JTC_EMU_STACK_KB", 1024) << 10;
#else
    s.stack_size = env_num("JTC_EMU_STACK_KB", 256) << 10;
#endif
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    s.stack_size = (s.stack_size + page - 1) / page * page;
    if (s.stack_size < 4 * page) s.stack_size = 4 * page;
    s.seed = env_num("JTC_EMU_SEED", 0);
  }
  if (s.poison < 0) s.poison = env_num("JTC_EMU_POISON", 1) != 0;
  s.kname = k.name, s.body = k.body, s.obj = k.obj;
  s.N = k.block.x * k.block.y * k.block.z;
  s.nwarps = (s.N + 31) / 32;
  s.th.resize(s.N);
  s.order.resize(s.N);
  s.warps.resize(s.nwarps);
  for (unsigned i = 0; i < s.N; i++) s.th[i].tid = uint3{i % k.block.x, i / k.block.x % k.block.y, i / (k.block.x * k.block.y)};
  for (unsigned w = 0; w < s.nwarps; w++) s.warps[w].exist = s.N - w * 32 >= 32 ? ~0u : (1u << (s.N - w * 32)) - 1;
  blockDim = k.block, gridDim = k.grid;
  s.launches++;
  s.failed = false;
  s.used_barrier = false;
  poison_shared(false);
  s.in_kernel = true;
  for (unsigned z = 0; z < k.grid.z && !s.failed; z++)
    for (unsigned y = 0; y < k.grid.y && !s.failed; y++)
      for (unsigned x = 0; x < k.grid.x && !s.failed; x++) {
        blockIdx = uint3{x, y, z};
        s.blin = x + (uint64_t)k.grid.x * (y + (uint64_t)k.grid.y * z);
        run_block();
      }
  s.in_kernel = false;
  s.cur = nullptr;
  if (!s.failed) return cudaSuccess;
  fprintf(stderr, "jtc-emu: kernel '%s' block (%u,%u,%u) of grid (%u,%u,%u) x block (%u,%u,%u): %s\n", k.name, blockIdx.x, blockIdx.y,
          blockIdx.z, k.grid.x, k.grid.y, k.grid.z, k.block.x, k.block.y, k.block.z, s.msg);
  return cudaErrorLaunchFailure;
}

/* ---- the host runtime ---- */

/* a captured launch's arguments, shared by the graphs that replay it */
struct Held {
  long refs = 1;
  virtual ~Held() {}
};
template <class Obj> struct HeldObj : Held {
  Obj o;
  explicit HeldObj(Obj &&x) : o(std::move(x)) {}
};
class Ref {
  Held *h = nullptr;
  void drop() {
    if (h && --h->refs == 0) delete h;
    h = nullptr;
  }
public:
  Ref() {}
  explicit Ref(Held *p) : h(p) {}
  Ref(const Ref &r) : h(r.h) {
    if (h) h->refs++;
  }
  Ref &operator=(const Ref &r) {
    if (r.h) r.h->refs++;
    drop();
    h = r.h;
    return *this;
  }
  ~Ref() { drop(); }
};

enum NodeKind { N_KERNEL, N_COPY, N_SET, N_EVENT };
struct Node {
  NodeKind kind;
  Kernel k;
  Ref hold; /* the kernel's arguments */
  void *dst;
  const void *src;
  size_t n;
  int value;
  cudaMemcpyKind dir;
  CUevent_st *ev;
};

} // namespace jtc_emu

struct CUstream_st {
  unsigned flags = 0;
  cudaStreamCaptureStatus capture = cudaStreamCaptureStatusNone;
  cudaStreamCaptureMode mode = cudaStreamCaptureModeGlobal;
  std::vector<jtc_emu::Node> nodes; /* what a capture recorded */
};
struct CUgraph_st { std::vector<jtc_emu::Node> nodes; };
struct CUgraphExec_st { std::vector<jtc_emu::Node> nodes; };
struct CUevent_st { double ms = 0; bool recorded = false; };

namespace jtc_emu {

/* allocations: (start, bytes), sorted by start */
struct Blocks {
  std::vector<std::pair<uintptr_t, size_t>> v;
  size_t upper(uintptr_t a) const { /* the first block starting after a */
    size_t lo = 0, hi = v.size();
    while (lo < hi) {
      size_t mid = (lo + hi) / 2;
      if (v[mid].first <= a) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
  void add(uintptr_t a, size_t n) { v.insert(v.begin() + (ptrdiff_t)upper(a), std::make_pair(a, n)); }
  bool remove(uintptr_t a) {
    size_t i = upper(a);
    if (i == 0 || v[i - 1].first != a) return false;
    v.erase(v.begin() + (ptrdiff_t)(i - 1));
    return true;
  }
};

struct Rt {
  pthread_mutex_t mu;
  cudaError_t last = cudaSuccess, sticky = cudaSuccess;
  Blocks dev, host; /* cudaMalloc / cudaMallocHost */
  std::vector<CUstream_st *> streams;
  CUstream_st per_thread;
  Rt() {
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&mu, &a);
    pthread_mutexattr_destroy(&a);
  }
};
inline Rt rt;
struct Lock {
  Lock() { pthread_mutex_lock(&rt.mu); }
  ~Lock() { pthread_mutex_unlock(&rt.mu); }
  Lock(const Lock &) = delete;
  Lock &operator=(const Lock &) = delete;
};

inline cudaError_t fail(cudaError_t e) {
  if (e != cudaSuccess) rt.last = e;
  return e;
}

inline double now_ms() {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e3 + (double)t.tv_nsec * 1e-6;
}

/* Is all of [p, p + n) inside one cudaMalloc block? */
inline bool is_dev(const void *p, size_t n) {
  uintptr_t a = (uintptr_t)p;
  size_t i = rt.dev.upper(a);
  if (i == 0) return false;
  const std::pair<uintptr_t, size_t> &b = rt.dev.v[i - 1];
  return a - b.first <= b.second && n <= b.second - (a - b.first);
}
/* Does [p, p + n) overlap a cudaMalloc block? */
inline bool touches_dev(const void *p, size_t n) {
  uintptr_t a = (uintptr_t)p;
  size_t i = rt.dev.upper(a + n - (n > 0));
  return i > 0 && rt.dev.v[i - 1].first + rt.dev.v[i - 1].second > a;
}
inline bool known_stream(CUstream_st *s) {
  for (CUstream_st *t : rt.streams)
    if (t == s) return true;
  return false;
}

/* a stream handle: nullptr for the legacy default stream; false if invalid */
inline bool stream_of(cudaStream_t s, CUstream_st **out) {
  *out = nullptr;
  if (s == nullptr || s == cudaStreamLegacy) return true;
  if (s == cudaStreamPerThread) return *out = &rt.per_thread, true;
  if (!known_stream(s)) return false;
  return *out = s, true;
}

inline bool strict_capture() { /* a capture that forbids unsafe calls is on */
  for (CUstream_st *s : rt.streams)
    if (s->capture == cudaStreamCaptureStatusActive && s->mode != cudaStreamCaptureModeRelaxed) return true;
  return rt.per_thread.capture == cudaStreamCaptureStatusActive && rt.per_thread.mode != cudaStreamCaptureModeRelaxed;
}
inline void invalidate_captures() {
  for (CUstream_st *s : rt.streams)
    if (s->capture == cudaStreamCaptureStatusActive) s->capture = cudaStreamCaptureStatusInvalidated;
  if (rt.per_thread.capture == cudaStreamCaptureStatusActive) rt.per_thread.capture = cudaStreamCaptureStatusInvalidated;
}
/* A call not allowed during a capture: fails and invalidates the captures. */
inline cudaError_t capture_forbids(const char *what) {
  if (!strict_capture()) return cudaSuccess;
  fprintf(stderr, "jtc-emu: %s while a stream captures: not permitted (the capture is invalidated)\n", what);
  invalidate_captures();
  return fail(cudaErrorStreamCaptureUnsupported);
}
/* Work queued on stream st: cudaSuccess to run it now, -1 if recorded into a capture, else an error. */
inline int queue_check(CUstream_st *st, const char *what) {
  if (st && st->capture == cudaStreamCaptureStatusInvalidated) return fail(cudaErrorStreamCaptureInvalidated);
  if (st && st->capture == cudaStreamCaptureStatusActive) return -1;
  if (!st) {
    bool blocking = false;
    for (CUstream_st *s : rt.streams)
      if (s->capture == cudaStreamCaptureStatusActive && !(s->flags & cudaStreamNonBlocking)) blocking = true;
    if (blocking) {
      fprintf(stderr, "jtc-emu: %s on the legacy NULL stream while a blocking stream captures (the capture is invalidated)\n", what);
      invalidate_captures();
      return fail(cudaErrorStreamCaptureImplicit);
    }
  }
  return cudaSuccess;
}

inline const char *dir_name(cudaMemcpyKind d) {
  static const char *const n[] = {"HostToHost", "HostToDevice", "DeviceToHost", "DeviceToDevice", "Default"};
  return (unsigned)d <= 4 ? n[d] : "?";
}

inline cudaError_t do_copy(void *dst, const void *src, size_t n, cudaMemcpyKind dir, const char *what) {
  if (!n) return cudaSuccess;
  if ((unsigned)dir > 4) return fail(cudaErrorInvalidMemcpyDirection);
  bool d_dev = dir == cudaMemcpyHostToDevice || dir == cudaMemcpyDeviceToDevice || (dir == cudaMemcpyDefault && touches_dev(dst, n));
  bool s_dev = dir == cudaMemcpyDeviceToHost || dir == cudaMemcpyDeviceToDevice || (dir == cudaMemcpyDefault && touches_dev(src, n));
  const char *bad = nullptr;
  if (d_dev ? !is_dev(dst, n) : touches_dev(dst, n)) bad = d_dev ? "the destination is not inside one cudaMalloc block" : "the destination is device memory";
  else if (s_dev ? !is_dev(src, n) : touches_dev(src, n)) bad = s_dev ? "the source is not inside one cudaMalloc block" : "the source is device memory";
  if (bad) {
    fprintf(stderr, "jtc-emu: %s(%p, %p, %zu, cudaMemcpy%s): %s\n", what, dst, src, n, dir_name(dir), bad);
    return fail(cudaErrorInvalidValue);
  }
  memmove(dst, src, n);
  return cudaSuccess;
}

inline cudaError_t do_set(void *p, int v, size_t n, const char *what) {
  if (!n) return cudaSuccess;
  if (!is_dev(p, n)) {
    fprintf(stderr, "jtc-emu: %s(%p, %d, %zu): not inside one cudaMalloc block\n", what, p, v, n);
    return fail(cudaErrorInvalidValue);
  }
  memset(p, v, n);
  return cudaSuccess;
}

/* May a kernel dereference p: inside (or one past) a cudaMalloc or cudaMallocHost block? */
inline bool device_visible(const volatile void *p) {
  uintptr_t a = (uintptr_t)p;
  for (const Blocks *b : {&rt.dev, &rt.host}) {
    size_t i = b->upper(a);
    if (i > 0 && a - b->v[i - 1].first <= b->v[i - 1].second) return true;
  }
  return false;
}

inline cudaError_t launch_now(const Kernel &k) {
  static const bool check = env_num("JTC_EMU_CHECK_ARGS", 1) != 0;
  int bad = k.bad_arg && check ? k.bad_arg(k.obj) : -1;
  if (bad >= 0) { /* a GPU faults with an illegal address, sticky, once the kernel dereferences it */
    fprintf(stderr, "jtc-emu: kernel '%s': pointer argument %d is not in device memory (not in a cudaMalloc or cudaMallocHost block)\n",
            k.name, bad + 1);
    rt.sticky = cudaErrorIllegalAddress;
    return fail(cudaErrorIllegalAddress);
  }
  cudaError_t e = run_kernel(k);
  if (e == cudaErrorLaunchFailure) rt.sticky = e;
  return fail(e);
}

inline cudaError_t run_nodes(const std::vector<Node> &nodes) {
  for (const Node &n : nodes) {
    cudaError_t e = cudaSuccess;
    switch (n.kind) {
    case N_KERNEL: e = launch_now(n.k); break;
    case N_COPY: e = do_copy(n.dst, n.src, n.n, n.dir, "cudaGraphLaunch: memcpy node"); break;
    case N_SET: e = do_set(n.dst, n.value, n.n, "cudaGraphLaunch: memset node"); break;
    case N_EVENT: n.ev->ms = now_ms(), n.ev->recorded = true; break;
    }
    if (e != cudaSuccess) return e;
  }
  return cudaSuccess;
}

inline Node make_node(NodeKind kind) {
  Node n;
  n.kind = kind;
  n.k = Kernel{"", dim3(), dim3(), nullptr, nullptr, nullptr};
  n.dst = nullptr, n.src = nullptr, n.n = 0, n.value = 0, n.dir = cudaMemcpyDefault, n.ev = nullptr;
  return n;
}

template <class Obj> inline void run_obj(void *p) {
  Obj *o = static_cast<Obj *>(p);
  std::apply(o->inv, o->args);
}

template <class T> inline bool arg_ok(const T &) { return true; }
template <class T> inline bool arg_ok(T *const &p) {
  if constexpr (std::is_function<T>::value) return true;
  else return !p || device_visible(static_cast<const volatile void *>(p));
}
template <class Obj, size_t... I> inline int first_bad_arg(const void *obj, std::index_sequence<I...>) {
  const Obj *o = static_cast<const Obj *>(obj);
  int bad = -1;
  (void)o;
  ((bad < 0 && !arg_ok(std::get<I>(o->args)) ? (void)(bad = (int)I) : (void)0), ...);
  return bad;
}
template <class Obj> inline int bad_arg(const void *obj) {
  return first_bad_arg<Obj>(obj, std::make_index_sequence<std::tuple_size<decltype(Obj::args)>::value>{});
}

/* JTC_LAUNCH: kernel's parameter types P, inv calls it by name on the arguments. */
template <class... P, class Inv, class... A>
inline void launch(const char *name, dim3 grid, dim3 block, size_t shmem, cudaStream_t stream, void (*)(P...), Inv inv, A &&...a) {
  typedef std::tuple<std::decay_t<P>...> Args;
  struct Obj { Inv inv; Args args; };
  Lock lock;
  if (rt.sticky) {
    fail(rt.sticky);
    return;
  }
  CUstream_st *st;
  if (!stream_of(stream, &st)) {
    fprintf(stderr, "jtc-emu: launch of kernel '%s': invalid stream %p\n", name, (void *)stream);
    fail(cudaErrorInvalidResourceHandle);
    return;
  }
  const char *bad = bad_config(grid, block);
  if (bad || shmem) {
    if (bad) fprintf(stderr, "jtc-emu: launch of kernel '%s' with grid (%u,%u,%u) block (%u,%u,%u): %s\n", name, grid.x, grid.y, grid.z, block.x, block.y, block.z, bad);
    else fprintf(stderr, "jtc-emu: launch of kernel '%s' with %zu bytes of dynamic shared memory: not emulated\n", name, shmem);
    if (st && st->capture == cudaStreamCaptureStatusActive) st->capture = cudaStreamCaptureStatusInvalidated;
    fail(bad ? cudaErrorInvalidConfiguration : cudaErrorNotSupported);
    return;
  }
  int q = queue_check(st, "a kernel launch");
  if (q > 0) return;
  if (q < 0) {
    HeldObj<Obj> *hold = new HeldObj<Obj>(Obj{inv, Args(std::forward<A>(a)...)});
    Node n = make_node(N_KERNEL);
    n.k = Kernel{name, grid, block, run_obj<Obj>, &hold->o, bad_arg<Obj>};
    n.hold = Ref(hold);
    st->nodes.push_back(std::move(n));
    return;
  }
  Obj o{inv, Args(std::forward<A>(a)...)};
  launch_now(Kernel{name, grid, block, run_obj<Obj>, &o, bad_arg<Obj>});
}

} // namespace jtc_emu

#define JTC_LAUNCH(kernel, grid, block, shmem, stream, ...)                                                                       \
  ::jtc_emu::launch(#kernel, (grid), (block), (shmem), (stream), (kernel), [=](auto &...jtc_emu_a) { (kernel)(jtc_emu_a...); }, \
                    ##__VA_ARGS__)

/* ---- device functions ---- */

inline void __syncthreads(const char *file = __builtin_FILE(), int line = __builtin_LINE()) { jtc_emu::barrier(file, line); }
inline void __syncwarp(unsigned mask = 0xffffffffu, const char *file = __builtin_FILE(), int line = __builtin_LINE()) {
  jtc_emu::warp_op(jtc_emu::W_SYNC, mask, 0, 0, 0, file, line);
}
inline unsigned __ballot_sync(unsigned mask, int pred, const char *file = __builtin_FILE(), int line = __builtin_LINE()) {
  return (unsigned)jtc_emu::warp_op(jtc_emu::W_BALLOT, mask, pred != 0, 0, 0, file, line);
}
inline int __any_sync(unsigned mask, int pred, const char *file = __builtin_FILE(), int line = __builtin_LINE()) {
  return (int)jtc_emu::warp_op(jtc_emu::W_ANY, mask, pred != 0, 0, 0, file, line);
}
inline int __all_sync(unsigned mask, int pred, const char *file = __builtin_FILE(), int line = __builtin_LINE()) {
  return (int)jtc_emu::warp_op(jtc_emu::W_ALL, mask, pred != 0, 0, 0, file, line);
}

#define JTC_EMU_SHFL(T)                                                                                                        \
  inline T __shfl_sync(unsigned mask, T v, int src, int width = 32, const char *f = __builtin_FILE(), int l = __builtin_LINE()) { \
    return jtc_emu::shfl<T>(jtc_emu::W_IDX, mask, v, src, width, f, l);                                                         \
  }                                                                                                                            \
  inline T __shfl_up_sync(unsigned mask, T v, unsigned d, int width = 32, const char *f = __builtin_FILE(),                    \
                          int l = __builtin_LINE()) {                                                                          \
    return jtc_emu::shfl<T>(jtc_emu::W_UP, mask, v, (int)d, width, f, l);                                                       \
  }                                                                                                                            \
  inline T __shfl_down_sync(unsigned mask, T v, unsigned d, int width = 32, const char *f = __builtin_FILE(),                  \
                            int l = __builtin_LINE()) {                                                                        \
    return jtc_emu::shfl<T>(jtc_emu::W_DOWN, mask, v, (int)d, width, f, l);                                                     \
  }                                                                                                                            \
  inline T __shfl_xor_sync(unsigned mask, T v, int lm, int width = 32, const char *f = __builtin_FILE(),                      \
                           int l = __builtin_LINE()) {                                                                         \
    return jtc_emu::shfl<T>(jtc_emu::W_XOR, mask, v, lm, width, f, l);                                                          \
  }
JTC_EMU_SHFL(int)
JTC_EMU_SHFL(unsigned int)
JTC_EMU_SHFL(long)
JTC_EMU_SHFL(unsigned long)
JTC_EMU_SHFL(long long)
JTC_EMU_SHFL(unsigned long long)
JTC_EMU_SHFL(float)
JTC_EMU_SHFL(double)
#undef JTC_EMU_SHFL

/* Atomics: blocks and threads run one at a time on one OS thread, so a plain
 * read-modify-write is atomic. */
#define JTC_EMU_ATOMIC(name, T, expr)                                                                                          \
  inline T name(T *p, T v) {                                                                                                   \
    T old = *p;                                                                                                                \
    *p = (expr);                                                                                                               \
    return old;                                                                                                                \
  }
JTC_EMU_ATOMIC(atomicAdd, float, old + v)
JTC_EMU_ATOMIC(atomicAdd, double, old + v)
JTC_EMU_ATOMIC(atomicAdd, int, (int)((unsigned)old + (unsigned)v))
JTC_EMU_ATOMIC(atomicAdd, unsigned int, old + v)
JTC_EMU_ATOMIC(atomicAdd, unsigned long long, old + v)
JTC_EMU_ATOMIC(atomicSub, int, (int)((unsigned)old - (unsigned)v))
JTC_EMU_ATOMIC(atomicSub, unsigned int, old - v)
JTC_EMU_ATOMIC(atomicMax, int, old > v ? old : v)
JTC_EMU_ATOMIC(atomicMax, unsigned int, old > v ? old : v)
JTC_EMU_ATOMIC(atomicMax, long long, old > v ? old : v)
JTC_EMU_ATOMIC(atomicMax, unsigned long long, old > v ? old : v)
JTC_EMU_ATOMIC(atomicMin, int, old < v ? old : v)
JTC_EMU_ATOMIC(atomicMin, unsigned int, old < v ? old : v)
JTC_EMU_ATOMIC(atomicMin, long long, old < v ? old : v)
JTC_EMU_ATOMIC(atomicMin, unsigned long long, old < v ? old : v)
JTC_EMU_ATOMIC(atomicExch, int, v)
JTC_EMU_ATOMIC(atomicExch, unsigned int, v)
JTC_EMU_ATOMIC(atomicExch, unsigned long long, v)
JTC_EMU_ATOMIC(atomicExch, float, v)
JTC_EMU_ATOMIC(atomicAnd, int, old & v)
JTC_EMU_ATOMIC(atomicAnd, unsigned int, old & v)
JTC_EMU_ATOMIC(atomicAnd, unsigned long long, old & v)
JTC_EMU_ATOMIC(atomicOr, int, old | v)
JTC_EMU_ATOMIC(atomicOr, unsigned int, old | v)
JTC_EMU_ATOMIC(atomicOr, unsigned long long, old | v)
JTC_EMU_ATOMIC(atomicXor, int, old ^ v)
JTC_EMU_ATOMIC(atomicXor, unsigned int, old ^ v)
JTC_EMU_ATOMIC(atomicXor, unsigned long long, old ^ v)
JTC_EMU_ATOMIC(atomicInc, unsigned int, old >= v ? 0u : old + 1)
JTC_EMU_ATOMIC(atomicDec, unsigned int, old == 0 || old > v ? v : old - 1)
#undef JTC_EMU_ATOMIC
#define JTC_EMU_CAS(T)                                                                                                         \
  inline T atomicCAS(T *p, T cmp, T v) {                                                                                       \
    T old = *p;                                                                                                                \
    if (old == cmp) *p = v;                                                                                                    \
    return old;                                                                                                                \
  }
JTC_EMU_CAS(int)
JTC_EMU_CAS(unsigned int)
JTC_EMU_CAS(unsigned long long)
#undef JTC_EMU_CAS

namespace jtc_emu {
template <class To, class From> inline To bits(From f) {
  static_assert(sizeof(To) == sizeof(From), "same size");
  To t;
  memcpy(&t, &f, sizeof t);
  return t;
}
} // namespace jtc_emu
inline int __float_as_int(float x) { return jtc_emu::bits<int>(x); }
inline float __int_as_float(int x) { return jtc_emu::bits<float>(x); }
inline unsigned int __float_as_uint(float x) { return jtc_emu::bits<unsigned int>(x); }
inline float __uint_as_float(unsigned int x) { return jtc_emu::bits<float>(x); }
inline long long __double_as_longlong(double x) { return jtc_emu::bits<long long>(x); }
inline double __longlong_as_double(long long x) { return jtc_emu::bits<double>(x); }
template <class T> inline T __ldg(const T *p) { return *p; }

inline int __popc(unsigned int x) { return __builtin_popcount(x); }
inline int __popcll(unsigned long long x) { return __builtin_popcountll(x); }
inline int __clz(int x) { return x ? __builtin_clz((unsigned)x) : 32; }
inline int __clzll(long long x) { return x ? __builtin_clzll((unsigned long long)x) : 64; }
inline int __ffs(int x) { return __builtin_ffs(x); }
inline int __ffsll(long long x) { return __builtin_ffsll(x); }
inline unsigned int __brev(unsigned int x) {
  x = (x >> 1 & 0x55555555u) | (x & 0x55555555u) << 1;
  x = (x >> 2 & 0x33333333u) | (x & 0x33333333u) << 2;
  x = (x >> 4 & 0x0f0f0f0fu) | (x & 0x0f0f0f0fu) << 4;
  return __builtin_bswap32(x);
}

inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }
inline double rsqrt(double x) { return 1.0 / sqrt(x); }
inline float __expf(float x) { return expf(x); }
inline float __logf(float x) { return logf(x); }
inline float __powf(float x, float y) { return powf(x, y); }
inline float __sinf(float x) { return sinf(x); }
inline float __cosf(float x) { return cosf(x); }
inline float __tanf(float x) { return tanf(x); }
inline float __fdividef(float x, float y) { return x / y; }
inline float fdividef(float x, float y) { return x / y; }
inline float __saturatef(float x) { return x >= 1.0f ? 1.0f : x > 0.0f ? x : 0.0f; }
inline float __frcp_rn(float x) { return 1.0f / x; }
inline float __fsqrt_rn(float x) { return sqrtf(x); }
inline float __fmaf_rn(float x, float y, float z) { return fmaf(x, y, z); }
inline float __fadd_rn(float x, float y) { return x + y; }
inline float __fmul_rn(float x, float y) { return x * y; }
inline float normcdff(float x) { return 0.5f * erfcf(-x * 0.70710678118654752f); }
inline double normcdf(double x) { return 0.5 * erfc(-x * 0.70710678118654752); }
inline int __float2int_rn(float x) { return (int)nearbyintf(x); }
inline int __float2int_rz(float x) { return (int)x; }
inline int __float2int_rd(float x) { return (int)floorf(x); }
inline int __float2int_ru(float x) { return (int)ceilf(x); }

/* CUDA's min/max overloads: the usual arithmetic conversions, fmin/fmax for floating types. */
template <class A, class B, class = std::enable_if_t<std::is_arithmetic<A>::value && std::is_arithmetic<B>::value>>
inline std::common_type_t<A, B> max(A a, B b) {
  typedef std::common_type_t<A, B> C;
  if constexpr (std::is_floating_point<C>::value) return std::fmax((C)a, (C)b);
  else return (C)a > (C)b ? (C)a : (C)b;
}
template <class A, class B, class = std::enable_if_t<std::is_arithmetic<A>::value && std::is_arithmetic<B>::value>>
inline std::common_type_t<A, B> min(A a, B b) {
  typedef std::common_type_t<A, B> C;
  if constexpr (std::is_floating_point<C>::value) return std::fmin((C)a, (C)b);
  else return (C)a < (C)b ? (C)a : (C)b;
}

/* ---- host runtime ---- */

inline const char *cudaGetErrorName(cudaError_t e) {
  switch (e) {
#define JTC_EMU_E(x) \
  case x: return #x;
    JTC_EMU_E(cudaSuccess)
    JTC_EMU_E(cudaErrorInvalidValue)
    JTC_EMU_E(cudaErrorMemoryAllocation)
    JTC_EMU_E(cudaErrorInitializationError)
    JTC_EMU_E(cudaErrorInvalidConfiguration)
    JTC_EMU_E(cudaErrorInvalidDevicePointer)
    JTC_EMU_E(cudaErrorInvalidMemcpyDirection)
    JTC_EMU_E(cudaErrorNoDevice)
    JTC_EMU_E(cudaErrorInvalidDevice)
    JTC_EMU_E(cudaErrorInvalidResourceHandle)
    JTC_EMU_E(cudaErrorIllegalState)
    JTC_EMU_E(cudaErrorNotReady)
    JTC_EMU_E(cudaErrorIllegalAddress)
    JTC_EMU_E(cudaErrorLaunchOutOfResources)
    JTC_EMU_E(cudaErrorLaunchFailure)
    JTC_EMU_E(cudaErrorNotSupported)
    JTC_EMU_E(cudaErrorStreamCaptureUnsupported)
    JTC_EMU_E(cudaErrorStreamCaptureInvalidated)
    JTC_EMU_E(cudaErrorStreamCaptureImplicit)
    JTC_EMU_E(cudaErrorStreamCaptureWrongThread)
    JTC_EMU_E(cudaErrorUnknown)
#undef JTC_EMU_E
  }
  return "cudaErrorUnknown";
}
inline const char *cudaGetErrorString(cudaError_t e) {
  switch (e) {
  case cudaSuccess: return "no error";
  case cudaErrorInvalidValue: return "invalid argument";
  case cudaErrorMemoryAllocation: return "out of memory";
  case cudaErrorInvalidConfiguration: return "invalid configuration argument";
  case cudaErrorInvalidDevice: return "invalid device ordinal";
  case cudaErrorInvalidResourceHandle: return "invalid resource handle";
  case cudaErrorIllegalState: return "the operation cannot be performed in the present state";
  case cudaErrorIllegalAddress: return "an illegal memory access was encountered";
  case cudaErrorLaunchFailure: return "unspecified launch failure";
  case cudaErrorNotSupported: return "operation not supported";
  case cudaErrorStreamCaptureUnsupported: return "operation not permitted when stream is capturing";
  case cudaErrorStreamCaptureInvalidated: return "operation failed due to a previous error during capture";
  case cudaErrorStreamCaptureImplicit: return "operation would make the legacy stream depend on a capturing blocking stream";
  default: return cudaGetErrorName(e);
  }
}

inline cudaError_t cudaGetLastError(void) {
  jtc_emu::Lock l;
  cudaError_t e = jtc_emu::rt.last;
  jtc_emu::rt.last = cudaSuccess;
  return e != cudaSuccess ? e : jtc_emu::rt.sticky;
}
inline cudaError_t cudaPeekAtLastError(void) {
  jtc_emu::Lock l;
  return jtc_emu::rt.last != cudaSuccess ? jtc_emu::rt.last : jtc_emu::rt.sticky;
}

#define JTC_EMU_API(unsafe_in_capture)                                           \
  jtc_emu::Lock jtc_emu_lock;                                                    \
  if (jtc_emu::rt.sticky) return jtc_emu::fail(jtc_emu::rt.sticky);             \
  if (unsafe_in_capture) {                                                       \
    cudaError_t jtc_emu_e = jtc_emu::capture_forbids(__func__);                  \
    if (jtc_emu_e) return jtc_emu_e;                                             \
  }

inline cudaError_t cudaGetDeviceCount(int *n) {
  if (n) *n = 1;
  JTC_EMU_API(false)
  return n ? cudaSuccess : jtc_emu::fail(cudaErrorInvalidValue);
}
inline cudaError_t cudaGetDevice(int *d) {
  if (d) *d = 0;
  JTC_EMU_API(false)
  return d ? cudaSuccess : jtc_emu::fail(cudaErrorInvalidValue);
}
inline cudaError_t cudaSetDevice(int d) {
  JTC_EMU_API(false)
  return d == 0 ? cudaSuccess : jtc_emu::fail(cudaErrorInvalidDevice);
}

inline cudaError_t cudaMalloc(void **p, size_t n) {
  if (p) *p = nullptr;
  JTC_EMU_API(true)
  if (!p) return jtc_emu::fail(cudaErrorInvalidValue);
  if (!n) return cudaSuccess;
  void *m = nullptr;
  if (posix_memalign(&m, 256, n)) return jtc_emu::fail(cudaErrorMemoryAllocation);
  if (jtc_emu::g.poison < 0) jtc_emu::g.poison = jtc_emu::env_num("JTC_EMU_POISON", 1) != 0;
  if (jtc_emu::g.poison) memset(m, 0xff, n);
  jtc_emu::rt.dev.add((uintptr_t)m, n);
  *p = m;
  return cudaSuccess;
}
template <class T> inline cudaError_t cudaMalloc(T **p, size_t n) { return cudaMalloc(reinterpret_cast<void **>(p), n); }
inline cudaError_t cudaFree(void *p) {
  jtc_emu::Lock l;
  if (!p) return jtc_emu::rt.sticky ? jtc_emu::fail(jtc_emu::rt.sticky) : cudaSuccess;
  if (cudaError_t e = jtc_emu::capture_forbids("cudaFree")) return e;
  if (!jtc_emu::rt.dev.remove((uintptr_t)p)) {
    fprintf(stderr, "jtc-emu: cudaFree(%p): not a cudaMalloc pointer\n", p);
    return jtc_emu::fail(cudaErrorInvalidValue);
  }
  free(p);
  return jtc_emu::rt.sticky ? jtc_emu::fail(jtc_emu::rt.sticky) : cudaSuccess; /* freed all the same */
}
inline cudaError_t cudaMallocHost(void **p, size_t n) {
  if (p) *p = nullptr;
  JTC_EMU_API(true)
  if (!p) return jtc_emu::fail(cudaErrorInvalidValue);
  void *m = nullptr;
  if (posix_memalign(&m, 256, n ? n : 1)) return jtc_emu::fail(cudaErrorMemoryAllocation);
  jtc_emu::rt.host.add((uintptr_t)m, n);
  *p = m;
  return cudaSuccess;
}
template <class T> inline cudaError_t cudaMallocHost(T **p, size_t n) { return cudaMallocHost(reinterpret_cast<void **>(p), n); }
inline cudaError_t cudaFreeHost(void *p) {
  jtc_emu::Lock l;
  if (!p) return cudaSuccess;
  if (!jtc_emu::rt.host.remove((uintptr_t)p)) return jtc_emu::fail(cudaErrorInvalidValue);
  free(p);
  return cudaSuccess;
}

inline cudaError_t cudaMemcpy(void *dst, const void *src, size_t n, cudaMemcpyKind dir) {
  JTC_EMU_API(true)
  return jtc_emu::do_copy(dst, src, n, dir, "cudaMemcpy");
}
inline cudaError_t cudaMemset(void *p, int v, size_t n) {
  JTC_EMU_API(true)
  return jtc_emu::do_set(p, v, n, "cudaMemset");
}
inline cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t n, cudaMemcpyKind dir, cudaStream_t stream = 0) {
  JTC_EMU_API(false)
  CUstream_st *st;
  if (!jtc_emu::stream_of(stream, &st)) return jtc_emu::fail(cudaErrorInvalidResourceHandle);
  int q = jtc_emu::queue_check(st, "cudaMemcpyAsync");
  if (q > 0) return (cudaError_t)q;
  if (q == 0) return jtc_emu::do_copy(dst, src, n, dir, "cudaMemcpyAsync");
  if ((unsigned)dir > 4) return jtc_emu::fail(cudaErrorInvalidMemcpyDirection);
  jtc_emu::Node node = jtc_emu::make_node(jtc_emu::N_COPY);
  node.dst = dst, node.src = src, node.n = n, node.dir = dir;
  st->nodes.push_back(node);
  return cudaSuccess;
}
inline cudaError_t cudaMemsetAsync(void *p, int v, size_t n, cudaStream_t stream = 0) {
  JTC_EMU_API(false)
  CUstream_st *st;
  if (!jtc_emu::stream_of(stream, &st)) return jtc_emu::fail(cudaErrorInvalidResourceHandle);
  int q = jtc_emu::queue_check(st, "cudaMemsetAsync");
  if (q > 0) return (cudaError_t)q;
  if (q == 0) return jtc_emu::do_set(p, v, n, "cudaMemsetAsync");
  jtc_emu::Node node = jtc_emu::make_node(jtc_emu::N_SET);
  node.dst = p, node.value = v, node.n = n;
  st->nodes.push_back(node);
  return cudaSuccess;
}

inline cudaError_t cudaStreamCreateWithFlags(cudaStream_t *s, unsigned flags) {
  if (s) *s = nullptr;
  JTC_EMU_API(false)
  if (!s) return jtc_emu::fail(cudaErrorInvalidValue);
  *s = new CUstream_st;
  (*s)->flags = flags;
  jtc_emu::rt.streams.push_back(*s);
  return cudaSuccess;
}
inline cudaError_t cudaStreamCreate(cudaStream_t *s) { return cudaStreamCreateWithFlags(s, cudaStreamDefault); }
inline cudaError_t cudaStreamDestroy(cudaStream_t s) {
  jtc_emu::Lock l;
  std::vector<CUstream_st *> &v = jtc_emu::rt.streams;
  size_t i = 0;
  while (i < v.size() && v[i] != s) i++;
  if (i == v.size()) return jtc_emu::fail(cudaErrorInvalidResourceHandle);
  v.erase(v.begin() + (ptrdiff_t)i);
  delete s;
  return jtc_emu::rt.sticky ? jtc_emu::fail(jtc_emu::rt.sticky) : cudaSuccess;
}
inline cudaError_t cudaStreamSynchronize(cudaStream_t stream) {
  JTC_EMU_API(false)
  CUstream_st *st;
  if (!jtc_emu::stream_of(stream, &st)) return jtc_emu::fail(cudaErrorInvalidResourceHandle);
  if (st ? st->capture != cudaStreamCaptureStatusNone : jtc_emu::strict_capture()) {
    fprintf(stderr, "jtc-emu: cudaStreamSynchronize on a capturing stream: not permitted (the capture is invalidated)\n");
    if (st) st->capture = cudaStreamCaptureStatusInvalidated;
    else jtc_emu::invalidate_captures();
    return jtc_emu::fail(cudaErrorStreamCaptureUnsupported);
  }
  return cudaSuccess;
}
inline cudaError_t cudaStreamQuery(cudaStream_t stream) { return cudaStreamSynchronize(stream); }
inline cudaError_t cudaDeviceSynchronize(void) {
  JTC_EMU_API(true)
  return cudaSuccess;
}
inline cudaError_t cudaDeviceReset(void) {
  jtc_emu::Lock l;
  for (auto &a : jtc_emu::rt.dev.v) free((void *)a.first);
  jtc_emu::rt.dev.v.clear();
  jtc_emu::invalidate_captures();
  jtc_emu::rt.sticky = jtc_emu::rt.last = cudaSuccess;
  return cudaSuccess;
}

inline cudaError_t cudaStreamBeginCapture(cudaStream_t stream, cudaStreamCaptureMode mode) {
  JTC_EMU_API(false)
  CUstream_st *st;
  if (!jtc_emu::stream_of(stream, &st)) return jtc_emu::fail(cudaErrorInvalidResourceHandle);
  if (!st) {
    fprintf(stderr, "jtc-emu: cudaStreamBeginCapture on the legacy NULL stream: not permitted\n");
    return jtc_emu::fail(cudaErrorStreamCaptureUnsupported);
  }
  if (st->capture != cudaStreamCaptureStatusNone) return jtc_emu::fail(cudaErrorIllegalState);
  st->capture = cudaStreamCaptureStatusActive;
  st->mode = mode;
  st->nodes.clear();
  return cudaSuccess;
}
inline cudaError_t cudaStreamEndCapture(cudaStream_t stream, cudaGraph_t *graph) {
  if (graph) *graph = nullptr;
  jtc_emu::Lock l;
  CUstream_st *st;
  if (!jtc_emu::stream_of(stream, &st)) return jtc_emu::fail(cudaErrorInvalidResourceHandle);
  if (!graph) return jtc_emu::fail(cudaErrorInvalidValue);
  if (!st || st->capture == cudaStreamCaptureStatusNone) return jtc_emu::fail(cudaErrorIllegalState);
  bool ok = st->capture == cudaStreamCaptureStatusActive;
  st->capture = cudaStreamCaptureStatusNone;
  std::vector<jtc_emu::Node> nodes;
  nodes.swap(st->nodes);
  if (!ok) return jtc_emu::fail(cudaErrorStreamCaptureInvalidated);
  if (jtc_emu::rt.sticky) return jtc_emu::fail(jtc_emu::rt.sticky);
  *graph = new CUgraph_st;
  (*graph)->nodes.swap(nodes);
  return cudaSuccess;
}
inline cudaError_t cudaStreamIsCapturing(cudaStream_t stream, cudaStreamCaptureStatus *status) {
  if (status) *status = cudaStreamCaptureStatusNone;
  JTC_EMU_API(false)
  CUstream_st *st;
  if (!jtc_emu::stream_of(stream, &st) || !status) return jtc_emu::fail(cudaErrorInvalidValue);
  *status = st ? st->capture : cudaStreamCaptureStatusNone;
  return cudaSuccess;
}
inline cudaError_t cudaGraphInstantiate(cudaGraphExec_t *exec, cudaGraph_t graph, unsigned long long flags = 0) {
  if (exec) *exec = nullptr;
  JTC_EMU_API(false)
  (void)flags;
  if (!exec || !graph) return jtc_emu::fail(cudaErrorInvalidValue);
  *exec = new CUgraphExec_st;
  (*exec)->nodes = graph->nodes;
  return cudaSuccess;
}
inline cudaError_t cudaGraphInstantiate(cudaGraphExec_t *exec, cudaGraph_t graph, cudaGraphNode_t *error_node, char *log, size_t log_size) {
  if (error_node) *error_node = nullptr;
  if (log && log_size) log[0] = 0;
  return cudaGraphInstantiate(exec, graph, 0ull);
}
inline cudaError_t cudaGraphInstantiateWithFlags(cudaGraphExec_t *exec, cudaGraph_t graph, unsigned long long flags = 0) {
  return cudaGraphInstantiate(exec, graph, flags);
}
inline cudaError_t cudaGraphLaunch(cudaGraphExec_t exec, cudaStream_t stream) {
  JTC_EMU_API(false)
  CUstream_st *st;
  if (!jtc_emu::stream_of(stream, &st)) return jtc_emu::fail(cudaErrorInvalidResourceHandle);
  if (!exec) return jtc_emu::fail(cudaErrorInvalidValue);
  int q = jtc_emu::queue_check(st, "cudaGraphLaunch");
  if (q > 0) return (cudaError_t)q;
  if (q < 0) {
    st->nodes.insert(st->nodes.end(), exec->nodes.begin(), exec->nodes.end());
    return cudaSuccess;
  }
  return jtc_emu::run_nodes(exec->nodes);
}
inline cudaError_t cudaGraphExecDestroy(cudaGraphExec_t exec) {
  jtc_emu::Lock l;
  delete exec;
  return cudaSuccess;
}
inline cudaError_t cudaGraphDestroy(cudaGraph_t graph) {
  jtc_emu::Lock l;
  delete graph;
  return cudaSuccess;
}

inline cudaError_t cudaEventCreateWithFlags(cudaEvent_t *e, unsigned flags) {
  if (e) *e = nullptr;
  JTC_EMU_API(false)
  (void)flags;
  if (!e) return jtc_emu::fail(cudaErrorInvalidValue);
  *e = new CUevent_st;
  return cudaSuccess;
}
inline cudaError_t cudaEventCreate(cudaEvent_t *e) { return cudaEventCreateWithFlags(e, cudaEventDefault); }
inline cudaError_t cudaEventDestroy(cudaEvent_t e) {
  jtc_emu::Lock l;
  delete e;
  return cudaSuccess;
}
inline cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t stream = 0) {
  JTC_EMU_API(false)
  CUstream_st *st;
  if (!e || !jtc_emu::stream_of(stream, &st)) return jtc_emu::fail(cudaErrorInvalidResourceHandle);
  int q = jtc_emu::queue_check(st, "cudaEventRecord");
  if (q > 0) return (cudaError_t)q;
  if (q < 0) {
    jtc_emu::Node node = jtc_emu::make_node(jtc_emu::N_EVENT);
    node.ev = e;
    st->nodes.push_back(node);
    return cudaSuccess;
  }
  e->ms = jtc_emu::now_ms(), e->recorded = true;
  return cudaSuccess;
}
inline cudaError_t cudaEventSynchronize(cudaEvent_t e) {
  JTC_EMU_API(true)
  return e ? cudaSuccess : jtc_emu::fail(cudaErrorInvalidResourceHandle);
}
inline cudaError_t cudaEventQuery(cudaEvent_t e) { return cudaEventSynchronize(e); }
inline cudaError_t cudaEventElapsedTime(float *ms, cudaEvent_t a, cudaEvent_t b) {
  JTC_EMU_API(false)
  if (!ms) return jtc_emu::fail(cudaErrorInvalidValue);
  *ms = 0;
  if (!a || !b || !a->recorded || !b->recorded) return jtc_emu::fail(cudaErrorInvalidResourceHandle);
  *ms = (float)(b->ms - a->ms);
  return cudaSuccess;
}
inline cudaError_t cudaStreamWaitEvent(cudaStream_t stream, cudaEvent_t e, unsigned flags = 0) {
  JTC_EMU_API(false)
  (void)flags;
  CUstream_st *st;
  if (!e || !jtc_emu::stream_of(stream, &st)) return jtc_emu::fail(cudaErrorInvalidResourceHandle);
  return cudaSuccess; /* everything has run already */
}
#undef JTC_EMU_API

#include "cuda_emu_mma.h"

#endif /* JTC_CUDA_EMU_H */
