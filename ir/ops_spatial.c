/* ops_spatial.c: resampling and local-normalization constructors: resize
 * (nearest, linear, cubic), grid sampling, RoI align, max-unpooling, Lp
 * pooling, local response normalization, mean-variance and group
 * normalization.
 *
 * Resize has static output sizes, so every sampling position is known at
 * compile time: per resized axis we tabulate, for each output position, the
 * taps (input indices, edge-clamped) and their weights, the way ONNX's
 * reference computes them. Nearest is one GATHER over all axes whose index
 * per axis is an affine map when the table is one (integer up/down-sampling)
 * and a LOAD from the constant table otherwise. Linear and cubic resample one
 * axis at a time: over the domain [out..., tap] a GATHER of x at
 * `load(idx, i_axis, i_tap)` times a GATHER of the weight table, SCATTER(add)
 * over the tap.
 *
 * GridSample and RoiAlign sample at data-dependent real positions: their
 * coordinates are MAPs over small [N, H_out, W_out]-shaped tensors (floor,
 * weights, padding rules), turned into int64 index tensors by a cast, and the
 * image is read by GATHERs whose index maps LOAD those tensors (reads outside
 * the image give the GATHER's fill, 0). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ops.h"

/* ---- small helpers ---- */

static Node *sc(Graph *g, const Node *like, double v) { return ir_scalar_like(g, like, v); }
static Node *add(Graph *g, Node *a, Node *b) { return ir_binary(g, MAP_ADD, a, b); }
static Node *sub(Graph *g, Node *a, Node *b) { return ir_binary(g, MAP_SUB, a, b); }
static Node *mul(Graph *g, Node *a, Node *b) { return ir_binary(g, MAP_MUL, a, b); }
static Node *addc(Graph *g, Node *a, double v) { return v == 0 ? a : add(g, a, sc(g, a, v)); }
static Node *mulc(Graph *g, Node *a, double v) { return v == 1 ? a : mul(g, a, sc(g, a, v)); }
static Node *clampc(Graph *g, Node *a, double lo, double hi)
{
  return ir_binary(g, MAP_MIN, ir_binary(g, MAP_MAX, a, sc(g, a, lo)), sc(g, a, hi));
}

static void check_float(Graph *g, const char *op, const Node *x)
{
  if (!dt_is_float(x->dtype)) ir_fail(g, "%s: input dtype %s is not floating point", op, dt_name(x->dtype));
}

/* ---- Resize ---- */

/* Source coordinate of output position j along axis a (ONNX's
 * coordinate_transformation_mode); *outside: tf_crop_and_resize left the input. */
static double resize_coord(const ResizeParams *p, int a, int64_t j, int64_t in, bool *outside)
{
  double s = p->scale[a], ow = p->out_width[a], x = (double)j, len = (double)(in - 1);
  *outside = false;
  switch (p->coord) {
  case RESIZE_HALF_PIXEL: return (x + 0.5) / s - 0.5;
  case RESIZE_PYTORCH_HALF_PIXEL: return ow > 1 ? (x + 0.5) / s - 0.5 : 0;
  case RESIZE_ALIGN_CORNERS: return ow == 1 ? 0 : x * len / (ow - 1);
  case RESIZE_ASYMMETRIC: return x / s;
  case RESIZE_TF_HALF_PIXEL_FOR_NN: return (x + 0.5) / s;
  case RESIZE_TF_CROP_AND_RESIZE: {
    double r0 = p->roi_start[a], r1 = p->roi_end[a];
    double xo = ow == 1 ? (r1 - r0) * len / 2 : x * (r1 - r0) * len / (ow - 1);
    xo += r0 * len;
    *outside = xo < 0 || xo > len;
    return xo;
  }
  }
  jtc_unreachable();
}

/* Keys' cubic convolution weights for the taps at -1, 0, 1, 2 around the
 * position ratio in (0, 1] past the first tap (ONNX's cubic_coeffs). */
static void cubic_weights(double r, double A, double *w)
{
  double t = r + 1, u = 1 - r, v = 2 - r;
  w[0] = ((A * t - 5 * A) * t + 8 * A) * t - 4 * A;
  w[1] = ((A + 2) * r - (A + 3)) * r * r + 1;
  w[2] = ((A + 2) * u - (A + 3)) * u * u + 1;
  w[3] = ((A * v - 5 * A) * v + 8 * A) * v - 4 * A;
}

/* One axis's taps: idx[j*n + k] (clamped into [0, in)) and w[j*n + k]; n is 1
 * (nearest) or the mode's tap count. lo/hi: the first and last output position
 * inside the crop (tf_crop_and_resize), hi < lo when none. */
typedef struct {
  int n;
  int64_t *idx;
  double *w;
  int64_t lo, hi;
} AxisTaps;

