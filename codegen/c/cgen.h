/* cgen.h: the C code generator's interface. It prints a scheduled Plan as
 * one .c file plus its header, following the contract in DESIGN.md. */
#ifndef JTC_CGEN_H
#define JTC_CGEN_H

#include "passes/passes.h"

#define JTC_VERSION "0.1.0" /* written into every generated file (and printed by jtc --version) */

typedef enum { WEIGHTS_AUTO, WEIGHTS_EMBED, WEIGHTS_FILE } WeightsMode;

typedef struct {
  const char *c_path;        /* the .c file to write */
  const char *h_path;        /* its header (same stem, .h) */
  const char *weights_path;  /* the .weights file (same stem), used when weights are not embedded */
  const char *prefix;        /* symbol prefix: net -> net_run, NET_NUM_INPUTS */
  const char *command;       /* command line, for the front matter */
  const char *model;         /* model file name, for the front matter */
  WeightsMode weights;
  int64_t embed_limit;       /* WEIGHTS_AUTO embeds constants up to this many bytes */
  const char *arch;          /* CUDA: comma-separated sm_XX list for the build line */
  bool cuda_graph;           /* CUDA: replay the launch sequence as a CUDA graph */
  bool embedded;             /* microcontrollers: no stdio, malloc, files or OpenMP; <p>_run_with_arena */
} CgOptions;

/* Write the files; returns 0, or -1 with a message printed to stderr. */
int cgc_write(Plan *p, const CgOptions *opt); /* also sets p->const_bytes to what was emitted */
/* A training build (cgen_train.c): inf's <p>_run and tr's <p>_train_step in one file (tr from pass_train). */
int cgc_write_train(Plan *inf, Plan *tr, const CgOptions *opt);

/* ---- strbuf.c: growable strings owned by the graph arena ---- */
typedef struct { Graph *g; char *s; size_t len, cap; } Str;
void str_init(Str *b, Graph *g);
void str_cat(Str *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *str_fmt(Graph *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
