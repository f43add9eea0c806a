/* cuda_emu_runtime.h: the CUDA emulator's host runtime API (cudaMalloc,
 * cudaMemcpy, streams, graphs, events, errors). Part of cuda_emu.h, which
 * includes it. */
#ifndef JTC_CUDA_EMU_RUNTIME_H
#define JTC_CUDA_EMU_RUNTIME_H


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

#endif