static void resize_axis(Graph *g, const ResizeParams *p, int a, int64_t in, int64_t out, AxisTaps *t)
{
  int n = p->mode == RESIZE_CUBIC ? 4 : 2;
  t->n = p->mode == RESIZE_NEAREST ? 1 : n;
  t->idx = ir_alloc_array(g, (size_t)(out * t->n), sizeof(int64_t));
  t->w = ir_alloc_array(g, (size_t)(out * t->n), sizeof(double));
  t->lo = out;
  t->hi = -1;
  for (int64_t j = 0; j < out; j++) {
    bool outside;
    double xo = resize_coord(p, a, j, in, &outside);
    if (!outside) {
      if (t->lo > j) t->lo = j;
      t->hi = j;
    }
    if (!isfinite(xo)) xo = 0; /* only where the crop is left, which reads the fill */
    double fl = floor(xo);
    bool integral = xo == fl;
    double ratio = integral ? 1 : xo - fl;
    /* the n nearest positions to xo in the edge-padded axis [-n/2, in + n/2),
     * preferring lower ones on ties: a window starting at ceil(xo) - n/2 */
    double start = ceil(xo) - n / 2, smin = -(n / 2), smax = (double)in + n / 2 - n;
    if (start < smin) start = smin;
    if (start > smax) start = smax;
    int64_t s0 = (int64_t)start;
    double c[4];
    if (p->mode == RESIZE_NEAREST) {
      bool hi_tap;
      if (integral) hi_tap = true;
      else switch (p->nearest) {
      case RESIZE_ROUND_PREFER_FLOOR: hi_tap = ratio > 0.5; break;
      case RESIZE_ROUND_PREFER_CEIL: hi_tap = ratio >= 0.5; break;
      case RESIZE_FLOOR: hi_tap = false; break;
      case RESIZE_CEIL: hi_tap = true; break;
      case RESIZE_SIMPLE: hi_tap = p->scale[a] < 1; break;
      default: jtc_unreachable();
      }
      int64_t v = s0 + hi_tap;
      t->idx[j] = v < 0 ? 0 : v >= in ? in - 1 : v;
      t->w[j] = 1;
      continue;
    }
    if (p->mode == RESIZE_LINEAR) {
      c[0] = 1 - ratio;
      c[1] = ratio;
    } else {
      cubic_weights(ratio, p->cubic_a, c);
    }
    if (p->exclude_outside) {
      double sum = 0;
      for (int k = 0; k < n; k++) {
        if (s0 + k < 0 || s0 + k >= in) c[k] = 0;
        sum += c[k];
      }
      for (int k = 0; k < n; k++) c[k] /= sum;
    }
    for (int k = 0; k < n; k++) {
      int64_t v = s0 + k;
      t->idx[j * n + k] = v < 0 ? 0 : v >= in ? in - 1 : v;
      t->w[j * n + k] = c[k];
    }
  }
}

/* Reduce taps to one per position when each position's weights are a single 1. */
static void single_tap(AxisTaps *t, int64_t out)
{
  if (t->n == 1) return;
  int64_t *pick = t->idx; /* compacted in place: pick[j] <= idx[j*n + k] never overtakes */
  for (int64_t j = 0; j < out; j++) {
    int one = -1;
    for (int k = 0; k < t->n; k++) {
      double w = t->w[j * t->n + k];
      if (w == 1 && one < 0) one = k;
      else if (w != 0) return;
    }
    if (one < 0) return;
  }
  for (int64_t j = 0; j < out; j++) {
    int k = 0;
    while (t->w[j * t->n + k] != 1) k++;
    pick[j] = t->idx[j * t->n + k];
    t->w[j] = 1;
  }
  t->n = 1;
}

/* Index map for a one-tap table over output variable v: `v`, a constant,
 * `(v + o) / f` (integer up-sampling), `v * f + o` (integer down-sampling), or
 * a load from the table as a constant. */
static Ix *tap_map(Graph *g, const int64_t *tab, int64_t out, int v)
{
  Ix *iv = ix_var(g, v);
  bool ok = true;
  for (int64_t j = 0; j < out && ok; j++) ok = tab[j] == j;
  if (ok) return iv;
  ok = true;
  for (int64_t j = 0; j < out && ok; j++) ok = tab[j] == tab[0];
  if (ok) return ix_const(g, tab[0]);
  int64_t f = out > 1 ? tab[1] - tab[0] : 0;
  ok = f > 0;
  for (int64_t j = 0; j < out && ok; j++) ok = tab[j] == tab[0] + j * f;
  if (ok) return ix_addc(g, ix_mulc(g, iv, f), tab[0]);
  for (int64_t fu = 2; fu <= 64 && fu <= out; fu++) {
    for (int64_t o = 0; o < fu; o++) {
      ok = true;
      for (int64_t j = 0; j < out && ok; j++) ok = tab[j] == (j + o) / fu;
      if (ok) return ix_div(g, ix_addc(g, iv, o), ix_const(g, fu));
    }
  }
  int64_t d[1] = {out};
  Node *c = ir_const(g, DT_I64, 1, d, tab);
  Ix *args[1] = {iv};
  return ix_load(g, c, 1, args);
}

/* Multi-tap resample of axis a of x to `out` positions: SCATTER(add) over
 * [x dims with out at a, tap] of x[.., load(idx, i_a, i_tap), ..] * w[i_a, i_tap]. */
static Node *resample_axis(Graph *g, Node *x, int a, int64_t out, const AxisTaps *t)
{
  int r = x->rank;
  if (r + 1 > IR_MAX_RANK) ir_fail(g, "Resize: rank %d leaves no room for the tap loop", r);
  int64_t dom[IR_MAX_RANK], od[IR_MAX_RANK];
  Ix *ix[IR_MAX_RANK], *io[IR_MAX_RANK];
  for (int k = 0; k < r; k++) {
    dom[k] = od[k] = k == a ? out : x->dims[k];
    ix[k] = io[k] = ix_var(g, k);
  }
  dom[r] = t->n;
  int64_t td[2] = {out, t->n};
  Node *itab = ir_const(g, DT_I64, 2, td, t->idx);
  void *wbuf = ir_alloc_array(g, (size_t)(out * t->n), dt_size(x->dtype));
  for (int64_t e = 0; e < out * t->n; e++) dt_store(wbuf, x->dtype, e, sc_f(t->w[e]));
  Node *wtab = ir_const(g, x->dtype, 2, td, wbuf);
  Ix *targs[2] = {ix_var(g, a), ix_var(g, r)};
  ix[a] = ix_load(g, itab, 2, targs);
  Node *gx = ir_gather(g, x, r + 1, dom, ix, NULL, sc_i(0));
  Node *gw = ir_gather(g, wtab, r + 1, dom, targs, NULL, sc_i(0));
  Node *in[2] = {gx, gw};
  return ir_scatter(g, ir_map(g, MAP_MUL, DT_UNDEF, 2, in), RED_ADD, r, od, io, NULL);
}

