/* main.c: runs a `jtc --embedded` network once on a Cortex-M under QEMU and prints
 * its outputs' bytes as hex words through semihosting (tests/embedded/run.sh
 * compares them with the ONNX test data). io.h, written by make_io.py, holds the
 * inputs and output buffers; the arena is this program's, passed to
 * net_run_with_arena (built with -DNET_NO_STATIC_ARENA). */
#include <stdint.h>

#include "io.h"
#include "net.h"

void semihost_write(const char *s);

static _Alignas(64) unsigned char arena[NET_ARENA_BYTES ? NET_ARENA_BYTES : 1];

static void put_hex(uint32_t v, char end) {
  char s[10];
  for (int k = 0; k < 8; k++) s[k] = "0123456789abcdef"[(v >> (28 - 4 * k)) & 15];
  s[8] = end;
  s[9] = 0;
  semihost_write(s);
}

int main(void) {
  if (net_init(0) != 0 || net_run_with_arena(io_inputs, io_outputs, arena) != 0) {
    semihost_write("net_run failed\n");
    return 1;
  }
  for (int k = 0; k < NET_NUM_OUTPUTS; k++) {
    semihost_write("output\n");
    const uint32_t *w = (const uint32_t *)io_outputs[k];
    for (uint32_t i = 0; i < io_output_words[k]; i++) put_hex(w[i], (i % 8 == 7 || i + 1 == io_output_words[k]) ? '\n' : ' ');
  }
  return 0;
}
