/* demo_main.c: the quick-start driver. Build it with any model jtc compiled
 * with `--name net`: it feeds each float32 input a fixed pattern (or the raw
 * little-endian file given as argv[k]), runs the model once and prints every
 * output's first values and its arg-max.
 *   jtc samples/lenet/model.onnx --name net -o build/demo/net.c
 *   cc -std=c11 -O2 -Ibuild/demo build/demo/net.c samples/demo_main.c -lm -o build/demo/lenet */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "net.h"

int main(int argc, char **argv) {
  void *in[NET_NUM_INPUTS > 0 ? NET_NUM_INPUTS : 1], *out[NET_NUM_OUTPUTS];
  for (int k = 0; k < NET_NUM_INPUTS; k++) {
    in[k] = calloc(1, net_input_sizes[k] + 1);
    if (!in[k]) return 1;
    if (k + 1 < argc) {
      FILE *f = fopen(argv[k + 1], "rb");
      if (!f || fread(in[k], 1, net_input_sizes[k], f) != net_input_sizes[k]) {
        fprintf(stderr, "%s: cannot read %zu bytes for input '%s'\n", argv[k + 1], net_input_sizes[k], net_input_names[k]);
        return 1;
      }
      fclose(f);
    } else {
      float *x = in[k];
      for (size_t i = 0; i < net_input_sizes[k] / sizeof(float); i++) x[i] = sinf(0.01f * (float)i);
    }
  }
  for (int k = 0; k < NET_NUM_OUTPUTS; k++)
    if (!(out[k] = calloc(1, net_output_sizes[k] + 1))) return 1;
  if (net_init(NULL) || net_run((const void *const *)in, out)) {
    fprintf(stderr, "net: %s\n", net_last_error());
    return 1;
  }
  for (int k = 0; k < NET_NUM_OUTPUTS; k++) {
    const float *y = out[k];
    size_t n = net_output_sizes[k] / sizeof(float), best = 0;
    printf("%s:", net_output_names[k]);
    for (size_t i = 0; i < n; i++) {
      if (i < 10) printf(" %.4f", y[i]);
      if (y[i] > y[best]) best = i;
    }
    printf("%s  (%zu values, arg-max %zu)\n", n > 10 ? " ..." : "", n, best);
  }
  net_free();
  for (int k = 0; k < NET_NUM_INPUTS; k++) free(in[k]);
  for (int k = 0; k < NET_NUM_OUTPUTS; k++) free(out[k]);
  return 0;
}