Node *ir_resize(Graph *g, Node *x, const ResizeParams *p)
{
  int r = x->rank;
  if (r < 1) ir_fail(g, "Resize: input is a scalar");
  if (p->mode != RESIZE_NEAREST) check_float(g, "Resize", x);
  else if (!dt_is_float(x->dtype) && !dt_is_int(x->dtype) && x->dtype != DT_BOOL)
    ir_fail(g, "Resize: input dtype %s is not supported", dt_name(x->dtype));
  for (int a = 0; a < r; a++) {
    if (p->out[a] < 1)
      ir_fail(g, "Resize: axis %d: input %lld gives output size %lld (must be >= 1)", a, (long long)x->dims[a],
              (long long)p->out[a]);
    if (!(p->scale[a] > 0) || !isfinite(p->scale[a]))
      ir_fail(g, "Resize: axis %d: scale %g must be positive and finite", a, p->scale[a]);
    if (x->dims[a] < 1) ir_fail(g, "Resize: axis %d of the input is empty", a);
  }
  AxisTaps taps[IR_MAX_RANK];
  bool crop = false;
  ir_numel(g, r, p->out); /* overflow check before the tables */
  for (int a = 0; a < r; a++) {
    resize_axis(g, p, a, x->dims[a], p->out[a], &taps[a]);
    single_tap(&taps[a], p->out[a]);
    crop = crop || taps[a].lo > 0 || taps[a].hi < p->out[a] - 1;
  }
  /* one GATHER for the one-tap axes, then one resample per multi-tap axis */
  int64_t dims[IR_MAX_RANK];
  Ix *idx[IR_MAX_RANK];
  bool any = false;
  for (int a = 0; a < r; a++) {
    bool one = taps[a].n == 1;
    dims[a] = one ? p->out[a] : x->dims[a];
    idx[a] = one ? tap_map(g, taps[a].idx, p->out[a], a) : ix_var(g, a);
    any = any || idx[a] != ix_var(g, a) || dims[a] != x->dims[a];
  }
  Node *y = any ? ir_gather(g, x, r, dims, idx, NULL, sc_i(0)) : x;
  for (int a = 0; a < r; a++)
    if (taps[a].n > 1) y = resample_axis(g, y, a, p->out[a], &taps[a]);
  if (!crop) return y;
  /* tf_crop_and_resize: positions whose source left the input on any axis */
  Ix *cond = NULL;
  for (int a = 0; a < r; a++) {
    Ix *v = ix_var(g, a);
    cond = ix_and(g, cond, ix_and(g, ix_cmp(g, IX_LE, ix_const(g, taps[a].lo), v),
                                  ix_cmp(g, IX_LE, v, ix_const(g, taps[a].hi))));
    idx[a] = v;
  }
  return ir_gather(g, y, r, y->dims, idx, cond, sc_f(p->extrapolation));
}

/* ---- GridSample ---- */

/* PyTorch's reflect_coordinates: reflect c into [lo2/2, hi2/2] */
static Node *reflect(Graph *g, Node *c, double lo2, double hi2)
{
  if (lo2 == hi2) return mulc(g, c, 0);
  double m = lo2 / 2, span = (hi2 - lo2) / 2;
  Node *a = ir_unary(g, MAP_ABS, addc(g, c, -m));
  Node *extra = ir_binary(g, MAP_FMOD, a, sc(g, a, span));
  Node *flips = ir_unary(g, MAP_FLOOR, ir_binary(g, MAP_DIV, a, sc(g, a, span)));
  Node *odd = ir_binary(g, MAP_NE, ir_binary(g, MAP_FMOD, flips, sc(g, a, 2)), sc(g, a, 0));
  return ir_where(g, odd, addc(g, mulc(g, extra, -1), span + m), addc(g, extra, m));
}

/* Padding rule applied to a (real or integral) coordinate along an axis of size n. */
static Node *pad_coord(Graph *g, Node *c, int64_t n, GridPadding pad, bool align)
{
  double hi = (double)(n - 1);
  if (pad == GRID_PAD_BORDER) return clampc(g, c, 0, hi);
  if (pad == GRID_PAD_REFLECTION) {
    c = align ? reflect(g, c, 0, 2 * hi) : reflect(g, c, -1, 2 * (double)n - 1);
    return clampc(g, c, 0, hi);
  }
  return c;
}

/* int64 index tensor from an integral-valued coordinate; values are first kept
 * in [lo, hi] (callers pick a range whose ends read the same as beyond them). */
static Node *to_index(Graph *g, Node *c, double lo, double hi)
{
  return ir_cast(g, clampc(g, c, lo, hi), DT_I64);
}

/* out [N, C, Ho, Wo] = x[i0, i1, load(iy)+dy, load(ix)+dx] * w, with iy, ix, w [N, Ho, Wo]. */
static Node *grid_tap(Graph *g, Node *x, Node *iy, int64_t dy, Node *ixn, int64_t dx, Node *w)
{
  int64_t dims[4] = {x->dims[0], x->dims[1], iy->dims[1], iy->dims[2]};
  Ix *a[3] = {ix_var(g, 0), ix_var(g, 2), ix_var(g, 3)};
  Ix *idx[4] = {ix_var(g, 0), ix_var(g, 1), ix_addc(g, ix_load(g, iy, 3, a), dy), ix_addc(g, ix_load(g, ixn, 3, a), dx)};
  Node *v = ir_gather(g, x, 4, dims, idx, NULL, sc_i(0));
  if (!w) return v;
  Node *wb = ir_gather(g, w, 4, dims, a, NULL, sc_i(0));
  Node *in[2] = {v, wb};
  return ir_map(g, MAP_MUL, DT_UNDEF, 2, in);
}

static Node *sum_acc(Graph *g, Node *acc, Node *t) { return acc ? add(g, acc, t) : t; }

Node *ir_grid_sample(Graph *g, Node *x, Node *grid, GridMode mode, GridPadding pad, bool align)
{
  if (x->rank != 4) ir_fail(g, "GridSample: input X has %d dims, expected 4 [N, C, H, W]", x->rank);
  if (grid->rank != 4 || grid->dims[3] != 2 || grid->dims[0] != x->dims[0])
    ir_fail(g, "GridSample: grid must be [N=%lld, H_out, W_out, 2], has %d dims", (long long)x->dims[0], grid->rank);
  check_float(g, "GridSample", x);
  if (grid->dtype != x->dtype)
    ir_fail(g, "GridSample: grid is %s, X is %s", dt_name(grid->dtype), dt_name(x->dtype));
  int64_t h = x->dims[2], w = x->dims[3];
  if (h < 1 || w < 1) ir_fail(g, "GridSample: input image is empty");
  /* gx, gy [N, Ho, Wo]: grid[..., 0] is the width coordinate, grid[..., 1] the height */
  int64_t cd[3] = {grid->dims[0], grid->dims[1], grid->dims[2]};
  Ix *gi[4] = {ix_var(g, 0), ix_var(g, 1), ix_var(g, 2), ix_const(g, 0)};
  Node *gx = ir_gather(g, grid, 3, cd, gi, NULL, sc_i(0));
  gi[3] = ix_const(g, 1);
  Node *gy = ir_gather(g, grid, 3, cd, gi, NULL, sc_i(0));
  /* unnormalize: align ? (g + 1) / 2 * (n - 1) : ((g + 1) * n - 1) / 2 */
  Node *fx = align ? mulc(g, addc(g, gx, 1), (double)(w - 1) / 2) : mulc(g, addc(g, mulc(g, addc(g, gx, 1), (double)w), -1), 0.5);
  Node *fy = align ? mulc(g, addc(g, gy, 1), (double)(h - 1) / 2) : mulc(g, addc(g, mulc(g, addc(g, gy, 1), (double)h), -1), 0.5);
  if (mode == GRID_NEAREST) {
    fx = ir_unary(g, MAP_ROUND, pad_coord(g, fx, w, pad, align));
    fy = ir_unary(g, MAP_ROUND, pad_coord(g, fy, h, pad, align));
    return grid_tap(g, x, to_index(g, fy, -1, (double)h), 0, to_index(g, fx, -1, (double)w), 0, NULL);
  }
  if (mode == GRID_BILINEAR) {
    fx = pad_coord(g, fx, w, pad, align);
    fy = pad_coord(g, fy, h, pad, align);
    Node *x0 = ir_unary(g, MAP_FLOOR, fx), *y0 = ir_unary(g, MAP_FLOOR, fy);
    Node *wx1 = sub(g, fx, x0), *wy1 = sub(g, fy, y0);
    Node *wx0 = addc(g, mulc(g, wx1, -1), 1), *wy0 = addc(g, mulc(g, wy1, -1), 1);
    Node *ix0 = to_index(g, x0, -2, (double)w), *iy0 = to_index(g, y0, -2, (double)h);
    Node *acc = NULL;
    acc = sum_acc(g, acc, grid_tap(g, x, iy0, 0, ix0, 0, mul(g, wy0, wx0)));
    acc = sum_acc(g, acc, grid_tap(g, x, iy0, 0, ix0, 1, mul(g, wy0, wx1)));
    acc = sum_acc(g, acc, grid_tap(g, x, iy0, 1, ix0, 0, mul(g, wy1, wx0)));
    acc = sum_acc(g, acc, grid_tap(g, x, iy0, 1, ix0, 1, mul(g, wy1, wx1)));
    return acc;
  }
  /* bicubic: taps floor-1 .. floor+2 of the unpadded coordinate, each padded */
  Node *x0 = ir_unary(g, MAP_FLOOR, fx), *y0 = ir_unary(g, MAP_FLOOR, fy);
  Node *tx = sub(g, fx, x0), *ty = sub(g, fy, y0);
  Node *cx[4], *cy[4], *ixs[4], *iys[4];
  double A = -0.75;
  for (int k = 0; k < 4; k++) {
    /* distance of tap k from the position: 1 + t, t, 1 - t, 2 - t */
    Node *dxk = k == 0 ? addc(g, tx, 1) : k == 1 ? tx : addc(g, mulc(g, tx, -1), k - 1);
    Node *dyk = k == 0 ? addc(g, ty, 1) : k == 1 ? ty : addc(g, mulc(g, ty, -1), k - 1);
    for (int axis = 0; axis < 2; axis++) {
      Node *d = axis ? dyk : dxk;
      Node *c;
      if (k == 1 || k == 2) /* ((A + 2) d - (A + 3)) d^2 + 1 */
        c = addc(g, mul(g, addc(g, mulc(g, d, A + 2), -(A + 3)), mul(g, d, d)), 1);
      else /* ((A d - 5A) d + 8A) d - 4A */
        c = addc(g, mul(g, addc(g, mul(g, addc(g, mulc(g, d, A), -5 * A), d), 8 * A), d), -4 * A);
      *(axis ? &cy[k] : &cx[k]) = c;
    }
    Node *px = pad_coord(g, addc(g, x0, k - 1), w, pad, align);
    Node *py = pad_coord(g, addc(g, y0, k - 1), h, pad, align);
    ixs[k] = to_index(g, px, -1, (double)w);
    iys[k] = to_index(g, py, -1, (double)h);
  }
  Node *acc = NULL;
  for (int j = 0; j < 4; j++)
    for (int i = 0; i < 4; i++) acc = sum_acc(g, acc, grid_tap(g, x, iys[j], 0, ixs[i], 0, mul(g, cy[j], cx[i])));
  return acc;
}

/* ---- RoiAlign ---- */

/* Per-axis sample positions of every roi [R, bins, ratio] along one image axis
 * (ONNX/Caffe2 RoiAlign): `lowi`, `highi` int64 indices and weights `wl`, `wh`
 * (zero where the sample lies outside [-1, n]). start/len: [R] roi extent. */
static void roi_axis(Graph *g, Node *start, Node *len, int64_t bins, int64_t ratio, int64_t n, Node **lowi,
                     Node **highi, Node **wl, Node **wh)
{
  int64_t R = start->dims[0];
  int64_t d3[3] = {R, bins, ratio};
  Ix *ir[1] = {ix_var(g, 0)};
  Node *st = ir_gather(g, start, 3, d3, ir, NULL, sc_i(0));
  Node *bin = mulc(g, ir_gather(g, len, 3, d3, ir, NULL, sc_i(0)), 1.0 / (double)bins);
  /* offset factor of each (bin, sample): p + (s + 0.5) / ratio */
  void *buf = ir_alloc_array(g, (size_t)(bins * ratio), dt_size(start->dtype));
  for (int64_t b = 0; b < bins; b++)
    for (int64_t s = 0; s < ratio; s++)
      dt_store(buf, start->dtype, b * ratio + s, sc_f((double)b + ((double)s + 0.5) / (double)ratio));
  int64_t fd[2] = {bins, ratio};
  Ix *fi[2] = {ix_var(g, 1), ix_var(g, 2)};
  Node *f = ir_gather(g, ir_const(g, start->dtype, 2, fd, buf), 3, d3, fi, NULL, sc_i(0));
  Node *pos = add(g, st, mul(g, bin, f));
  Node *valid = ir_cast(g, ir_binary(g, MAP_AND, ir_binary(g, MAP_GE, pos, sc(g, pos, -1)),
                                     ir_binary(g, MAP_LE, pos, sc(g, pos, (double)n))), pos->dtype);
  Node *pc = clampc(g, pos, 0, (double)(n - 1));
  Node *lo = ir_unary(g, MAP_FLOOR, pc);
  Node *l = sub(g, pc, lo);
  *wh = mul(g, l, valid);
  *wl = mul(g, addc(g, mulc(g, l, -1), 1), valid);
  *lowi = ir_cast(g, lo, DT_I64);
  *highi = ir_binary(g, MAP_MIN, ir_binary(g, MAP_ADD, *lowi, ir_scalar(g, DT_I64, 1)), ir_scalar(g, DT_I64, (double)(n - 1)));
}

Node *ir_roi_align(Graph *g, Node *x, Node *rois, Node *batch, const RoiAlignParams *p)
{
  if (x->rank != 4) ir_fail(g, "RoiAlign: input X has %d dims, expected 4 [N, C, H, W]", x->rank);
  check_float(g, "RoiAlign", x);
  if (rois->rank != 2 || rois->dims[1] != 4)
    ir_fail(g, "RoiAlign: rois must be [num_rois, 4], has %d dims", rois->rank);
  if (rois->dtype != x->dtype) ir_fail(g, "RoiAlign: rois are %s, X is %s", dt_name(rois->dtype), dt_name(x->dtype));
  if (batch->rank != 1 || batch->dims[0] != rois->dims[0] || !dt_is_int(batch->dtype))
    ir_fail(g, "RoiAlign: batch_indices must be an integer [num_rois=%lld] tensor", (long long)rois->dims[0]);
  if (p->out_h < 1 || p->out_w < 1)
    ir_fail(g, "RoiAlign: output size %lld x %lld must be positive", (long long)p->out_h, (long long)p->out_w);
  if (p->sampling_ratio < 1)
    ir_fail(g, "RoiAlign: sampling_ratio %lld: the adaptive ratio (0) gives each roi a sample count that "
            "depends on its coordinates at run time; only a fixed ratio >= 1 compiles", (long long)p->sampling_ratio);
  int64_t R = rois->dims[0], C = x->dims[1], H = x->dims[2], W = x->dims[3], sr = p->sampling_ratio;
  if (H < 1 || W < 1) ir_fail(g, "RoiAlign: input image is empty");
  /* roi columns [R]: x1 y1 x2 y2, scaled, shifted by half a pixel in half_pixel mode */
  Node *col[4];
  for (int k = 0; k < 4; k++) {
    int64_t d1[1] = {R};
    Ix *ci[2] = {ix_var(g, 0), ix_const(g, k)};
    col[k] = addc(g, mulc(g, ir_gather(g, rois, 1, d1, ci, NULL, sc_i(0)), p->spatial_scale), p->half_pixel ? -0.5 : 0);
  }
  Node *rw = sub(g, col[2], col[0]), *rh = sub(g, col[3], col[1]);
  if (!p->half_pixel) {
    rw = ir_binary(g, MAP_MAX, rw, sc(g, rw, 1));
    rh = ir_binary(g, MAP_MAX, rh, sc(g, rh, 1));
  }
  Node *yl, *yh, *wyl, *wyh, *xl, *xh, *wxl, *wxh;
  roi_axis(g, col[1], rh, p->out_h, sr, H, &yl, &yh, &wyl, &wyh);
  roi_axis(g, col[0], rw, p->out_w, sr, W, &xl, &xh, &wxl, &wxh);
  /* domain [R, C, oh, ow, sy, sx] */
  int64_t dom[6] = {R, C, p->out_h, p->out_w, sr, sr};
  Ix *r0[1] = {ix_var(g, 0)};
  Ix *ya[3] = {ix_var(g, 0), ix_var(g, 2), ix_var(g, 4)}, *xa[3] = {ix_var(g, 0), ix_var(g, 3), ix_var(g, 5)};
  Ix *bi = ix_load(g, batch, 1, r0);
  Node *ys[2] = {yl, yh}, *xs[2] = {xl, xh}, *wys[2] = {wyl, wyh}, *wxs[2] = {wxl, wxh};
  Node *acc = NULL;
  for (int a = 0; a < 2; a++)
    for (int b = 0; b < 2; b++) {
      Ix *idx[4] = {bi, ix_var(g, 1), ix_load(g, ys[a], 3, ya), ix_load(g, xs[b], 3, xa)};
      Node *v = ir_gather(g, x, 6, dom, idx, NULL, sc_i(0));
      Node *wy = ir_gather(g, wys[a], 6, dom, ya, NULL, sc_i(0)), *wx = ir_gather(g, wxs[b], 6, dom, xa, NULL, sc_i(0));
      Node *in[2] = {wy, wx};
      Node *wv[2] = {ir_map(g, MAP_MUL, DT_UNDEF, 2, in), v};
      Node *t = ir_map(g, MAP_MUL, DT_UNDEF, 2, wv);
      if (!acc) acc = t;
      else {
        Node *pair[2] = {acc, t};
        acc = ir_map(g, p->max_mode ? MAP_MAX : MAP_ADD, DT_UNDEF, 2, pair);
      }
    }
  int64_t od[4] = {R, C, p->out_h, p->out_w};
  Ix *oi[4] = {ix_var(g, 0), ix_var(g, 1), ix_var(g, 2), ix_var(g, 3)};
  Node *y = ir_scatter(g, acc, p->max_mode ? RED_MAX : RED_ADD, 4, od, oi, NULL);
  return p->max_mode ? y : mulc(g, y, 1.0 / (double)(sr * sr));
}

/* ---- MaxUnpool ---- */

Node *ir_max_unpool(Graph *g, Node *x, Node *indices, const int64_t *index_dims, int rank, const int64_t *out_dims)
{
  if (!ir_same_shape(x, indices))
    ir_fail(g, "MaxUnpool: indices must have X's shape (%d dims)", x->rank);
  if (!dt_is_int(indices->dtype)) ir_fail(g, "MaxUnpool: indices are %s, not integers", dt_name(indices->dtype));
  if (rank != x->rank || rank < 3)
    ir_fail(g, "MaxUnpool: output has %d dims, X has %d (need [N, C, spatial...])", rank, x->rank);
  for (int k = 0; k < rank; k++)
    if (index_dims[k] < 1 || out_dims[k] < index_dims[k])
      ir_fail(g, "MaxUnpool: output dim %d is %lld, smaller than the unpooled size %lld", k, (long long)out_dims[k],
              (long long)index_dims[k]);
  int64_t numel = ir_numel(g, rank, index_dims);
  /* out[(f / stride_k) % dim_k ...] = x[j] for f = indices[j] in [0, numel): the
   * indices flatten index_dims, whose block sits at the start of out_dims */
  Ix *v[IR_MAX_RANK], *oi[IR_MAX_RANK];
  for (int k = 0; k < x->rank; k++) v[k] = ix_var(g, k);
  Ix *f = ix_load(g, indices, x->rank, v);
  int64_t stride = 1;
  for (int k = rank - 1; k >= 0; k--) {
    oi[k] = ix_mod(g, ix_div(g, f, ix_const(g, stride)), ix_const(g, index_dims[k]));
    stride *= index_dims[k];
  }
  Ix *cond = ix_and(g, ix_cmp(g, IX_LE, ix_const(g, 0), f), ix_cmp(g, IX_LT, f, ix_const(g, numel)));
  return ir_scatter(g, x, RED_ASSIGN, rank, out_dims, oi, cond);
}

/* ---- LpPool ---- */

