/* cuda_emu_launch.h: the CUDA emulator's launches (a grid's blocks run by the
 * scheduler, argument checks), its allocations, streams, graphs and events,
 * and JTC_LAUNCH. Part of cuda_emu.h, which includes it. */
#ifndef JTC_CUDA_EMU_LAUNCH_H
#define JTC_CUDA_EMU_LAUNCH_H

namespace jtc_emu {

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

#endif
