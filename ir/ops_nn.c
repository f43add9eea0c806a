/* ops_nn.c: contractions and windows: matmul, gemm, conv, conv-transpose, pooling.
 *
 * All of them follow Jittor's recipe: pick a loop domain holding every
 * variable of the computation, GATHER each operand into that domain with an
 * index map (no data is copied once fused), MAP(mul) them, and SCATTER(add)
 * (or max) the product back to the output, dropping the reduced variables.
 *   matmul  domain [batch..., M, N, K]: a `b.., i_M, i_K`, b `b.., i_K, i_N`
 *   conv    domain [N, M, o..., C/g, k...]: x `n, (m/(M/g))*(C/g) + c,
 *           o*stride - pad + k*dil` (zero outside), w `m, c, k`
 *   convT   domain [N, C, i..., M/g, k...] scattered to
 *           `n, (c/(C/g))*(M/g) + m, i*stride - pad + k*dil` (writes outside drop)
 *   pools   domain [N, C, o..., k...]; avg divides by a constant count tensor
 * Passes recognize the SCATTER(add, MAP(mul, GATHER, GATHER)) shape as a
 * contraction and schedule it as such.
 */
#include <stdio.h>

#include "ops.h"

static const char *fmt_dims(char *buf, size_t n, int rank, const int64_t *dims)
{
  size_t k = 0;
  k += (size_t)snprintf(buf, n, "[");
  for (int d = 0; d < rank && k < n; d++)
    k += (size_t)snprintf(buf + k, n - k, "%s%lld", d ? ", " : "", (long long)dims[d]);
  if (k < n) snprintf(buf + k, n - k, "]");
  return buf;
}

static Node *mul_sum(Graph *g, Node *a, Node *b, int rank, const int64_t *dims, Ix *const *idx)
{
  Node *in[2] = {a, b};
  Node *p = ir_map(g, MAP_MUL, DT_UNDEF, 2, in);
  return ir_scatter(g, p, RED_ADD, rank, dims, idx, NULL);
}

/* ---- matmul, gemm ---- */

Node *ir_matmul(Graph *g, Node *a, Node *b)
{
  char b1[200], b2[200];
  if (a->rank < 1 || b->rank < 1)
    ir_fail(g, "MatMul: operands must have at least 1 dim, got %d and %d", a->rank, b->rank);
  if (a->dtype != b->dtype)
    ir_fail(g, "MatMul: operand dtypes differ: %s and %s", dt_name(a->dtype), dt_name(b->dtype));
  if (a->dtype == DT_BOOL) ir_fail(g, "MatMul: bool operands");
  /* a [.., M, K] (1-D: [K], M = 1); b [.., K, N] (1-D: [K], N = 1) */
  bool a1 = a->rank == 1, b1d = b->rank == 1;
  int64_t m = a1 ? 1 : a->dims[a->rank - 2], ka = a->dims[a->rank - 1];
  int64_t kb = b1d ? b->dims[0] : b->dims[b->rank - 2], nn = b1d ? 1 : b->dims[b->rank - 1];
  if (ka != kb)
    ir_fail(g, "MatMul: a is %s and b is %s: inner dims %lld and %lld differ",
            fmt_dims(b1, sizeof b1, a->rank, a->dims), fmt_dims(b2, sizeof b2, b->rank, b->dims),
            (long long)ka, (long long)kb);
  int rba = a1 ? 0 : a->rank - 2, rbb = b1d ? 0 : b->rank - 2, nb;
  int64_t bd[IR_MAX_RANK];
  if (!ir_broadcast_shape(rba, a->dims, rbb, b->dims, &nb, bd) || nb + 3 > IR_MAX_RANK)
    ir_fail(g, "MatMul: batch dims of %s and %s do not broadcast",
            fmt_dims(b1, sizeof b1, a->rank, a->dims), fmt_dims(b2, sizeof b2, b->rank, b->dims));
  /* domain [batch..., M, N, K]; vars: batch 0..nb-1, M nb, N nb+1, K nb+2 */
  int64_t dom[IR_MAX_RANK];
  for (int k = 0; k < nb; k++) dom[k] = bd[k];
  dom[nb] = m;
  dom[nb + 1] = nn;
  dom[nb + 2] = ka;
  Ix *ia[IR_MAX_RANK], *ib[IR_MAX_RANK];
  for (int k = 0; k < rba; k++)
    ia[k] = a->dims[k] == 1 ? ix_const(g, 0) : ix_var(g, k + nb - rba);
  for (int k = 0; k < rbb; k++)
    ib[k] = b->dims[k] == 1 ? ix_const(g, 0) : ix_var(g, k + nb - rbb);
  if (!a1) ia[rba++] = ix_var(g, nb);
  ia[rba] = ix_var(g, nb + 2);
  ib[rbb++] = ix_var(g, nb + 2);
  if (!b1d) ib[rbb] = ix_var(g, nb + 1);
  Node *ga = ir_gather(g, a, nb + 3, dom, ia, NULL, sc_i(0));
  Node *gb = ir_gather(g, b, nb + 3, dom, ib, NULL, sc_i(0));
  /* out [batch..., M (unless a is 1-D), N (unless b is 1-D)] */
  int64_t od[IR_MAX_RANK];
  Ix *oi[IR_MAX_RANK];
  int r = 0;
  for (int k = 0; k < nb; k++) {
    od[r] = bd[k];
    oi[r++] = ix_var(g, k);
  }
  if (!a1) {
    od[r] = m;
    oi[r++] = ix_var(g, nb);
  }
  if (!b1d) {
    od[r] = nn;
    oi[r++] = ix_var(g, nb + 1);
  }
  return mul_sum(g, ga, gb, r, od, oi);
}

Node *ir_gemm(Graph *g, Node *a, Node *b, Node *c, double alpha, double beta, bool trans_a, bool trans_b)
{
  if (a->rank != 2 || b->rank != 2)
    ir_fail(g, "Gemm: A has %d dims and B has %d, both must be 2-D", a->rank, b->rank);
  if (a->dtype != b->dtype || (c && c->dtype != a->dtype))
    ir_fail(g, "Gemm: operand dtypes differ: A %s, B %s, C %s", dt_name(a->dtype), dt_name(b->dtype),
            c ? dt_name(c->dtype) : "none");
  int64_t m = a->dims[trans_a], k = a->dims[!trans_a];
  int64_t kb = b->dims[trans_b], n = b->dims[!trans_b];
  if (k != kb)
    ir_fail(g, "Gemm: op(A) is [%lld, %lld] and op(B) is [%lld, %lld]: inner dims differ",
            (long long)m, (long long)k, (long long)kb, (long long)n);
  /* domain [M, N, K]: A `i0, i2` (transA: `i2, i0`), B `i2, i1` (transB: `i1, i2`) */
  int64_t dom[3] = {m, n, k};
  Ix *vm = ix_var(g, 0), *vn = ix_var(g, 1), *vk = ix_var(g, 2);
  Ix *ia[2] = {trans_a ? vk : vm, trans_a ? vm : vk};
  Ix *ib[2] = {trans_b ? vn : vk, trans_b ? vk : vn};
  Node *ga = ir_gather(g, a, 3, dom, ia, NULL, sc_i(0));
  Node *gb = ir_gather(g, b, 3, dom, ib, NULL, sc_i(0));
  Ix *oi[2] = {vm, vn};
  Node *y = mul_sum(g, ga, gb, 2, dom, oi);
  if (alpha != 1) y = ir_binary(g, MAP_MUL, y, ir_scalar_like(g, y, alpha));
  if (c && beta != 0) {
    Node *cb = ir_broadcast(g, c, 2, dom);
    if (beta != 1) cb = ir_binary(g, MAP_MUL, cb, ir_scalar_like(g, cb, beta));
    y = ir_binary(g, MAP_ADD, y, cb);
  }
  return y;
}

/* ---- windows ---- */

static int64_t floordiv64(int64_t a, int64_t b)
{
  int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

/* floor((in + pb + pe - ((k-1)*dil + 1)) / stride) + 1; ceil mode rounds up but
 * drops a last window that would start past in + pb (PyTorch/ONNX rule). */
int64_t ir_window_out(int64_t in, int64_t k, int64_t stride, int64_t dil, int64_t pb, int64_t pe, bool ceil_mode)
{
  if (stride < 1) return 0;
  int64_t span = in + pb + pe - ((k - 1) * dil + 1);
  if (!ceil_mode) return floordiv64(span, stride) + 1;
  int64_t out = -floordiv64(-span, stride) + 1;
  if (out > 0 && (out - 1) * stride >= in + pb) out--;
  return out;
}

/* Validate stride/dilation/kernel/pads of a window op over x [N, C, spatial...]. */
static void check_window(Graph *g, const char *op, const Node *x, const WindowParams *p)
{
  if (p->nsp < 1 || p->nsp > IR_MAX_SPATIAL)
    ir_fail(g, "%s: %d spatial dims, supported are 1 to %d", op, p->nsp, IR_MAX_SPATIAL);
  if (x->rank != 2 + p->nsp)
    ir_fail(g, "%s: input has %d dims, expected %d (N, C and %d spatial)", op, x->rank, 2 + p->nsp, p->nsp);
  for (int s = 0; s < p->nsp; s++) {
    if (p->kernel[s] < 1 || p->stride[s] < 1 || p->dilation[s] < 1)
      ir_fail(g, "%s: spatial dim %d has kernel %lld, stride %lld, dilation %lld (all must be >= 1)", op,
              s, (long long)p->kernel[s], (long long)p->stride[s], (long long)p->dilation[s]);
    if (p->pad_begin[s] < 0 || p->pad_end[s] < 0)
      ir_fail(g, "%s: spatial dim %d has negative padding %lld, %lld", op, s, (long long)p->pad_begin[s],
              (long long)p->pad_end[s]);
  }
}

/* Output spatial sizes of a forward window; fails if any is < 1. */
static void window_dims(Graph *g, const char *op, const Node *x, const WindowParams *p, bool ceil_mode,
                        int64_t *out)
{
  for (int s = 0; s < p->nsp; s++) {
    out[s] = ir_window_out(x->dims[2 + s], p->kernel[s], p->stride[s], p->dilation[s], p->pad_begin[s],
                           p->pad_end[s], ceil_mode);
    if (out[s] < 1)
      ir_fail(g, "%s: spatial dim %d: input %lld with kernel %lld (dilation %lld) and pads %lld, %lld "
              "leaves no output", op, s, (long long)x->dims[2 + s], (long long)p->kernel[s],
              (long long)p->dilation[s], (long long)p->pad_begin[s], (long long)p->pad_end[s]);
  }
}

/* `o*stride - pad_begin + k*dil` */
static Ix *window_pos(Graph *g, Ix *o, Ix *k, const WindowParams *p, int s)
{
  return ix_addc(g, ix_add(g, ix_mulc(g, o, p->stride[s]), ix_mulc(g, k, p->dilation[s])), -p->pad_begin[s]);
}

/* y + bias[i1] */
static Node *add_bias(Graph *g, const char *op, Node *y, Node *bias)
{
  if (!bias) return y;
  if (bias->rank != 1 || bias->dims[0] != y->dims[1])
    ir_fail(g, "%s: bias must be [%lld] (output channels), has %d dims (first %lld)", op,
            (long long)y->dims[1], bias->rank, (long long)(bias->rank ? bias->dims[0] : 0));
  if (bias->dtype != y->dtype)
    ir_fail(g, "%s: bias is %s, input is %s", op, dt_name(bias->dtype), dt_name(y->dtype));
  Ix *idx[1] = {ix_var(g, 1)};
  Node *b = ir_gather(g, bias, y->rank, y->dims, idx, NULL, sc_i(0));
  Node *in[2] = {y, b};
  return ir_map(g, MAP_ADD, DT_UNDEF, 2, in);
}

static void check_weights(Graph *g, const char *op, const Node *x, const Node *w, const WindowParams *p)
{
  if (w->rank != x->rank) ir_fail(g, "%s: weight has %d dims, input has %d", op, w->rank, x->rank);
  if (w->dtype != x->dtype)
    ir_fail(g, "%s: weight is %s, input is %s", op, dt_name(w->dtype), dt_name(x->dtype));
  if (!dt_is_float(x->dtype) && !dt_is_int(x->dtype))
    ir_fail(g, "%s: input dtype %s is not numeric", op, dt_name(x->dtype));
  if (p->group < 1) ir_fail(g, "%s: group is %lld", op, (long long)p->group);
  for (int s = 0; s < p->nsp; s++)
    if (p->kernel[s] != w->dims[2 + s])
      ir_fail(g, "%s: kernel_shape[%d] is %lld but the weight has %lld", op, s, (long long)p->kernel[s],
              (long long)w->dims[2 + s]);
}

Node *ir_conv(Graph *g, Node *x, Node *w, Node *bias, const WindowParams *p)
{
  check_window(g, "Conv", x, p);
  check_weights(g, "Conv", x, w, p);
  int ns = p->nsp;
  int64_t n = x->dims[0], c = x->dims[1], m = w->dims[0], grp = p->group;
  if (c % grp || m % grp)
    ir_fail(g, "Conv: group %lld does not divide input channels %lld and output channels %lld",
            (long long)grp, (long long)c, (long long)m);
  int64_t cg = c / grp, mg = m / grp;
  if (w->dims[1] != cg)
    ir_fail(g, "Conv: weight has %lld input channels, input has %lld / group %lld = %lld",
            (long long)w->dims[1], (long long)c, (long long)grp, (long long)cg);
  int64_t out[IR_MAX_SPATIAL];
  window_dims(g, "Conv", x, p, false, out);
  /* domain [N, M, o..., C/g, k...]; vars n 0, m 1, o 2+s, c 2+ns, k 3+ns+s */
  int dr = 3 + 2 * ns;
  int64_t dom[IR_MAX_RANK];
  dom[0] = n;
  dom[1] = m;
  dom[2 + ns] = cg;
  for (int s = 0; s < ns; s++) {
    dom[2 + s] = out[s];
    dom[3 + ns + s] = p->kernel[s];
  }
  Ix *vc = ix_var(g, 2 + ns);
  Ix *ix[IR_MAX_RANK], *iw[IR_MAX_RANK], *io[IR_MAX_RANK];
  ix[0] = ix_var(g, 0);
  /* input channel of group member c for output channel m: (m/(M/g))*(C/g) + c */
  ix[1] = grp == 1 ? vc : ix_add(g, ix_mulc(g, ix_div(g, ix_var(g, 1), ix_const(g, mg)), cg), vc);
  iw[0] = ix_var(g, 1);
  iw[1] = vc;
  io[0] = ix_var(g, 0);
  io[1] = ix_var(g, 1);
  for (int s = 0; s < ns; s++) {
    ix[2 + s] = window_pos(g, ix_var(g, 2 + s), ix_var(g, 3 + ns + s), p, s);
    iw[2 + s] = ix_var(g, 3 + ns + s);
    io[2 + s] = ix_var(g, 2 + s);
  }
  Node *gx = ir_gather(g, x, dr, dom, ix, NULL, sc_i(0)); /* zero padding */
  Node *gw = ir_gather(g, w, dr, dom, iw, NULL, sc_i(0));
  int64_t od[IR_MAX_RANK] = {n, m};
  for (int s = 0; s < ns; s++) od[2 + s] = out[s];
  return add_bias(g, "Conv", mul_sum(g, gx, gw, 2 + ns, od, io), bias);
}

Node *ir_conv_transpose(Graph *g, Node *x, Node *w, Node *bias, const WindowParams *p)
{
  check_window(g, "ConvTranspose", x, p);
  check_weights(g, "ConvTranspose", x, w, p);
  int ns = p->nsp;
  int64_t n = x->dims[0], c = x->dims[1], grp = p->group;
  if (c % grp || w->dims[0] != c)
    ir_fail(g, "ConvTranspose: weight has %lld input channels, input has %lld (group %lld)",
            (long long)w->dims[0], (long long)c, (long long)grp);
  int64_t cg = c / grp, mg = w->dims[1], m = mg * grp;
  /* out = stride*(in-1) + output_padding + (k-1)*dil + 1 - pad_begin - pad_end */
  int64_t od[IR_MAX_RANK] = {n, m};
  for (int s = 0; s < ns; s++) {
    int64_t op = p->output_padding[s];
    /* ONNX wants op < stride, but an explicit output_shape may ask for more:
     * the extra positions receive only the bias */
    if (op < 0) ir_fail(g, "ConvTranspose: output_padding[%d] is %lld", s, (long long)op);
    od[2 + s] = p->stride[s] * (x->dims[2 + s] - 1) + op + (p->kernel[s] - 1) * p->dilation[s] + 1 -
                p->pad_begin[s] - p->pad_end[s];
    if (od[2 + s] < 1)
      ir_fail(g, "ConvTranspose: spatial dim %d has output size %lld", s, (long long)od[2 + s]);
  }
  /* domain [N, C, i..., M/g, k...]; vars n 0, c 1, i 2+s, m 2+ns, k 3+ns+s */
  int dr = 3 + 2 * ns;
  int64_t dom[IR_MAX_RANK];
  dom[0] = n;
  dom[1] = c;
  dom[2 + ns] = mg;
  for (int s = 0; s < ns; s++) {
    dom[2 + s] = x->dims[2 + s];
    dom[3 + ns + s] = p->kernel[s];
  }
  Ix *vm = ix_var(g, 2 + ns);
  Ix *ix[IR_MAX_RANK], *iw[IR_MAX_RANK], *io[IR_MAX_RANK];
  ix[0] = ix_var(g, 0);
  ix[1] = ix_var(g, 1);
  iw[0] = ix_var(g, 1);
  iw[1] = vm;
  io[0] = ix_var(g, 0);
  /* output channel of input channel c and group member m: (c/(C/g))*(M/g) + m */
  io[1] = grp == 1 ? vm : ix_add(g, ix_mulc(g, ix_div(g, ix_var(g, 1), ix_const(g, cg)), mg), vm);
  for (int s = 0; s < ns; s++) {
    ix[2 + s] = ix_var(g, 2 + s);
    iw[2 + s] = ix_var(g, 3 + ns + s);
    io[2 + s] = window_pos(g, ix_var(g, 2 + s), ix_var(g, 3 + ns + s), p, s);
  }
  Node *gx = ir_gather(g, x, dr, dom, ix, NULL, sc_i(0));
  Node *gw = ir_gather(g, w, dr, dom, iw, NULL, sc_i(0));
  return add_bias(g, "ConvTranspose", mul_sum(g, gx, gw, 2 + ns, od, io), bias);
}

/* SCATTER(red) of the window GATHER over [N, C, o..., k...] (vars o 2+s, k 2+ns+s),
 * reading `fill` outside x. */
static Node *pool(Graph *g, Node *x, const WindowParams *p, ReduceOp red, Scalar fill, const int64_t *out)
{
  int ns = p->nsp, dr = 2 + 2 * ns;
  int64_t dom[IR_MAX_RANK] = {x->dims[0], x->dims[1]};
  Ix *ix[IR_MAX_RANK], *io[IR_MAX_RANK];
  ix[0] = io[0] = ix_var(g, 0);
  ix[1] = io[1] = ix_var(g, 1);
  for (int s = 0; s < ns; s++) {
    dom[2 + s] = out[s];
    dom[2 + ns + s] = p->kernel[s];
    ix[2 + s] = window_pos(g, ix_var(g, 2 + s), ix_var(g, 2 + ns + s), p, s);
    io[2 + s] = ix_var(g, 2 + s);
  }
  Node *gx = ir_gather(g, x, dr, dom, ix, NULL, fill);
  return ir_scatter(g, gx, red, 2 + ns, dom, io, NULL);
}

Node *ir_maxpool(Graph *g, Node *x, const WindowParams *p)
{
  check_window(g, "MaxPool", x, p);
  if (!dt_is_float(x->dtype) && !dt_is_int(x->dtype))
    ir_fail(g, "MaxPool: input dtype %s is not numeric", dt_name(x->dtype));
  int64_t out[IR_MAX_SPATIAL];
  window_dims(g, "MaxPool", x, p, p->ceil_mode, out);
  return pool(g, x, p, RED_MAX, reduce_identity(RED_MAX, x->dtype), out);
}

/* Window elements counted for output position o along one spatial dim: positions
 * o*stride - pb + k*dil inside [0, in), or with count_include_pad inside the padded
 * extent [-pb, in + pe) (never the part added by ceil mode). */
static int64_t window_count(const WindowParams *p, int s, int64_t in, int64_t o)
{
  int64_t lo = p->count_include_pad ? -p->pad_begin[s] : 0;
  int64_t hi = p->count_include_pad ? in + p->pad_end[s] : in;
  int64_t cnt = 0;
  for (int64_t k = 0; k < p->kernel[s]; k++) {
    int64_t pos = o * p->stride[s] - p->pad_begin[s] + k * p->dilation[s];
    cnt += pos >= lo && pos < hi;
  }
  return cnt;
}

Node *ir_avgpool(Graph *g, Node *x, const WindowParams *p)
{
  check_window(g, "AveragePool", x, p);
  if (!dt_is_float(x->dtype))
    ir_fail(g, "AveragePool: input dtype %s is not floating point", dt_name(x->dtype));
  int ns = p->nsp;
  int64_t out[IR_MAX_SPATIAL];
  window_dims(g, "AveragePool", x, p, p->ceil_mode, out);
  Node *sum = pool(g, x, p, RED_ADD, sc_i(0), out);
  /* per-position counts: product over spatial dims; one scalar when all equal */
  int64_t total = ir_numel(g, ns, out);
  void *cnt = ir_alloc_array(g, (size_t)total, dt_size(x->dtype));
  int64_t pos[IR_MAX_SPATIAL] = {0}, first = -1;
  bool uniform = true;
  for (int64_t e = 0; e < total; e++) {
    int64_t c = 1;
    for (int s = 0; s < ns; s++) c *= window_count(p, s, x->dims[2 + s], pos[s]);
    if (c == 0) c = 1; /* a window wholly in the ceil-mode overhang averages nothing */
    if (first < 0) first = c;
    uniform = uniform && c == first;
    dt_store(cnt, x->dtype, e, sc_f((double)c));
    for (int s = ns - 1; s >= 0 && ++pos[s] == out[s]; s--) pos[s] = 0;
  }
  if (uniform) return ir_binary(g, MAP_DIV, sum, ir_scalar_like(g, x, (double)first));
  Node *cn = ir_const(g, x->dtype, ns, out, cnt);
  /* counts `i2, i3, ...` of [N, C, o...] */
  Ix *idx[IR_MAX_SPATIAL];
  for (int s = 0; s < ns; s++) idx[s] = ix_var(g, 2 + s);
  Node *cb = ir_gather(g, cn, sum->rank, sum->dims, idx, NULL, sc_i(0));
  Node *in[2] = {sum, cb};
  return ir_map(g, MAP_DIV, DT_UNDEF, 2, in);
}
