/* jit_example.c: load a model with libjtc (include/jtc.h) and run it: the first
 * load compiles it into the cache, later loads reuse the object.
 *
 *   cc -std=c11 -Iinclude samples/jit/jit_example.c build/libjtc.a -lprotobuf-c -lcjson -lm -ldl -o jit_example
 *   ./jit_example MODEL.onnx [--train LOSS]
 *
 * Inputs are a fixed ramp (float32 inputs only). With --train (mse or
 * cross_entropy) it loads a training build (SGD, lr 0.01, momentum 0.9) and
 * takes 3 steps toward zero targets (class 0), printing each loss. Exit status:
 * 0, or libjtc's error code. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jtc.h"

static double now_ms(void) {
  struct timespec ts;
  timespec_get(&ts, TIME_UTC);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

int main(int argc, char **argv) {
  if (argc != 2 && !(argc == 4 && !strcmp(argv[2], "--train"))) {
    fprintf(stderr, "usage: jit_example MODEL.onnx [--train mse|cross_entropy]\n");
    return 2;
  }
  jtc_options opt = {0};
  if (argc == 4) {
    opt.train = 1;
    opt.loss = argv[3];
    opt.optimizer = "sgd";
    opt.lr = 0.01;
    opt.momentum = 0.9;
  }
  char err[4096];
  jtc_model *m;
  double t0 = now_ms();
  int rc = jtc_load(argv[1], &opt, &m, err, sizeof err);
  if (rc) {
    fprintf(stderr, "jit_example: %s\n", err);
    return rc;
  }
  printf("loaded %s in %.1f ms (%s)\n", argv[1], now_ms() - t0, jtc_was_cached(m) ? "cached" : "compiled");
  int ni = jtc_num_inputs(m), no = jtc_num_outputs(m);
  void **in = calloc((size_t)ni, sizeof *in), **out = calloc((size_t)no, sizeof *out);
  for (int k = 0; k < ni; k++) {
    size_t n = jtc_input_size(m, k) / sizeof(float);
    float *x = malloc(n * sizeof *x);
    for (size_t i = 0; i < n; i++) x[i] = (float)(i % 17) / 17.0f - 0.5f;
    in[k] = x;
    printf("input %d '%s': %zu bytes\n", k, jtc_input_name(m, k), jtc_input_size(m, k));
  }
  for (int k = 0; k < no; k++) out[k] = calloc(1, jtc_output_size(m, k) + 1);
  if ((rc = jtc_run(m, (const void *const *)in, out))) fprintf(stderr, "jit_example: %s\n", jtc_error(m));
  for (int k = 0; k < no && !rc; k++) {
    const float *y = out[k];
    printf("output %d '%s': %zu bytes, first values %g %g\n", k, jtc_output_name(m, k), jtc_output_size(m, k), y[0],
           jtc_output_size(m, k) > 4 ? y[1] : 0.0);
  }
  if (!rc && opt.train) {
    size_t tbytes = !strcmp(opt.loss, "mse") ? jtc_output_size(m, 0) : 64 * 8; /* zeros: class 0 */
    void *t = calloc(1, tbytes);
    const void *targets[1] = {t};
    for (int s = 0; s < 3 && !rc; s++) {
      float loss;
      if ((rc = jtc_train_step(m, (const void *const *)in, targets, &loss))) fprintf(stderr, "jit_example: %s\n", jtc_error(m));
      else printf("step %d: loss %g\n", s, loss);
    }
    free(t);
  }
  for (int k = 0; k < ni; k++) free(in[k]);
  for (int k = 0; k < no; k++) free(out[k]);
  free(in);
  free(out);
  jtc_free(m);
  return rc;
}
