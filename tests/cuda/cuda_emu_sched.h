/* cuda_emu_sched.h: the CUDA emulator's block scheduler: logical threads as
 * coroutines (context switching), __syncthreads barriers, warp ops and the
 * diagnosis of divergence and deadlock. Part of cuda_emu.h, which includes it. */
#ifndef JTC_CUDA_EMU_SCHED_H
#define JTC_CUDA_EMU_SCHED_H

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

} // namespace jtc_emu

#endif
