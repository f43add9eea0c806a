/* args.c: the jtc command's value parsers (args.h). */
#include "cli/args.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

int args_parse_shape(const char *arg, OnnxShapeOverride *s) {
  s->name = NULL;
  s->rank = 0;
  const char *eq = strrchr(arg, '=');
  if (!eq || eq == arg) return -1;
  size_t n = (size_t)(eq - arg);
  char *name = malloc(n + 1);
  if (!name) return -1;
  memcpy(name, arg, n);
  name[n] = 0;
  s->name = name;
  const char *p = eq + 1;
  if (!*p) return 0; /* scalar */
  for (;;) {
    if (s->rank == IR_MAX_RANK || !isdigit((unsigned char)*p)) return -1;
    errno = 0;
    char *end;
    long long v = strtoll(p, &end, 10);
    if (errno || v < 0 || v > ((int64_t)1 << 40)) return -1;
    s->dims[s->rank++] = v;
    if (*end == 0) return 0;
    if (*end != ',') return -1;
    p = end + 1;
  }
}

int args_parse_bind(const char *arg, OnnxBind *b) {
  b->name = NULL;
  b->path = NULL;
  const char *eq = arg ? strchr(arg, '=') : NULL;
  if (!eq || eq == arg || !eq[1]) return -1;
  char *name = strndup(arg, (size_t)(eq - arg));
  if (!name) return -1;
  b->name = name;
  b->path = eq + 1;
  return 0;
}

int args_parse_precision(const char *s, GpuPrecision *p) {
  for (int k = PRECISION_F32; k <= PRECISION_F16; k++)
    if (s && !strcmp(s, gpu_precision_names[k])) return *p = (GpuPrecision)k, 0;
  return -1;
}

int args_parse_count(const char *s, int64_t max, int64_t *v) {
  if (!s || !isdigit((unsigned char)*s)) return -1;
  errno = 0;
  char *end;
  long long r = strtoll(s, &end, 10);
  if (errno || *end || r < 0 || r > max) return -1;
  *v = r;
  return 0;
}

bool args_is_identifier(const char *s) {
  if (!*s || isdigit((unsigned char)*s) || strlen(s) > 40) return false;
  for (; *s; s++)
    if (!isalnum((unsigned char)*s) && *s != '_') return false;
  return true;
}

char *args_stem_of(const char *path) {
  char *s = strdup(path);
  if (!s) return NULL;
  char *slash = strrchr(s, '/'), *dot = strrchr(s, '.');
  if (dot && (!slash || dot > slash) && (!strcmp(dot, ".c") || !strcmp(dot, ".cu"))) *dot = 0;
  return s;
}

char *args_prefix_of(const char *stem) {
  const char *b = strrchr(stem, '/');
  b = b ? b + 1 : stem;
  char *p = malloc(strlen(b) + 2), *q = p;
  if (!p) return NULL;
  if (!isalpha((unsigned char)*b) && *b != '_') *q++ = '_';
  for (; *b; b++) *q++ = isalnum((unsigned char)*b) ? *b : '_';
  *q = 0;
  return p;
}

/* A finite decimal number, all of s, in [lo, hi]. */
static int parse_real(const char *s, double lo, double hi, double *v) {
  char *end;
  if (!*s) return -1;
  double x = strtod(s, &end);
  if (*end || !(x >= lo && x <= hi)) return -1;
  *v = x;
  return 0;
}

static int pick(const char *v, const char *const *names, int n) {
  for (int k = 0; k < n; k++)
    if (!strcmp(v, names[k])) return k;
  return -1;
}

void args_train_init(TrainArgs *t) {
  memset(t, 0, sizeof *t);
  t->o.beta1 = 0.9; /* torch.optim.Adam's defaults */
  t->o.beta2 = 0.999;
  t->o.eps = 1e-8;
}

int args_train_flag(const char *a, TrainArgs *t) {
  static const struct { const char *flag; int which; double lo, hi; } reals[] = {
    {"--lr=", 0, 0, 1e6}, {"--momentum=", 1, 0, 1}, {"--weight-decay=", 2, 0, 1e6},
    {"--beta1=", 3, 0, 1}, {"--beta2=", 4, 0, 1}, {"--eps=", 5, 0, 1},
  };
  if (!strcmp(a, "--train")) { t->train = true; return 1; }
  if (!strcmp(a, "--nesterov")) { t->o.nesterov = t->any = true; return 1; }
  if (!strncmp(a, "--loss=", 7)) {
    int k = pick(a + 7, train_loss_names, TRAIN_LOSS_COUNT);
    if (k < 0) return -1;
    t->o.loss = (TrainLoss)k;
    t->has_loss = t->any = true;
    return 1;
  }
  if (!strncmp(a, "--optimizer=", 12)) {
    int k = pick(a + 12, train_opt_names, TRAIN_OPT_COUNT);
    if (k < 0) return -1;
    t->o.opt = (TrainOptimizer)k;
    t->any = true;
    return 1;
  }
  for (size_t k = 0; k < sizeof reals / sizeof reals[0]; k++) {
    size_t n = strlen(reals[k].flag);
    if (strncmp(a, reals[k].flag, n)) continue;
    double v;
    if (parse_real(a + n, reals[k].lo, reals[k].hi, &v)) return -1;
    double *dst[] = {&t->o.lr, &t->o.momentum, &t->o.weight_decay, &t->o.beta1, &t->o.beta2, &t->o.eps};
    *dst[reals[k].which] = v;
    t->has_lr |= reals[k].which == 0;
    t->has_momentum |= reals[k].which == 1;
    t->has_betas |= reals[k].which >= 3;
    t->any = true;
    return 1;
  }
  return 0;
}

const char *args_train_check(TrainArgs *t) {
  if (!t->train) return t->any ? "training flags need --train" : NULL;
  if (!t->has_loss) return "--train needs --loss=mse|cross_entropy|nll|bce_with_logits";
  TrainOptions *o = &t->o;
  if (o->opt == TRAIN_OPT_SGD) {
    if (!t->has_lr) return "--optimizer=sgd needs --lr (PyTorch's SGD has no default learning rate)";
    if (t->has_betas) return "--beta1/--beta2/--eps apply to --optimizer=adam|adamw";
    if (o->nesterov && o->momentum <= 0) return "--nesterov needs --momentum > 0";
    return NULL;
  }
  if (t->has_momentum || o->nesterov) return "--momentum and --nesterov apply to --optimizer=sgd";
  if (!t->has_lr) o->lr = 1e-3;
  if (o->beta1 >= 1 || o->beta2 >= 1) return "--beta1 and --beta2 must be below 1";
  return NULL;
}
