/* onnx_ops.c: the ONNX op table: which operators the frontend supports, at
 * which opsets, and the function that lowers each to meta-ops.
 *
 * How to add an operator:
 *   1. Write its lowering in the family's file (onnx_lower_math.c: element-wise
 *      and reductions; onnx_lower_nn.c: conv, pooling, normalization, matmul;
 *      onnx_lower_shape.c: layout; onnx_lower_const.c: ops producing constants),
 *      starting from TEMPLATE below, and declare it in onnx_internal.h.
 *   2. Add one row here: {"OpType", first opset, last opset (0: open), lowering}.
 *      If a later opset changes the semantics, either handle c->opset in the
 *      lowering or end the row at the last version you implement.
 *   3. Add a test: a backend-test directory name in tests/unit/test_onnx_conformance.c
 *      (or a fixture in tests/data/make_onnx_fixtures.py).
 *
 * TEMPLATE (inputs are resolved Node*s, NULL where an optional input is absent;
 * fail with ir_fail(c->g, ...): the loader has put the node's name in g->context):
 *
 *   void onnx_lower_myop(OnnxCtx *c) {
 *     Node *x = onnx_input(c, 0, "X");                   // required input
 *     Node *b = onnx_opt_input(c, 1);                    // optional input
 *     double alpha = onnx_attr_float(c, "alpha", 1.0);   // attribute with default
 *     int axis = onnx_axis(c, onnx_attr_int(c, "axis", -1), x->rank, "axis");
 *     int64_t shape[IR_MAX_RANK];                        // a shape-like input must be constant
 *     int n = onnx_const_ints(c, 2, "shape", shape, IR_MAX_RANK);
 *     if (c->opset < 13) { ... }                         // older semantics
 *     c->out[0] = ir_...(c->g, x, ...);                  // constructors from ir/ops.h
 *     if (onnx_out_wanted(c, 1)) ir_fail(c->g, "output 'Mask' is not supported");
 *   }
 *
 * Results are folded to constants by the loader when all their operands are.
 */
#include "frontend/onnx/onnx_internal.h"

#include <string.h>

static const OnnxOpRow op_table[] = {
  /* element-wise unary (onnx_lower_math.c) */
  {"Abs", 1, 0, onnx_lower_unary},
  {"Neg", 1, 0, onnx_lower_unary},
  {"Exp", 1, 0, onnx_lower_unary},
  {"Log", 1, 0, onnx_lower_unary},
  {"Sqrt", 1, 0, onnx_lower_unary},
  {"Reciprocal", 1, 0, onnx_lower_unary},
  {"Floor", 1, 0, onnx_lower_unary},
  {"Ceil", 1, 0, onnx_lower_unary},
  {"Round", 11, 0, onnx_lower_unary},
  {"Sign", 9, 0, onnx_lower_unary},
  {"Sin", 7, 0, onnx_lower_unary},
  {"Cos", 7, 0, onnx_lower_unary},
  {"Tan", 7, 0, onnx_lower_unary},
  {"Asin", 7, 0, onnx_lower_unary},
  {"Acos", 7, 0, onnx_lower_unary},
  {"Atan", 7, 0, onnx_lower_unary},
  {"Sinh", 9, 0, onnx_lower_unary},
  {"Cosh", 9, 0, onnx_lower_unary},
  {"Asinh", 9, 0, onnx_lower_unary},
  {"Acosh", 9, 0, onnx_lower_unary},
  {"Atanh", 9, 0, onnx_lower_unary},
  {"Tanh", 1, 0, onnx_lower_unary},
  {"Erf", 9, 0, onnx_lower_unary},
  {"Sigmoid", 1, 0, onnx_lower_unary},
  {"IsNaN", 9, 0, onnx_lower_unary},
  {"Not", 1, 0, onnx_lower_unary},
  /* activations */
  {"Relu", 1, 0, onnx_lower_activation},
  {"LeakyRelu", 1, 0, onnx_lower_activation},
  {"PRelu", 1, 0, onnx_lower_activation},
  {"Elu", 1, 0, onnx_lower_activation},
  {"Selu", 1, 0, onnx_lower_activation},
  {"HardSigmoid", 1, 0, onnx_lower_activation},
  {"HardSwish", 14, 0, onnx_lower_activation},
  {"Softplus", 1, 0, onnx_lower_activation},
  {"Softsign", 1, 0, onnx_lower_activation},
  {"Gelu", 20, 0, onnx_lower_activation},
  {"Celu", 12, 0, onnx_lower_activation},
  {"ThresholdedRelu", 10, 0, onnx_lower_activation},
  {"Shrink", 9, 0, onnx_lower_activation},
  {"IsInf", 10, 0, onnx_lower_activation},
  {"Clip", 1, 0, onnx_lower_clip},
  /* element-wise binary and variadic, numpy broadcasting */
  {"Add", 1, 0, onnx_lower_binary},
  {"Sub", 1, 0, onnx_lower_binary},
  {"Mul", 1, 0, onnx_lower_binary},
  {"Div", 1, 0, onnx_lower_binary},
  {"Pow", 1, 0, onnx_lower_binary},
  {"Mod", 10, 0, onnx_lower_binary},
  {"Equal", 1, 0, onnx_lower_binary},
  {"Less", 1, 0, onnx_lower_binary},
  {"Greater", 1, 0, onnx_lower_binary},
  {"LessOrEqual", 12, 0, onnx_lower_binary},
  {"GreaterOrEqual", 12, 0, onnx_lower_binary},
  {"And", 1, 0, onnx_lower_binary},
  {"Or", 1, 0, onnx_lower_binary},
  {"Xor", 1, 0, onnx_lower_binary},
  {"Sum", 1, 0, onnx_lower_variadic},
  {"Mean", 1, 0, onnx_lower_variadic},
  {"Max", 1, 0, onnx_lower_variadic},
  {"Min", 1, 0, onnx_lower_variadic},
  {"Where", 9, 0, onnx_lower_where},
  {"Cast", 1, 0, onnx_lower_cast},
  {"CastLike", 15, 0, onnx_lower_cast_like},
  {"Identity", 1, 0, onnx_lower_identity},
  {"Dropout", 1, 0, onnx_lower_dropout},
  /* reductions */
  {"ReduceSum", 1, 0, onnx_lower_reduce},
  {"ReduceMean", 1, 0, onnx_lower_reduce},
  {"ReduceMax", 1, 0, onnx_lower_reduce},
  {"ReduceMin", 1, 0, onnx_lower_reduce},
  {"ReduceProd", 1, 0, onnx_lower_reduce},
  {"ReduceSumSquare", 1, 0, onnx_lower_reduce},
  {"ReduceL1", 1, 0, onnx_lower_reduce},
  {"ReduceL2", 1, 0, onnx_lower_reduce},
  {"ReduceLogSum", 1, 0, onnx_lower_reduce},
  {"ReduceLogSumExp", 1, 0, onnx_lower_reduce},
  {"ArgMax", 1, 0, onnx_lower_arg_reduce},
  {"ArgMin", 1, 0, onnx_lower_arg_reduce},
  /* neural-network ops (onnx_lower_nn.c) */
  {"Conv", 1, 0, onnx_lower_conv},
  {"ConvTranspose", 1, 0, onnx_lower_conv_transpose},
  {"Gemm", 1, 0, onnx_lower_gemm},
  {"MatMul", 1, 0, onnx_lower_matmul},
  {"MaxPool", 1, 0, onnx_lower_pool},
  {"AveragePool", 1, 0, onnx_lower_pool},
  {"GlobalAveragePool", 1, 0, onnx_lower_global_pool},
  {"GlobalMaxPool", 1, 0, onnx_lower_global_pool},
  {"BatchNormalization", 1, 0, onnx_lower_batchnorm},
  {"LayerNormalization", 17, 0, onnx_lower_layernorm},
  {"InstanceNormalization", 1, 0, onnx_lower_instancenorm},
  {"Softmax", 1, 0, onnx_lower_softmax},
  {"LogSoftmax", 1, 0, onnx_lower_softmax},
  /* layout (onnx_lower_shape.c) */
  {"Reshape", 1, 0, onnx_lower_reshape},
  {"Flatten", 1, 0, onnx_lower_flatten},
  {"Transpose", 1, 0, onnx_lower_transpose},
  {"Concat", 1, 0, onnx_lower_concat},
  {"Split", 1, 0, onnx_lower_split},
  {"Slice", 1, 0, onnx_lower_slice},
  {"Squeeze", 1, 0, onnx_lower_squeeze},
  {"Unsqueeze", 1, 0, onnx_lower_unsqueeze},
  {"Pad", 2, 0, onnx_lower_pad},
  {"Gather", 1, 0, onnx_lower_gather},
  {"Expand", 8, 0, onnx_lower_expand},
  {"Tile", 6, 0, onnx_lower_tile},
  {"DepthToSpace", 1, 0, onnx_lower_depth_space},
  {"SpaceToDepth", 1, 0, onnx_lower_depth_space},
  /* constants (onnx_lower_const.c) */
  {"Constant", 1, 0, onnx_lower_constant},
  {"Shape", 1, 0, onnx_lower_shape},
  {"Size", 1, 0, onnx_lower_size},
  {"ConstantOfShape", 9, 0, onnx_lower_constant_of_shape},
  {"Range", 11, 0, onnx_lower_range},
  /* gather/scatter/index family (onnx_lower_index.c, ir/ops_index.c) */
  {"GatherElements", 11, 0, onnx_lower_gather_elements},
  {"GatherND", 11, 0, onnx_lower_gather_nd},
  {"Scatter", 9, 10, onnx_lower_scatter_elements},
  {"ScatterElements", 11, 0, onnx_lower_scatter_elements},
  {"ScatterND", 11, 0, onnx_lower_scatter_nd},
  {"Trilu", 14, 0, onnx_lower_trilu},
  {"CumSum", 11, 0, onnx_lower_cumsum},
  {"EyeLike", 9, 0, onnx_lower_eye_like},
  {"OneHot", 9, 0, onnx_lower_one_hot},
  {"ReverseSequence", 10, 0, onnx_lower_reverse_sequence},
  {"Hardmax", 1, 0, onnx_lower_hardmax},
  {"BitShift", 11, 0, onnx_lower_bit_shift},
  {"Einsum", 12, 0, onnx_lower_einsum},
  {"Compress", 9, 0, onnx_lower_compress},
  /* backlog (onnx_lower_backlog.c, ir/ops_backlog.c) */
  {"TopK", 1, 0, onnx_lower_topk},
  {"StringNormalizer", 10, 0, onnx_lower_string_normalizer},
  {"TfIdfVectorizer", 9, 0, onnx_lower_tfidf},
  {"NonZero", 9, 0, onnx_lower_nonzero},
  {"Unique", 11, 0, onnx_lower_unique},
  {"NonMaxSuppression", 10, 0, onnx_lower_nms},
  {"Bernoulli", 15, 0, onnx_lower_random},
  {"RandomUniform", 1, 0, onnx_lower_random},
  {"RandomNormal", 1, 0, onnx_lower_random},
  {"RandomUniformLike", 1, 0, onnx_lower_random},
  {"RandomNormalLike", 1, 0, onnx_lower_random},
  /* @family:index (rows above this line) */
  /* resize and spatial family (onnx_lower_spatial.c, ir/ops_spatial.c) */
  {"Resize", 10, 0, onnx_lower_resize},
  {"Upsample", 7, 9, onnx_lower_resize},
  {"GridSample", 16, 0, onnx_lower_grid_sample},
  {"RoiAlign", 10, 0, onnx_lower_roi_align},
  {"MaxUnpool", 9, 0, onnx_lower_max_unpool},
  {"LpPool", 1, 0, onnx_lower_lppool},
  {"LRN", 1, 0, onnx_lower_lrn},
  {"MeanVarianceNormalization", 9, 0, onnx_lower_mvn},
  {"GroupNormalization", 18, 0, onnx_lower_group_norm},
  /* @family:spatial (rows above this line) */
  /* losses, training updates, quantization, signal (onnx_lower_misc.c, ir/ops_misc.c) */
  {"NegativeLogLikelihoodLoss", 12, 0, onnx_lower_nll_loss},
  {"SoftmaxCrossEntropyLoss", 12, 0, onnx_lower_softmax_ce},
  /* rows of another domain are keyed "domain:OpType" at that domain's opset */
  {"ai.onnx.preview.training:Adagrad", 1, 0, onnx_lower_adagrad},
  {"ai.onnx.preview.training:Momentum", 1, 0, onnx_lower_momentum},
  {"ai.onnx.preview.training:Adam", 1, 0, onnx_lower_adam},
  {"ai.onnx.preview.training:Gradient", 1, 0, onnx_lower_gradient},
  {"QuantizeLinear", 10, 18, onnx_lower_quantize_linear},
  {"DequantizeLinear", 10, 18, onnx_lower_dequantize_linear},
  {"DynamicQuantizeLinear", 11, 0, onnx_lower_dynamic_quantize_linear},
  {"MatMulInteger", 10, 0, onnx_lower_matmul_integer},
  {"QLinearMatMul", 10, 20, onnx_lower_qlinear_matmul},
  {"ConvInteger", 10, 0, onnx_lower_conv_integer},
  {"QLinearConv", 10, 0, onnx_lower_qlinear_conv},
  {"HannWindow", 17, 0, onnx_lower_window},
  {"HammingWindow", 17, 0, onnx_lower_window},
  {"BlackmanWindow", 17, 0, onnx_lower_window},
  {"DFT", 17, 19, onnx_lower_dft},
  {"STFT", 17, 0, onnx_lower_stft},
  {"MelWeightMatrix", 17, 0, onnx_lower_mel_weight_matrix},
  {"Det", 11, 0, onnx_lower_det},
  {"Mish", 18, 0, onnx_lower_mish},
  /* @family:misc (rows above this line) */
  /* recurrent nets and control flow (onnx_lower_rnn.c, ir/ops_rnn.c) */
  {"RNN", 1, 0, onnx_lower_rnn},
  {"GRU", 1, 0, onnx_lower_rnn},
  {"LSTM", 1, 0, onnx_lower_rnn},
  {"If", 1, 0, onnx_lower_if},
  {"Loop", 1, 0, onnx_lower_loop},
  {"Scan", 8, 0, onnx_lower_scan},
  /* @family:rnn (rows above this line) */
  /* sequences and optionals (onnx_lower_seq.c): compile-time lists of tensors */
  {"SequenceEmpty", 11, 0, onnx_lower_sequence_empty},
  {"SequenceConstruct", 11, 0, onnx_lower_sequence_construct},
  {"SequenceInsert", 11, 0, onnx_lower_sequence_insert},
  {"SequenceErase", 11, 0, onnx_lower_sequence_erase},
  {"SequenceAt", 11, 0, onnx_lower_sequence_at},
  {"SequenceLength", 11, 0, onnx_lower_sequence_length},
  {"ConcatFromSequence", 11, 0, onnx_lower_concat_from_sequence},
  {"SplitToSequence", 11, 0, onnx_lower_split_to_sequence},
  {"SequenceMap", 17, 0, onnx_lower_sequence_map},
  {"Optional", 15, 0, onnx_lower_optional},
  {"OptionalHasElement", 15, 0, onnx_lower_optional_has_element},
  {"OptionalGetElement", 15, 0, onnx_lower_optional_get_element},
  /* @family:seq (rows above this line) */
};

