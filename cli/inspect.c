/* inspect.c: `jtc inspect [--json] FILE`: an ONNX model (onnx_inspect) or a
 * pickle (jtpy_inspect), told apart by the file's bytes as the compile path
 * does (jtpy_is_pickle_file); --json may come before or after FILE. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/inspect.h"
#include "frontend/jtpy/jtpy.h"
#include "frontend/onnx/onnx.h"

static _Noreturn void inspect_usage(const char *why, const char *arg) {
  fprintf(stderr, "jtc inspect: ");
  fprintf(stderr, why, arg);
  fprintf(stderr, "\nusage: jtc inspect MODEL.onnx|FILE.pt|FILE.pkl [--json]\n");
  exit(2);
}

int jtc_inspect_command(int argc, char **argv) {
  const char *file = NULL;
  bool json = false;
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--json")) json = true;
    else if (a[0] == '-' && a[1]) inspect_usage("unknown option '%s'", a);
    else if (file) inspect_usage("more than one file given ('%s')", a);
    else file = a;
  }
  if (!file) inspect_usage("%s", "no file given");
  if (jtpy_is_pickle_file(file)) return (json ? jtpy_inspect_json : jtpy_inspect)(file, stdout) ? 1 : 0;
  return onnx_inspect(file, json, stdout);
}
