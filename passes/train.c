/* train.c: turn a model lowered for training (Graph.training, weights as state
 * leaves) into one training step, all in meta-ops: the loss of output 0 against
 * a new target input, the gradients of every trainable state (pass_grad), and
 * the optimizer's update of each, with PyTorch's formulas and defaults:
 *
 *   SGD   g += wd*w; buf = momentum*buf + g; g = nesterov ? g + momentum*buf : buf;
 *         w -= lr*g                                (torch.optim.SGD, dampening 0)
 *   Adam  g += wd*w; m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2; t += 1;
 *         w -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)   (torch.optim.Adam)
 *   AdamW as Adam without the g += wd*w, after w *= 1 - lr*wd  (torch.optim.AdamW)
 *
 * Optimizer state (momentum buffers, m, v, the step count) is more state, named
 * after its weight ("fc1.weight.exp_avg"), zero at the start. The step's one
 * output is the loss; the targets' range and a finite loss are checks, so a bad
 * batch fails the step before any state changes.
 *
 * Data parallel (-DJTC_MPI): every rank runs this step on its shard of the batch.
 * Each gradient, the reported loss and the checks go through allreduce_mean (a
 * copy in a one-process build), as do BatchNorm's batch statistics
 * (onnx_lower_batchnorm_train_step). With equal shards the mean of the ranks'
 * losses is the loss of the whole batch, and since allreduce_mean's adjoint is
 * the allreduce_mean of its adjoint, the mean of the ranks' gradients is its
 * gradient: every rank makes the update one process would make on the whole batch. */
#include <math.h>
#include <string.h>

#include "ir/ops.h"
#include "passes.h"

const char *const train_loss_names[] = {"mse", "cross_entropy", "nll", "bce_with_logits"};
const char *const train_opt_names[] = {"sgd", "adam", "adamw"};

static Node *scalar(Graph *g, const Node *like, double v) { return ir_scalar_like(g, like, v); }
static Node *mul(Graph *g, Node *a, Node *b) { return ir_binary(g, MAP_MUL, a, b); }
static Node *add(Graph *g, Node *a, Node *b) { return ir_binary(g, MAP_ADD, a, b); }
static Node *sub(Graph *g, Node *a, Node *b) { return ir_binary(g, MAP_SUB, a, b); }

static int all_axes(const Node *x, int *axes) {
  for (int k = 0; k < x->rank; k++) axes[k] = k;
  return x->rank;
}

/* The mean loss of pred against a new target input; adds the target's range check. */
static Node *build_loss(Graph *g, Node *pred, TrainLoss kind) {
  int axes[IR_MAX_RANK];
  Node *t, *loss;
  if (!dt_is_float(pred->dtype)) ir_fail(g, "--train: output 0 is %s; a loss needs a float output", dt_name(pred->dtype));
  if (kind == TRAIN_LOSS_MSE || kind == TRAIN_LOSS_BCE_LOGITS) {
    t = ir_input(g, "target", pred->dtype, pred->rank, pred->dims);
    t->flags |= NF_TARGET;
    Node *per;
    if (kind == TRAIN_LOSS_MSE) {
      Node *d = sub(g, pred, t);
      per = mul(g, d, d);
    } else { /* max(x,0) - x*t + log(1 + e^-|x|): stable for any x */
      Node *e = ir_unary(g, MAP_EXP, ir_unary(g, MAP_NEG, ir_unary(g, MAP_ABS, pred)));
      per = add(g, sub(g, ir_relu(g, pred), mul(g, pred, t)), ir_unary(g, MAP_LOG, add(g, scalar(g, e, 1), e)));
    }
    loss = ir_reduce_mean(g, per, all_axes(per, axes), axes, false);
  } else {
    if (pred->rank < 2) ir_fail(g, "--loss=%s: output 0 must be [N, C, ...] scores, it is %d-D", train_loss_names[kind], pred->rank);
    int64_t dims[IR_MAX_RANK];
    int r = 0;
    for (int k = 0; k < pred->rank; k++)
      if (k != 1) dims[r++] = pred->dims[k];
    t = ir_input(g, "target", DT_I64, r, dims);
    t->flags |= NF_TARGET;
    loss = kind == TRAIN_LOSS_CROSS_ENTROPY ? ir_softmax_cross_entropy(g, pred, t, NULL, LOSS_MEAN, false, 0, NULL)
                                            : ir_nll_loss(g, pred, t, NULL, LOSS_MEAN, false, 0);
    Node *bad = ir_binary(g, MAP_OR, ir_binary(g, MAP_LT, t, ir_scalar(g, DT_I64, 0)),
                          ir_binary(g, MAP_GE, t, ir_scalar(g, DT_I64, (double)pred->dims[1])));
    Node *nbad = ir_reduce(g, ir_cast(g, bad, DT_F32), RED_ADD, all_axes(bad, axes), axes, false);
    char msg[160];
    snprintf(msg, sizeof msg, "a target class index is outside [0, %lld)", (long long)pred->dims[1]);
    ir_check(g, ir_allreduce_mean(g, nbad), msg); /* every rank fails the step together */
  }
  return ir_cast(g, loss, DT_F32);
}