void onnx_list_ops(FILE *f) {
  for (size_t k = 0; k < sizeof op_table / sizeof op_table[0]; k++) {
    const OnnxOpRow *r = &op_table[k];
    if (r->max_opset) fprintf(f, "%s (opset %d-%d)\n", r->name, r->min_opset, r->max_opset);
    else fprintf(f, "%s (opset %d+)\n", r->name, r->min_opset);
  }
}

/* opset 0: any opset (used to tell "unknown op" from "known, other opset"). */
const OnnxOpRow *onnx_find_op(const char *op_type, int opset) {
  for (size_t k = 0; k < sizeof op_table / sizeof op_table[0]; k++) {
    const OnnxOpRow *r = &op_table[k];
    if (strcmp(r->name, op_type)) continue;
    if (opset == 0 || (opset >= r->min_opset && (r->max_opset == 0 || opset <= r->max_opset))) return r;
  }
  return NULL;
}

bool onnx_default_domain(const char *d) {
  return !d || !*d || !strcmp(d, "ai.onnx");
}

/* The last default-domain import wins; none: 1. Clamped to 1..1000. */
int onnx_model_opset(const Onnx__ModelProto *m, bool *found) {
  *found = false;
  int64_t v = 1;
  for (size_t k = 0; k < m->n_opset_import; k++) {
    const Onnx__OperatorSetIdProto *o = m->opset_import[k];
    if (o && onnx_default_domain(o->domain) && o->has_version) {
      v = o->version;
      *found = true;
    }
  }
  return v < 1 ? 1 : v > 1000 ? 1000 : (int)v;
}

/* Opset version the model imports for a non-default domain, 0 if none. */
static int domain_opset(const Onnx__ModelProto *m, const char *domain) {
  for (size_t k = 0; k < m->n_opset_import; k++) {
    const Onnx__OperatorSetIdProto *o = m->opset_import[k];
    if (o && o->domain && !strcmp(o->domain, domain) && o->has_version)
      return o->version < 1 ? 1 : o->version > 1000 ? 1000 : (int)o->version;
  }
  return 0;
}

const OnnxOpRow *onnx_find_node_op(const Onnx__ModelProto *m, int opset, const char *domain, const char *op_type,
                                   bool any_opset, int *used) {
  if (onnx_default_domain(domain)) {
    *used = opset;
    return onnx_find_op(op_type, any_opset ? 0 : opset);
  }
  char key[256];
  snprintf(key, sizeof key, "%s:%s", domain, op_type);
  *used = domain_opset(m, domain);
  if (!*used && !any_opset) return NULL;
  return onnx_find_op(key, any_opset ? 0 : *used);
}
