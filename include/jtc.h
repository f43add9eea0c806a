/* jtc.h: libjtc, jtc's compiler as a library. jtc_load compiles a model when a
 * program loads it: the same pipeline as the `jtc` command writes the C source,
 * the system compiler ($CC, default cc) builds it into a shared object in a
 * cache directory, and dlopen hands back its functions. A second load of the
 * same model with the same options and compiler runs no compiler.
 *
 *   jtc_model *m;
 *   char err[1024];
 *   if (jtc_load("model.onnx", NULL, &m, err, sizeof err)) { fprintf(stderr, "%s\n", err); ... }
 *   const void *in[1] = {x};
 *   void *out[1] = {y};
 *   if (jtc_run(m, in, out)) fprintf(stderr, "%s\n", jtc_error(m));
 *   jtc_free(m);
 *
 * Cache: $JTC_CACHE_DIR, else $XDG_CACHE_HOME/jtc, else ~/.cache/jtc; one entry
 * per hash of the model's bytes, the options, jtc's version and the compiler's
 * identity (`$CC --version`). Entries are written under a temporary name and
 * renamed, so concurrent loads of one model both succeed; an entry whose
 * checksum does not match is rebuilt. Nothing here calls exit(). A model's
 * generated code keeps its weights and arena in static storage: two jtc_models
 * of the same cache entry in one process share them (dlopen returns one object).
 */
#ifndef JTC_H
#define JTC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct jtc_model jtc_model;

typedef struct {
  const char *target;          /* "c" (default) or "cuda": built by $NVCC (default nvcc) for arch */
  const char *arch;            /* CUDA: "sm_75,sm_87" (default: sm_87,sm_90, as --arch) */
  int threads;                 /* C target: OpenMP threads (0: OpenMP's default); not part of the cache key */
  const char *const *shapes;   /* "NAME=D0,D1" pins of symbolic input dims, as --shape */
  int nshapes;
  const char *weights;         /* a state dict (.pt), Jittor .pkl or saved .weights, as --weights (NULL: none) */
  const char *cache_dir;       /* NULL: $JTC_CACHE_DIR, $XDG_CACHE_HOME/jtc, ~/.cache/jtc */
  const char *cc;              /* NULL: $CC, else "cc" (CUDA: $NVCC, else "nvcc"); may carry flags */
  const char *cflags;          /* NULL: "-O2" (C: built with -fPIC -shared -fopenmp besides; CUDA: "-O3") */
  /* a training build (jtc_train_step, jtc_save_weights), as the --train flags */
  int train;
  const char *loss;            /* "mse", "cross_entropy", "nll", "bce_with_logits" */
  const char *optimizer;       /* "sgd" (default), "adam", "adamw" */
  double lr, momentum, weight_decay;
  int nesterov;
  const char *precision;       /* CUDA: "fp32" (default, NULL), "tf32" or "fp16", as --precision */
} jtc_options;

/* Error codes (also the return values of the functions below): */
enum {
  JTC_OK = 0,
  JTC_ERR_MODEL = 1,    /* the model or an option is wrong: the message names the place */
  JTC_ERR_COMPILER = 2, /* the C compiler is missing or failed: its output follows */
  JTC_ERR_LOAD = 3,     /* dlopen/dlsym of the built object failed, or the cache is unusable */
  JTC_ERR_RUN = 4,      /* the generated code returned an error (see jtc_error) */
};

/* Compile (or find in the cache) and load a model; *out is NULL on failure and err
 * (if given) holds the message. opt may be NULL (all defaults). */
int jtc_load(const char *model_path, const jtc_options *opt, jtc_model **out, char *err, size_t errlen);
/* The generated functions: inputs and outputs in graph order, dense row-major. */
int jtc_run(jtc_model *m, const void *const inputs[], void *const outputs[]);
int jtc_train_step(jtc_model *m, const void *const inputs[], const void *const targets[], float *loss);
int jtc_save_weights(jtc_model *m, const char *path);
/* The model's interface. */
int jtc_num_inputs(const jtc_model *m);
int jtc_num_outputs(const jtc_model *m);
const char *jtc_input_name(const jtc_model *m, int k);
const char *jtc_output_name(const jtc_model *m, int k);
size_t jtc_input_size(const jtc_model *m, int k);   /* bytes */
size_t jtc_output_size(const jtc_model *m, int k);  /* bytes */
const char *jtc_input_dtype(const jtc_model *m, int k);  /* "float32", "int64", "float16", ... */
const char *jtc_output_dtype(const jtc_model *m, int k);
const int64_t *jtc_input_shape(const jtc_model *m, int k, int *rank); /* rank dims, or NULL */
const int64_t *jtc_output_shape(const jtc_model *m, int k, int *rank);
/* Why the last call on m failed, or "". */
const char *jtc_error(const jtc_model *m);
/* The shared object m runs (in the cache) and whether this load built it. */
const char *jtc_object_path(const jtc_model *m);
int jtc_was_cached(const jtc_model *m);
void jtc_free(jtc_model *m);

/* `jtc cache list|clear`: print the cache's entries (key, state, model, options) to f,
 * or remove them all. 0, or an error code with err set. */
#include <stdio.h>
int jtc_cache_list(FILE *f, char *err, size_t errlen);
int jtc_cache_clear(FILE *f, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif
