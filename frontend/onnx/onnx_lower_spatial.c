/* onnx_lower_spatial.c: lowerings of the resampling and local-normalization
 * operators: Resize (opsets 10, 11, 13, 18, 19), Upsample (7 to 9),
 * GridSample, RoiAlign, MaxUnpool, LpPool, LRN, MeanVarianceNormalization and
 * GroupNormalization. They read the ONNX attributes, check them against the
 * inputs, and call the constructors of ir/ops_spatial.c. Resize needs its
 * scales/sizes (and roi) as constants: output shapes are static.
 */
#include "frontend/onnx/onnx_internal.h"

#include <math.h>
#include <string.h>

/* Input k as constant reals (rank <= 1, at most max values); the message for a
 * graph input names the --bind option, like onnx_const_ints. */
static int const_reals(OnnxCtx *c, int k, const char *what, double *out, int max) {
  Node *n = onnx_input(c, k, what);
  if (n->kind == NODE_LEAF && n->leaf == LEAF_INPUT)
    ir_fail(c->g, "input '%s' must be a constant, but it is graph input '%s' (pin its value with --bind %s=FILE.pb)", what,
            n->name, n->name);
  if (!ir_is_const(n)) ir_fail(c->g, "input '%s' must be a constant (it is computed at run time)", what);
  if (n->rank > 1) ir_fail(c->g, "input '%s' must be 1-D, it is %d-D", what, n->rank);
  if (n->numel > max) ir_fail(c->g, "input '%s' has %lld values, at most %d allowed", what, (long long)n->numel, max);
  for (int64_t j = 0; j < n->numel; j++) out[j] = sc_as_f(dt_load(n->data, n->dtype, j), n->dtype);
  return (int)n->numel;
}

/* Optional input k that is present and not empty. */
static Node *nonempty_input(OnnxCtx *c, int k) {
  Node *n = onnx_opt_input(c, k);
  return n && n->numel > 0 ? n : NULL;
}

/* ---- Resize, Upsample ---- */

static int pick(OnnxCtx *c, const char *attr, const char *v, const char *const *names, int n) {
  for (int k = 0; k < n; k++)
    if (names[k] && !strcmp(v, names[k])) return k;
  ir_fail(c->g, "%s '%s' is not supported", attr, v);
}

void onnx_lower_resize(OnnxCtx *c) {
  Graph *g = c->g;
  Node *x = onnx_input(c, 0, "X");
  int r = x->rank;
  bool upsample = !strcmp(onnx_op_type(c->node), "Upsample");
  ResizeParams p;
  memset(&p, 0, sizeof p);
  p.cubic_a = -0.75;
  p.coord = RESIZE_ASYMMETRIC;
  p.nearest = RESIZE_SIMPLE;
  static const char *const modes[] = {"nearest", "linear", "cubic", "bilinear"};
  int mode = pick(c, "mode", onnx_attr_string(c, "mode", "nearest"), modes, 4);
  if (mode == 3 && !upsample) ir_fail(g, "mode 'bilinear' is not supported (use 'linear')");
  if (mode == 2 && (upsample || c->opset < 11)) ir_fail(g, "mode 'cubic' needs Resize from opset 11");
  p.mode = mode == 3 ? RESIZE_LINEAR : (ResizeMode)mode;
  double scales[IR_MAX_RANK];
  int64_t sizes[IR_MAX_RANK];
  int ns = -1, nsz = -1, nroi = 0;
  double roi[2 * IR_MAX_RANK];
  int64_t axes[IR_MAX_RANK];
  int naxes = -1;
  if (upsample || c->opset < 11) {
    if (upsample && c->opset < 9) {
      ns = onnx_attr_floats(c, "scales", scales, IR_MAX_RANK);
      if (ns < 0) ir_fail(g, "attribute 'scales' is required");
    } else {
      ns = const_reals(c, 1, "scales", scales, IR_MAX_RANK);
    }
  } else {
    static const char *const coords[] = {"half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric",
                                         "tf_half_pixel_for_nearest", "tf_crop_and_resize", "tf_half_pixel_for_nn"};
    int cm = pick(c, "coordinate_transformation_mode", onnx_attr_string(c, "coordinate_transformation_mode", "half_pixel"),
                  coords, 7);
    p.coord = cm == 6 ? RESIZE_TF_HALF_PIXEL_FOR_NN : (ResizeCoord)cm;
    static const char *const nearests[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};
    p.nearest = (ResizeNearest)pick(c, "nearest_mode", onnx_attr_string(c, "nearest_mode", "round_prefer_floor"), nearests, 4);
    p.cubic_a = onnx_attr_float(c, "cubic_coeff_a", -0.75);
    p.exclude_outside = onnx_attr_int(c, "exclude_outside", 0) != 0;
    p.extrapolation = onnx_attr_float(c, "extrapolation_value", 0.0);
    if (c->opset >= 18) {
      if (onnx_attr_int(c, "antialias", 0)) ir_fail(g, "antialias=1 is not supported");
      naxes = onnx_attr_ints(c, "axes", axes, IR_MAX_RANK);
    }
    bool has_scales = nonempty_input(c, 2) != NULL, has_sizes = nonempty_input(c, 3) != NULL;
    if (has_scales && has_sizes) ir_fail(g, "both 'scales' and 'sizes' are given; only one may be");
    if (!has_scales && !has_sizes) ir_fail(g, "one of 'scales' and 'sizes' must be given (and not empty)");
    if (has_scales) ns = const_reals(c, 2, "scales", scales, IR_MAX_RANK);
    else nsz = onnx_const_ints(c, 3, "sizes", sizes, IR_MAX_RANK);
    if (p.coord == RESIZE_TF_CROP_AND_RESIZE) {
      if (!nonempty_input(c, 1)) ir_fail(g, "tf_crop_and_resize needs the 'roi' input");
      nroi = const_reals(c, 1, "roi", roi, 2 * IR_MAX_RANK);
    }
  }
  /* axes (opset 18): scales/sizes/roi list only these axes */
  int ax[IR_MAX_RANK], na = r;
  for (int k = 0; k < r; k++) ax[k] = k;
  if (naxes >= 0) {
    bool seen[IR_MAX_RANK] = {false};
    na = naxes;
    for (int k = 0; k < na; k++) {
      ax[k] = onnx_axis(c, axes[k], r, "axes value");
      if (seen[ax[k]]) ir_fail(g, "axes lists axis %d twice", ax[k]);
      seen[ax[k]] = true;
    }
  }
  int given = ns >= 0 ? ns : nsz;
  if (given != na)
    ir_fail(g, "'%s' has %d values, expected %d", ns >= 0 ? "scales" : "sizes", given, na);
  if (nroi && nroi != 2 * na) ir_fail(g, "'roi' has %d values, expected %d", nroi, 2 * na);
  for (int a = 0; a < r; a++) {
    p.out[a] = x->dims[a];
    p.scale[a] = 1;
    p.out_width[a] = (double)x->dims[a];
    p.roi_start[a] = 0;
    p.roi_end[a] = 1;
  }
  if (nsz >= 0) {
    const char *policy = c->opset >= 18 ? onnx_attr_string(c, "keep_aspect_ratio_policy", "stretch") : "stretch";
    bool larger = !strcmp(policy, "not_smaller");
    if (strcmp(policy, "stretch") && strcmp(policy, "not_larger") && !larger)
      ir_fail(g, "keep_aspect_ratio_policy '%s' is not supported", policy);
    double keep = larger ? 0 : INFINITY;
    for (int k = 0; k < na; k++) {
      if (sizes[k] < 1) ir_fail(g, "sizes[%d] is %lld, must be >= 1", k, (long long)sizes[k]);
      double s = (double)sizes[k] / (double)x->dims[ax[k]];
      keep = larger ? fmax(keep, s) : fmin(keep, s);
    }
    for (int k = 0; k < na; k++) {
      int a = ax[k];
      int64_t o = sizes[k];
      if (strcmp(policy, "stretch")) o = (int64_t)nearbyint(keep * (double)x->dims[a]);
      p.out[a] = o;
      p.scale[a] = strcmp(policy, "stretch") ? keep : (double)o / (double)x->dims[a];
      p.out_width[a] = (double)o;
    }
  } else {
    for (int k = 0; k < na; k++) {
      int a = ax[k];
      if (!(scales[k] > 0) || !isfinite(scales[k])) ir_fail(g, "scales[%d] is %g, must be positive", k, scales[k]);
      double w = scales[k] * (double)x->dims[a];
      if (w > 1e15) ir_fail(g, "scales[%d] = %g makes axis %d too large", k, scales[k], a);
      p.out[a] = (int64_t)floor(w);
      p.scale[a] = scales[k];
      p.out_width[a] = w;
    }
  }
  for (int k = 0; k < na && nroi; k++) {
    p.roi_start[ax[k]] = roi[k];
    p.roi_end[ax[k]] = roi[na + k];
  }
  onnx_check_output_bytes(c, r, p.out, x->dtype); /* ir_resize's tables grow with the output */
  c->out[0] = ir_resize(g, x, &p);
}

/* ---- GridSample ---- */

void onnx_lower_grid_sample(OnnxCtx *c) {
  Node *x = onnx_input(c, 0, "X"), *grid = onnx_input(c, 1, "grid");
  static const char *const modes[] = {"bilinear", "nearest", "bicubic", "linear", "cubic"};
  int m = pick(c, "mode", onnx_attr_string(c, "mode", c->opset >= 20 ? "linear" : "bilinear"), modes, 5);
  GridMode mode = m == 3 ? GRID_BILINEAR : m == 4 ? GRID_BICUBIC : (GridMode)m;
  static const char *const pads[] = {"zeros", "border", "reflection"};
  GridPadding pad = (GridPadding)pick(c, "padding_mode", onnx_attr_string(c, "padding_mode", "zeros"), pads, 3);
  c->out[0] = ir_grid_sample(c->g, x, grid, mode, pad, onnx_attr_int(c, "align_corners", 0) != 0);
}

/* ---- RoiAlign ---- */

void onnx_lower_roi_align(OnnxCtx *c) {
  Node *x = onnx_input(c, 0, "X"), *rois = onnx_input(c, 1, "rois"), *batch = onnx_input(c, 2, "batch_indices");
  RoiAlignParams p;
  memset(&p, 0, sizeof p);
  static const char *const modes[] = {"avg", "max"};
  p.max_mode = pick(c, "mode", onnx_attr_string(c, "mode", "avg"), modes, 2) == 1;
  p.out_h = onnx_attr_int(c, "output_height", 1);
  p.out_w = onnx_attr_int(c, "output_width", 1);
  p.sampling_ratio = onnx_attr_int(c, "sampling_ratio", 0);
  p.spatial_scale = onnx_attr_float(c, "spatial_scale", 1.0);
  if (c->opset >= 16) {
    static const char *const coords[] = {"half_pixel", "output_half_pixel"};
    p.half_pixel = pick(c, "coordinate_transformation_mode",
                        onnx_attr_string(c, "coordinate_transformation_mode", "half_pixel"), coords, 2) == 0;
  }
  c->out[0] = ir_roi_align(c->g, x, rois, batch, &p);
}

/* ---- MaxUnpool ---- */

/* Per spatial axis attribute list with a default; exactly nsp values when given. */
static void spatial_list(OnnxCtx *c, const char *name, int nsp, int64_t def, int64_t *out) {
  int64_t v[2 * IR_MAX_SPATIAL];
  int want = !strcmp(name, "pads") ? 2 * nsp : nsp;
  int n = onnx_attr_ints(c, name, v, 2 * IR_MAX_SPATIAL);
  if (n < 0) {
    for (int k = 0; k < want; k++) out[k] = def;
    return;
  }
  if (n != want) ir_fail(c->g, "%s has %d values, expected %d", name, n, want);
  for (int k = 0; k < want; k++) out[k] = v[k];
}

void onnx_lower_max_unpool(OnnxCtx *c) {
  Graph *g = c->g;
  Node *x = onnx_input(c, 0, "X"), *ind = onnx_input(c, 1, "I");
  int nsp = x->rank - 2;
  if (nsp < 1 || nsp > IR_MAX_SPATIAL) ir_fail(g, "X is %d-D; 1 to %d spatial dims are supported", x->rank, IR_MAX_SPATIAL);
  int64_t ks[IR_MAX_SPATIAL], st[IR_MAX_SPATIAL], pads[2 * IR_MAX_SPATIAL];
  if (!onnx_attr(c, "kernel_shape")) ir_fail(g, "attribute 'kernel_shape' is required");
  spatial_list(c, "kernel_shape", nsp, 1, ks);
  spatial_list(c, "strides", nsp, 1, st);
  spatial_list(c, "pads", nsp, 0, pads);
  /* indices address the inferred shape (in-1)*stride - pads + kernel; output_shape
   * only enlarges the result (ONNX reference: the inferred block at the start) */
  int64_t id[IR_MAX_RANK], od[IR_MAX_RANK];
  id[0] = x->dims[0];
  id[1] = x->dims[1];
  for (int s = 0; s < nsp; s++) {
    if (ks[s] < 1 || st[s] < 1) ir_fail(g, "kernel_shape and strides must be >= 1");
    id[2 + s] = (x->dims[2 + s] - 1) * st[s] - pads[s] - pads[nsp + s] + ks[s];
    if (id[2 + s] < 1) ir_fail(g, "spatial dim %d has output size %lld", s, (long long)id[2 + s]);
  }
  int rank = x->rank;
  memcpy(od, id, sizeof id);
  if (nonempty_input(c, 2)) rank = onnx_const_ints(c, 2, "output_shape", od, IR_MAX_RANK);
  c->out[0] = ir_max_unpool(g, x, ind, id, rank, od);
}

/* ---- LpPool ---- */

void onnx_lower_lppool(OnnxCtx *c) {
  Graph *g = c->g;
  Node *x = onnx_input(c, 0, "X");
  int nsp = x->rank - 2;
  if (nsp < 1 || nsp > IR_MAX_SPATIAL) ir_fail(g, "X is %d-D; 1 to %d spatial dims are supported", x->rank, IR_MAX_SPATIAL);
  WindowParams p;
  memset(&p, 0, sizeof p);
  p.nsp = nsp;
  p.group = 1;
  if (!onnx_attr(c, "kernel_shape")) ir_fail(g, "attribute 'kernel_shape' is required");
  int64_t pads[2 * IR_MAX_SPATIAL];
  spatial_list(c, "kernel_shape", nsp, 1, p.kernel);
  spatial_list(c, "strides", nsp, 1, p.stride);
  spatial_list(c, "dilations", nsp, 1, p.dilation);
  spatial_list(c, "pads", nsp, 0, pads);
  p.ceil_mode = onnx_attr_int(c, "ceil_mode", 0) != 0;
  for (int s = 0; s < nsp; s++) {
    p.pad_begin[s] = pads[s];
    p.pad_end[s] = pads[nsp + s];
  }
  const char *ap = onnx_attr_string(c, "auto_pad", "NOTSET");
  bool upper = !strcmp(ap, "SAME_UPPER"), lower = !strcmp(ap, "SAME_LOWER");
  if (upper || lower || !strcmp(ap, "VALID")) {
    for (int s = 0; s < nsp; s++) {
      p.pad_begin[s] = p.pad_end[s] = 0;
      if (!upper && !lower) continue;
      int64_t in = x->dims[2 + s], st = p.stride[s] > 0 ? p.stride[s] : 1;
      int64_t ext = (p.kernel[s] - 1) * p.dilation[s] + 1;
      int64_t total = ((in + st - 1) / st - 1) * st + ext - in;
      if (total < 0) total = 0;
      p.pad_begin[s] = upper ? total / 2 : total - total / 2;
      p.pad_end[s] = total - p.pad_begin[s];
    }
  } else if (strcmp(ap, "NOTSET") && *ap) {
    ir_fail(g, "auto_pad '%s' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID", ap);
  }
  double pw = c->opset < 2 ? onnx_attr_float(c, "p", 2.0) : (double)onnx_attr_int(c, "p", 2);
  c->out[0] = ir_lppool(g, x, &p, pw);
}

/* ---- LRN, MeanVarianceNormalization, GroupNormalization ---- */

void onnx_lower_lrn(OnnxCtx *c) {
  Node *x = onnx_input(c, 0, "X");
  if (!onnx_attr(c, "size")) ir_fail(c->g, "attribute 'size' is required");
  c->out[0] = ir_lrn(c->g, x, onnx_attr_int(c, "size", 1), onnx_attr_float(c, "alpha", 1e-4),
                     onnx_attr_float(c, "beta", 0.75), onnx_attr_float(c, "bias", 1.0));
}

void onnx_lower_mvn(OnnxCtx *c) {
  Node *x = onnx_input(c, 0, "X");
  int64_t axes[IR_MAX_RANK] = {0, 2, 3};
  int n = onnx_attr_ints(c, "axes", axes, IR_MAX_RANK);
  if (n < 0) n = 3;
  int ax[IR_MAX_RANK];
  bool seen[IR_MAX_RANK] = {false};
  for (int k = 0; k < n; k++) {
    ax[k] = onnx_axis(c, axes[k], x->rank, "axes value");
    if (seen[ax[k]]) ir_fail(c->g, "axes lists axis %d twice", ax[k]);
    seen[ax[k]] = true;
  }
  c->out[0] = ir_mvn(c->g, x, n, ax);
}

void onnx_lower_group_norm(OnnxCtx *c) {
  Node *x = onnx_input(c, 0, "X"), *scale = onnx_input(c, 1, "scale"), *bias = onnx_input(c, 2, "bias");
  if (!onnx_attr(c, "num_groups")) ir_fail(c->g, "attribute 'num_groups' is required");
  c->out[0] = ir_group_norm(c->g, x, scale, bias, onnx_attr_int(c, "num_groups", 1), onnx_attr_float(c, "epsilon", 1e-5),
                            c->opset >= 21);
}

/* BatchNormalization with training_mode=1 (opset 14+; called by onnx_lower_batchnorm):
 * normalize with the batch statistics over every axis but 1 (biased variance)
 * and return running_mean/var = input * momentum + batch * (1 - momentum). */
void onnx_lower_batchnorm_training(OnnxCtx *c) {
  Graph *g = c->g;
  Node *x = onnx_input(c, 0, "X"), *scale = onnx_input(c, 1, "scale"), *bias = onnx_input(c, 2, "B");
  Node *mean = onnx_input(c, 3, "input_mean"), *var = onnx_input(c, 4, "input_var");
  if (x->rank < 2) ir_fail(g, "input has %d dims, needs at least 2 (N, C)", x->rank);
  if (!dt_is_float(x->dtype)) ir_fail(g, "input dtype %s is not floating point", dt_name(x->dtype));
  int axes[IR_MAX_RANK], n = 0;
  for (int k = 0; k < x->rank; k++)
    if (k != 1) axes[n++] = k;
  Node *bm = ir_reduce_mean(g, x, n, axes, false);
  int64_t cd[IR_MAX_RANK];
  for (int k = 0; k < x->rank; k++) cd[k] = k == 1 ? x->dims[1] : 1;
  Node *d = ir_binary(g, MAP_SUB, x, ir_reshape(g, bm, x->rank, cd));
  Node *bv = ir_reduce_mean(g, ir_binary(g, MAP_MUL, d, d), n, axes, false);
  c->out[0] = ir_batchnorm(g, x, scale, bias, bm, bv, onnx_attr_float(c, "epsilon", 1e-5));
  double mom = onnx_attr_float(c, "momentum", 0.9);
  Node *m = ir_scalar_like(g, x, mom), *m1 = ir_scalar_like(g, x, 1 - mom);
  if (mean->dtype != x->dtype || var->dtype != x->dtype)
    ir_fail(g, "input_mean/input_var are %s/%s, X is %s", dt_name(mean->dtype), dt_name(var->dtype), dt_name(x->dtype));
  if (onnx_out_wanted(c, 1))
    c->out[1] = ir_binary(g, MAP_ADD, ir_binary(g, MAP_MUL, mean, m), ir_binary(g, MAP_MUL, bm, m1));
  if (onnx_out_wanted(c, 2))
    c->out[2] = ir_binary(g, MAP_ADD, ir_binary(g, MAP_MUL, var, m), ir_binary(g, MAP_MUL, bv, m1));
  for (int k = 3; k < c->nout; k++)
    if (onnx_out_wanted(c, k)) ir_fail(g, "output #%d is not defined in training mode", k);
}