/* The loss all ranks report (their mean), checked to be finite. */
static Node *global_loss(Graph *g, Node *loss) {
  Node *gl = ir_allreduce_mean(g, loss);
  Node *bad = ir_binary(g, MAP_OR, ir_unary(g, MAP_ISNAN, gl), ir_unary(g, MAP_ISINF, gl));
  ir_check(g, bad, "the loss is not finite (NaN or infinity): the weights diverged or an input is not finite");
  return gl;
}

/* A zero state named "<w's name>.<what>" shaped like w. */
static Node *slot(Graph *g, const Node *w, const char *what) {
  char name[512];
  snprintf(name, sizeof name, "%s.%s", w->name, what);
  Node *s = ir_state(g, name, w->dtype, w->rank, w->dims, NULL);
  s->flags |= NF_FROZEN | NF_SLOT;
  return s;
}

static void sgd(Graph *g, const TrainOptions *o, Node *w, Node *gr) {
  if (o->weight_decay) gr = add(g, gr, mul(g, w, scalar(g, w, o->weight_decay)));
  if (o->momentum) {
    Node *buf = slot(g, w, "momentum_buffer");
    Node *nb = add(g, mul(g, buf, scalar(g, buf, o->momentum)), gr);
    ir_update(g, buf, nb);
    gr = o->nesterov ? add(g, gr, mul(g, nb, scalar(g, nb, o->momentum))) : nb;
  }
  ir_update(g, w, sub(g, w, mul(g, gr, scalar(g, gr, o->lr))));
}

/* step_size = lr / (1 - b1^t) and sqrt(1 - b2^t), as float scalars of the new step count t. */
static void adam_factors(Graph *g, const TrainOptions *o, Node *t, Node **step_size, Node **bc2_sqrt) {
  Node *bc1 = sub(g, scalar(g, t, 1), ir_binary(g, MAP_POW, scalar(g, t, o->beta1), t));
  Node *bc2 = sub(g, scalar(g, t, 1), ir_binary(g, MAP_POW, scalar(g, t, o->beta2), t));
  *step_size = ir_cast(g, ir_binary(g, MAP_DIV, scalar(g, t, o->lr), bc1), DT_F32);
  *bc2_sqrt = ir_cast(g, ir_unary(g, MAP_SQRT, bc2), DT_F32);
}