Node *ir_lppool(Graph *g, Node *x, const WindowParams *p, double pw)
{
  check_float(g, "LpPool", x);
  if (!(pw > 0) || !isfinite(pw)) ir_fail(g, "LpPool: p is %g, must be positive", pw);
  int ns = p->nsp;
  if (ns < 1 || ns > IR_MAX_SPATIAL || x->rank != 2 + ns)
    ir_fail(g, "LpPool: input has %d dims, expected %d (N, C and %d spatial)", x->rank, 2 + ns, ns);
  int64_t out[IR_MAX_SPATIAL];
  for (int s = 0; s < ns; s++) {
    if (p->kernel[s] < 1 || p->stride[s] < 1 || p->dilation[s] < 1 || p->pad_begin[s] < 0 || p->pad_end[s] < 0)
      ir_fail(g, "LpPool: spatial dim %d: kernel %lld, stride %lld, dilation %lld, pads %lld, %lld are invalid", s,
              (long long)p->kernel[s], (long long)p->stride[s], (long long)p->dilation[s],
              (long long)p->pad_begin[s], (long long)p->pad_end[s]);
    out[s] = ir_window_out(x->dims[2 + s], p->kernel[s], p->stride[s], p->dilation[s], p->pad_begin[s],
                           p->pad_end[s], p->ceil_mode);
    if (out[s] < 1) ir_fail(g, "LpPool: spatial dim %d leaves no output", s);
  }
  /* |x|^p gathered over [N, C, o..., k...] (zero padding), summed, ^(1/p) */
  Node *ax = ir_unary(g, MAP_ABS, x);
  Node *pp = pw == 1 ? ax : pw == 2 ? mul(g, ax, ax) : ir_binary(g, MAP_POW, ax, sc(g, x, pw));
  int64_t dom[IR_MAX_RANK] = {x->dims[0], x->dims[1]}, od[IR_MAX_RANK] = {x->dims[0], x->dims[1]};
  Ix *ix[IR_MAX_RANK], *io[IR_MAX_RANK];
  ix[0] = io[0] = ix_var(g, 0);
  ix[1] = io[1] = ix_var(g, 1);
  for (int s = 0; s < ns; s++) {
    dom[2 + s] = od[2 + s] = out[s];
    dom[2 + ns + s] = p->kernel[s];
    ix[2 + s] = ix_addc(g, ix_add(g, ix_mulc(g, ix_var(g, 2 + s), p->stride[s]), ix_mulc(g, ix_var(g, 2 + ns + s), p->dilation[s])),
                        -p->pad_begin[s]);
    io[2 + s] = ix_var(g, 2 + s);
  }
  Node *win = ir_gather(g, pp, 2 + 2 * ns, dom, ix, NULL, sc_i(0));
  Node *sum = ir_scatter(g, win, RED_ADD, 2 + ns, od, io, NULL);
  if (pw == 1) return sum;
  if (pw == 2) return ir_unary(g, MAP_SQRT, sum);
  return ir_binary(g, MAP_POW, sum, sc(g, sum, 1.0 / pw));
}

/* ---- LRN ---- */

Node *ir_lrn(Graph *g, Node *x, int64_t size, double alpha, double beta, double bias)
{
  check_float(g, "LRN", x);
  if (x->rank < 3) ir_fail(g, "LRN: input has %d dims, needs [N, C, spatial...]", x->rank);
  if (size < 1) ir_fail(g, "LRN: size is %lld, must be >= 1", (long long)size);
  int r = x->rank;
  if (r + 1 > IR_MAX_RANK) ir_fail(g, "LRN: rank %d is too large", r);
  /* square_sum[n, c, ...] = sum over k < size of x[n, c - (size-1)/2 + k, ...]^2 (zero outside) */
  Node *sq = mul(g, x, x);
  int64_t dom[IR_MAX_RANK];
  Ix *ix[IR_MAX_RANK], *io[IR_MAX_RANK];
  for (int k = 0; k < r; k++) {
    dom[k] = x->dims[k];
    ix[k] = io[k] = ix_var(g, k);
  }
  dom[r] = size;
  ix[1] = ix_addc(g, ix_add(g, ix_var(g, 1), ix_var(g, r)), -((size - 1) / 2));
  Node *win = ir_gather(g, sq, r + 1, dom, ix, NULL, sc_i(0));
  Node *ss = ir_scatter(g, win, RED_ADD, r, x->dims, io, NULL);
  Node *den = addc(g, mulc(g, ss, alpha / (double)size), bias);
  den = beta == 1 ? den : ir_binary(g, MAP_POW, den, sc(g, den, beta));
  return ir_binary(g, MAP_DIV, x, den);
}

/* ---- MeanVarianceNormalization ---- */

Node *ir_mvn(Graph *g, Node *x, int naxes, const int *axes)
{
  check_float(g, "MeanVarianceNormalization", x);
  /* ONNX's function body: (x - E[x]) / (sqrt(E[x^2] - E[x]^2) + 1e-9) */
  Node *mean = ir_reduce_mean(g, x, naxes, axes, true);
  Node *ex2 = ir_reduce_mean(g, mul(g, x, x), naxes, axes, true);
  Node *var = sub(g, ex2, mul(g, mean, mean));
  Node *sd = addc(g, ir_unary(g, MAP_SQRT, var), 1e-9);
  return ir_binary(g, MAP_DIV, sub(g, x, mean), sd);
}

/* ---- GroupNormalization ---- */

Node *ir_group_norm(Graph *g, Node *x, Node *scale, Node *bias, int64_t groups, double eps, bool per_channel)
{
  check_float(g, "GroupNormalization", x);
  if (x->rank < 2) ir_fail(g, "GroupNormalization: input has %d dims, needs [N, C, ...]", x->rank);
  int64_t n = x->dims[0], c = x->dims[1];
  if (groups < 1 || c % groups)
    ir_fail(g, "GroupNormalization: num_groups %lld does not divide the %lld channels", (long long)groups, (long long)c);
  int64_t want = per_channel ? c : groups;
  if (scale->numel != want || bias->numel != want || scale->rank != 1 || bias->rank != 1)
    ir_fail(g, "GroupNormalization: scale and bias must be 1-D with %lld values", (long long)want);
  if (scale->dtype != x->dtype || bias->dtype != x->dtype)
    ir_fail(g, "GroupNormalization: scale/bias are %s/%s, input is %s", dt_name(scale->dtype), dt_name(bias->dtype),
            dt_name(x->dtype));
  int64_t d3[3] = {n, groups, x->numel / (n ? n : 1) / groups};
  Node *xr = ir_reshape(g, x, 3, d3);
  int ax[1] = {2};
  Node *mu = ir_reduce_mean(g, xr, 1, ax, true);
  Node *d = sub(g, xr, mu);
  Node *var = ir_reduce_mean(g, mul(g, d, d), 1, ax, true);
  Node *y = ir_binary(g, MAP_DIV, d, ir_unary(g, MAP_SQRT, addc(g, var, eps)));
  y = ir_reshape(g, y, x->rank, x->dims);
  /* scale/bias along the channel axis: s[c] or s[c / (C / groups)] */
  Ix *si[1] = {per_channel ? ix_var(g, 1) : ix_div(g, ix_var(g, 1), ix_const(g, c / groups))};
  Node *sb = ir_gather(g, scale, x->rank, x->dims, si, NULL, sc_i(0));
  Node *bb = ir_gather(g, bias, x->rank, x->dims, si, NULL, sc_i(0));
  return add(g, mul(g, y, sb), bb);
}

/* ---- MaxPool's Indices output ---- */

/* Flat index (N, C and spatial, row-major) of each window's first maximum, the
 * ONNX/onnxruntime rule: over the domain [N, C, o..., k...] the in-bounds window
 * elements equal to the pooled max y propose their flat index; SCATTER(min)
 * keeps the first in row-major order. column_major (storage_order=1) then
 * renumbers the chosen element with column-major spatial strides. */
Node *ir_maxpool_indices(Graph *g, Node *x, const WindowParams *p, Node *y, bool column_major)
{
  int ns = p->nsp, dr = 2 + 2 * ns;
  if (x->rank != 2 + ns || y->rank != 2 + ns || ns < 1 || ns > IR_MAX_SPATIAL)
    ir_fail(g, "MaxPool: Indices need [N, C, spatial...] input and output of rank %d", 2 + ns);
  int64_t dom[IR_MAX_RANK] = {x->dims[0], x->dims[1]};
  Ix *ix[IR_MAX_RANK], *io[IR_MAX_RANK], *inb = NULL;
  ix[0] = io[0] = ix_var(g, 0);
  ix[1] = io[1] = ix_var(g, 1);
  for (int s = 0; s < ns; s++) {
    dom[2 + s] = y->dims[2 + s];
    dom[2 + ns + s] = p->kernel[s];
    ix[2 + s] = ix_addc(g, ix_add(g, ix_mulc(g, ix_var(g, 2 + s), p->stride[s]), ix_mulc(g, ix_var(g, 2 + ns + s), p->dilation[s])),
                        -p->pad_begin[s]);
    io[2 + s] = ix_var(g, 2 + s);
    inb = ix_and(g, inb, ix_and(g, ix_cmp(g, IX_LE, ix_const(g, 0), ix[2 + s]),
                                ix_cmp(g, IX_LT, ix[2 + s], ix_const(g, x->dims[2 + s]))));
  }
  Node *v = ir_gather(g, x, dr, dom, ix, NULL, reduce_identity(RED_MAX, x->dtype));
  Node *yb = ir_gather(g, y, dr, dom, io, NULL, sc_i(0));
  Node *eq = ir_binary(g, MAP_EQ, v, yb);
  uint8_t one = 1;
  Node *inside = ir_gather(g, ir_const(g, DT_BOOL, 0, NULL, &one), dr, dom, NULL, inb, sc_i(0));
  eq = ir_binary(g, MAP_AND, eq, inside);
  /* flat row-major index: ((n*C + c)*D1 + p1)*D2 + p2 ... as a sum of per-axis tables */
  int64_t stride = 1;
  Node *flat = NULL;
  for (int k = 1 + ns; k >= 0; k--) {
    int64_t len = x->dims[k];
    int64_t *tab = ir_alloc_array(g, (size_t)len, sizeof(int64_t));
    for (int64_t q = 0; q < len; q++) tab[q] = q * stride;
    int64_t d1[1] = {len};
    Ix *ti[1] = {ix[k]};
    Node *t = ir_gather(g, ir_const(g, DT_I64, 1, d1, tab), dr, dom, ti, NULL, sc_i(0));
    flat = flat ? ir_binary(g, MAP_ADD, flat, t) : t;
    stride *= len;
  }
  Node *cand = ir_where(g, eq, flat, ir_scalar(g, DT_I64, (double)x->numel)); /* above any index */
  Node *r = ir_scatter(g, cand, RED_MIN, 2 + ns, y->dims, io, NULL);
  if (!column_major) return r;
  /* r = plane*S + row-major spatial offset; spatial position p_s = (r / rs_s) % D_s */
  int64_t rs = 1, plane = 1;
  for (int s = 0; s < ns; s++) plane *= x->dims[2 + s];
  Node *out = ir_binary(g, MAP_MUL, ir_binary(g, MAP_DIV, r, ir_scalar(g, DT_I64, (double)plane)),
                        ir_scalar(g, DT_I64, (double)plane));
  for (int s = ns - 1; s >= 0; s--) {
    Node *ps = ir_binary(g, MAP_MOD, ir_binary(g, MAP_DIV, r, ir_scalar(g, DT_I64, (double)rs)),
                         ir_scalar(g, DT_I64, (double)x->dims[2 + s]));
    rs *= x->dims[2 + s];
    /* column-major stride of spatial axis s: product of the dims before it */
    int64_t col = 1;
    for (int t = 0; t < s; t++) col *= x->dims[2 + t];
    out = ir_binary(g, MAP_ADD, out, ir_binary(g, MAP_MUL, ps, ir_scalar(g, DT_I64, (double)col)));
  }
  return out;
}
