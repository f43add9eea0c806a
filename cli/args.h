/* args.h: the jtc command's value parsers (--shape, --bind/--seq, sizes and
 * limits, output names), shared by cli/main.c and the fuzz targets in
 * tests/fuzz/ so both exercise the same code. None of them exits: each
 * returns -1 (or false) on a malformed value and the caller reports it. */
#ifndef JTC_CLI_ARGS_H
#define JTC_CLI_ARGS_H

#include <stdbool.h>
#include <stdint.h>

#include "frontend/onnx/onnx.h"
#include "passes/passes.h"

/* "NAME=D0,D1,..." (dims 0..2^40, at most IR_MAX_RANK; "NAME=" is a scalar).
 * s->name is malloc'ed (free it) whenever it is set, also on failure. */
int args_parse_shape(const char *arg, OnnxShapeOverride *s);
/* "NAME=FILE" (--bind, --seq): b->name is malloc'ed, b->path points into arg. */
int args_parse_bind(const char *arg, OnnxBind *b);
/* A non-negative decimal integer, all of s, at most max. */
int args_parse_count(const char *s, int64_t max, int64_t *v);
/* --precision's value: one of gpu_precision_names. */
int args_parse_precision(const char *s, GpuPrecision *p);
/* A C identifier of at most 40 characters (--name). */
bool args_is_identifier(const char *s);
/* "dir/net.c" -> "dir/net" (malloc'ed); "dir/net" -> "net" as a symbol prefix (malloc'ed). */
char *args_stem_of(const char *path);
char *args_prefix_of(const char *stem);

/* The training flags as given: --train, --loss=, --optimizer=, --lr=, --momentum=,
 * --weight-decay=, --beta1=, --beta2=, --eps=, --nesterov. */
typedef struct {
  bool train, any;           /* --train; some training flag was given */
  bool has_loss, has_lr, has_momentum, has_betas;
  TrainOptions o;
} TrainArgs;
void args_train_init(TrainArgs *t); /* nothing given; Adam's betas and eps */
/* 1 if a is a training flag (applied to t), 0 if it is not one, -1 if its value is bad. */
int args_train_flag(const char *a, TrainArgs *t);
/* After all flags: NULL, or why the combination is wrong (defaults filled in: Adam's lr, betas, eps). */
const char *args_train_check(TrainArgs *t);

#endif