/* BatchNormalization of an inference model compiled with --train, as PyTorch's
 * BatchNorm trains: normalize with the batch mean and biased variance over every
 * axis but 1; the running statistics (state leaves) become
 * mean * momentum + batch_mean * (1 - momentum) and likewise the variance, with the
 * batch variance unbiased (times n / (n - 1)). ONNX's momentum is 1 - PyTorch's. */
void onnx_lower_batchnorm_train_step(OnnxCtx *c) {
  Graph *g = c->g;
  Node *x = onnx_input(c, 0, "X"), *scale = onnx_input(c, 1, "scale"), *bias = onnx_input(c, 2, "B");
  Node *mean = onnx_input(c, 3, "input_mean"), *var = onnx_input(c, 4, "input_var");
  if (x->rank < 2) ir_fail(g, "input has %d dims, needs at least 2 (N, C)", x->rank);
  if (!dt_is_float(x->dtype)) ir_fail(g, "input dtype %s is not floating point", dt_name(x->dtype));
  for (int k = 1; k < 5; k++)
    if (onnx_out_wanted(c, k)) ir_fail(g, "training-mode output #%d of an inference BatchNormalization", k);
  int axes[IR_MAX_RANK], n = 0;
  int64_t count = 1, cd[IR_MAX_RANK];
  for (int k = 0; k < x->rank; k++) {
    if (k != 1) { axes[n++] = k; count *= x->dims[k]; }
    cd[k] = k == 1 ? x->dims[1] : 1;
  }
  if (count < 2) ir_fail(g, "--train: batch statistics need more than one value per channel (N*spatial is %lld)", (long long)count);
  /* the statistics of the whole batch when ranks train shards of it (-DJTC_MPI, passes/train.c) */
  Node *bm = ir_allreduce_mean(g, ir_reduce_mean(g, x, n, axes, false));
  Node *d = ir_binary(g, MAP_SUB, x, ir_reshape(g, bm, x->rank, cd));
  Node *bv = ir_allreduce_mean(g, ir_reduce_mean(g, ir_binary(g, MAP_MUL, d, d), n, axes, false));
  c->out[0] = ir_batchnorm(g, x, scale, bias, bm, bv, onnx_attr_float(c, "epsilon", 1e-5));
  double mom = onnx_attr_float(c, "momentum", 0.9);
  /* n / (n - 1) for the n values of the whole batch: count per rank times the ranks */
  Node *total = ir_binary(g, MAP_MUL, ir_mpi_ranks(g, x->dtype), ir_scalar_like(g, x, (double)count));
  Node *unbias = ir_binary(g, MAP_DIV, total, ir_binary(g, MAP_SUB, total, ir_scalar_like(g, x, 1)));
  Node *stats[2] = {mean, var}, *batch[2] = {bm, ir_binary(g, MAP_MUL, bv, unbias)};
  for (int k = 0; k < 2; k++) {
    Node *s = stats[k];
    if (s->kind != NODE_LEAF || s->leaf != LEAF_STATE)
      ir_fail(g, "--train: running statistic %s is computed, not an initializer, so it cannot be updated (PyTorch's "
                 "exporter writes statistics equal to another initializer, e.g. running_var = weight = ones, as an "
                 "Identity of it: export with distinct values, or see samples/fashion_mnist/model.py)", k ? "input_var" : "input_mean");
    if (s->numel != x->dims[1] || s->dtype != x->dtype) ir_fail(g, "running statistic '%s' does not match the channels", s->name);
    s->flags |= NF_FROZEN; /* updated here, not by the optimizer */
    Node *b = ir_reshape(g, batch[k], s->rank, s->dims);
    ir_update(g, s, ir_binary(g, MAP_ADD, ir_binary(g, MAP_MUL, s, ir_scalar_like(g, s, mom)),
                              ir_binary(g, MAP_MUL, b, ir_scalar_like(g, s, 1 - mom))));
  }
}
