/* fuzz.h: what the fuzz targets in tests/fuzz/ share (see README.md there).
 *
 * Each fuzz_<target>.c defines LLVMFuzzerTestOneInput. `make fuzz` links it
 * with libFuzzer (clang -fsanitize=fuzzer,address,undefined); `make test`
 * links the same source with replay_main.c under ASan+UBSan and runs every
 * file of tests/fuzz/corpus/<target>/ and tests/fuzz/regress/<target>/ once.
 * Targets run from the repository root (fuzz_options reads samples/).
 * Inputs that jtc refuses are fine; a crash, a sanitizer report, a leak, a
 * hang or an abort() from a target's own check is a finding.
 */
#ifndef JTC_FUZZ_H
#define JTC_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A private directory for this process (mkdtemp under $TMPDIR or /tmp),
 * removed with everything fuzz_write put in it at exit. */
const char *fuzz_dir(void);
/* Write data to fuzz_dir()/name and return the path (valid until the next
 * call with the same name; at most 8 distinct names). Aborts if it cannot. */
const char *fuzz_write(const char *name, const uint8_t *data, size_t n);
/* Remember a file made by the code under test (in fuzz_dir()), removed at exit. */
void fuzz_track(const char *name);

/* A byte reader in the style of LLVM's FuzzedDataProvider: every read
 * succeeds, returning zeros once the input is used up. */
typedef struct { const uint8_t *p; size_t n; } FuzzIn;
uint8_t fz_u8(FuzzIn *in);
uint32_t fz_u32(FuzzIn *in);
int64_t fz_range(FuzzIn *in, int64_t lo, int64_t hi); /* lo..hi inclusive; lo if hi <= lo */
bool fz_bool(FuzzIn *in);

/* A failed property check: print what and abort (libFuzzer saves the input). */
_Noreturn void fuzz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