static void adam(Graph *g, const TrainOptions *o, Node *w, Node *gr, Node *step_size, Node *bc2_sqrt) {
  Node *w0 = w;
  if (o->opt == TRAIN_OPT_ADAMW && o->weight_decay) w = mul(g, w, scalar(g, w, 1 - o->lr * o->weight_decay));
  else if (o->weight_decay) gr = add(g, gr, mul(g, w, scalar(g, w, o->weight_decay)));
  Node *m = slot(g, w0, "exp_avg"), *v = slot(g, w0, "exp_avg_sq");
  Node *nm = add(g, mul(g, m, scalar(g, m, o->beta1)), mul(g, gr, scalar(g, gr, 1 - o->beta1)));
  Node *nv = add(g, mul(g, v, scalar(g, v, o->beta2)), mul(g, mul(g, gr, gr), scalar(g, gr, 1 - o->beta2)));
  ir_update(g, m, nm);
  ir_update(g, v, nv);
  Node *ss = ir_cast(g, step_size, w->dtype), *bs = ir_cast(g, bc2_sqrt, w->dtype);
  Node *denom = add(g, ir_binary(g, MAP_DIV, ir_unary(g, MAP_SQRT, nv), bs), scalar(g, nv, o->eps));
  ir_update(g, w0, sub(g, w, mul(g, ss, ir_binary(g, MAP_DIV, nm, denom))));
}

void pass_train(Graph *g, const TrainOptions *o) {
  if (g->noutputs < 1) ir_fail(g, "--train: the model has no output to put a loss on");
  Node *pred = g->outputs[0];
  for (int k = 0; k < g->noutputs; k++) g->outputs[k]->flags &= ~NF_OUTPUT;
  g->noutputs = 0;
  g->context = "--train";
  Node *loss = build_loss(g, pred, o->loss);
  /* the trainable states: float, not frozen, and the loss depends on them (PyTorch
   * leaves a parameter without a gradient alone, weight decay included) */
  bool *need = ir_alloc_array(g, (size_t)g->nnodes + 1, sizeof(bool));
  need[loss->id] = true;
  int np = 0;
  Node **params = ir_alloc_array(g, (size_t)g->nnodes + 1, sizeof(Node *));
  Node **order = ir_alloc_array(g, (size_t)g->nnodes + 1, sizeof(Node *));
  int count = 0;
  for (Node *n = g->first; n; n = n->next) order[count++] = n;
  for (int i = count - 1; i >= 0; i--)
    if (need[order[i]->id])
      for (int k = 0; k < order[i]->nin; k++) need[order[i]->in[k]->id] = true;
  for (int i = 0; i < count; i++) {
    Node *n = order[i];
    if (n->kind == NODE_LEAF && n->leaf == LEAF_STATE && !(n->flags & NF_FROZEN) && dt_is_float(n->dtype) && need[n->id])
      params[np++] = n;
  }
  if (np == 0) ir_fail(g, "--train: the loss depends on no trainable weight (float initializers of the model)");
  Node **grads = pass_grad(g, loss, NULL, np, params);
  for (int i = 0; i < np; i++) grads[i] = ir_allreduce_mean(g, grads[i]);
  Node *reported = global_loss(g, loss);
  Node *step_size = NULL, *bc2_sqrt = NULL;
  if (o->opt != TRAIN_OPT_SGD) {
    Node *t = ir_state(g, "optimizer.step", DT_F64, 0, NULL, NULL);
    t->flags |= NF_FROZEN | NF_SLOT;
    Node *nt = add(g, t, scalar(g, t, 1));
    ir_update(g, t, nt);
    adam_factors(g, o, nt, &step_size, &bc2_sqrt);
  }
  for (int i = 0; i < np; i++) {
    g->cur_origin = params[i]->name;
    g->cur_op = train_opt_names[o->opt];
    if (o->opt == TRAIN_OPT_SGD) sgd(g, o, params[i], grads[i]);
    else adam(g, o, params[i], grads[i], step_size, bc2_sqrt);
  }
  g->cur_origin = g->cur_op = NULL;
  ir_mark_output(g, reported, "loss");
  g->context = NULL;
}
