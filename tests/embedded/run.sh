#!/bin/sh
# run.sh: `jtc --embedded` on microcontrollers, behind `make test`.
#
#   B=build PYTHON=/usr/bin/python3 sh tests/embedded/run.sh
#
# For each sample (samples/mlp, samples/lenet) and each CPU (Cortex-M4 with its
# single-precision FPU; Cortex-M7 with fpv5-d16):
#   - the generated source has no stdio, stdlib, malloc or OpenMP, and its object
#     (arm-none-eabi-gcc -Werror) calls nothing outside string.h's copies, libm
#     and the compiler's runtime (checked on `nm -u`);
#   - linked with startup.c/mps2.ld/main.c, it runs under qemu-system-arm (boards
#     mps2-an386 and mps2-an500) with the caller's arena (net_run_with_arena) on
#     test_data_set_0, and make_io.py compares the outputs with ONNX's rule;
#   - its flash/RAM/stack (mcu_size.sh) is printed.
# Each check prints PASS/FAIL/SKIP; the last line is `N passed, N failed, N skipped`.
B=${B:-build}
PYTHON=${PYTHON:-/usr/bin/python3}
DIR=tests/embedded
WORK=$B/embedded
passed=0 failed=0 skipped=0
pass() { echo "PASS $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1"; failed=$((failed + 1)); }
skip() { echo "SKIP $1"; skipped=$((skipped + 1)); }

rm -rf "$WORK"
mkdir -p "$WORK"
if ! command -v arm-none-eabi-gcc >/dev/null 2>&1; then
  skip "embedded: arm-none-eabi-gcc is not installed (Debian: gcc-arm-none-eabi libnewlib-arm-none-eabi)"
  echo "$passed passed, $failed failed, $skipped skipped"
  exit 0
fi
QEMU=$(command -v qemu-system-arm || true)

# symbols an embedded model may need from outside its file
ALLOWED='^(memcpy|memset|memmove|__aeabi_[a-z0-9_]+|(exp|log|pow|sqrt|sin|cos|tan|asin|acos|atan|atan2|sinh|cosh|tanh|asinh|acosh|atanh|erf|erfc|floor|ceil|round|rint|nearbyint|trunc|fabs|fmod|remainder|fmin|fmax|expm1|log1p|log2|log10|exp2|cbrt|lround|lrint|llround|llrint|isnan|isinf)f?)$'

for model in mlp lenet; do
  w=$WORK/$model
  mkdir -p "$w"
  if ! "$B/jtc" -q "samples/$model/model.onnx" --embedded --name net -o "$w/net.c" 2>"$w/jtc.log"; then
    fail "$model: jtc --embedded: $(head -n 1 "$w/jtc.log")"
    continue
  fi
  if grep -nE '#include <(stdio|stdlib|omp)\.h>|\b(malloc|calloc|realloc|free|fopen|printf|fprintf|snprintf)\(|#pragma omp' "$w/net.c" >"$w/grep.log"; then
    fail "$model: the source uses stdio, malloc or OpenMP: $(head -n 1 "$w/grep.log")"
  else
    pass "$model: no stdio, malloc, file I/O or OpenMP in the source"
  fi
  if ! "$PYTHON" "$DIR/make_io.py" header "samples/$model/test_data_set_0" "$w/io.h" 2>"$w/io.log"; then
    fail "$model: make_io.py: $(tail -n 1 "$w/io.log")"
    continue
  fi
  for cpu in m4 m7; do
    case $cpu in
    m4) flags="-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16" board=mps2-an386 ;;
    m7) flags="-mcpu=cortex-m7 -mthumb -mfloat-abi=hard -mfpu=fpv5-d16" board=mps2-an500 ;;
    esac
    t="$model cortex-$cpu"
    # shellcheck disable=SC2086
    if ! arm-none-eabi-gcc -std=c11 -O2 -Wall -Wextra -Werror $flags -fstack-usage -c "$w/net.c" -o "$w/net_$cpu.o" \
      >"$w/cc_$cpu.log" 2>&1; then
      fail "$t: arm-none-eabi-gcc: $(grep -m1 error "$w/cc_$cpu.log")"
      continue
    fi
    extra=$(arm-none-eabi-nm -u "$w/net_$cpu.o" | awk '{ print $NF }' | grep -vE "$ALLOWED" | tr '\n' ' ')
    if [ -n "$extra" ]; then fail "$t: the object calls $extra"; else pass "$t: the object needs only string.h copies, libm and libgcc"; fi
    # shellcheck disable=SC2046
    set -- $(sh "$DIR/mcu_size.sh" "$w/net_$cpu.o" "$w/net_$cpu.su")
    echo "     $t: flash $1 bytes, RAM $2 bytes, stack about $3 bytes"
    # shellcheck disable=SC2086
    if ! arm-none-eabi-gcc -std=c11 -O2 -Wall -Wextra -Werror $flags -DNET_NO_STATIC_ARENA -I"$w" -nostartfiles \
      --specs=nano.specs --specs=nosys.specs -T "$DIR/mps2.ld" "$DIR/startup.c" "$DIR/main.c" "$w/net.c" -lm \
      -o "$w/app_$cpu.elf" >"$w/ld_$cpu.log" 2>&1; then
      fail "$t: link: $(grep -m1 -E 'error|undefined' "$w/ld_$cpu.log")"
      continue
    fi
    if [ -z "$QEMU" ]; then
      skip "$t: qemu-system-arm is not installed (Debian: qemu-system-arm)"
      continue
    fi
    rm -f "$w/run_$cpu.log"
    if ! timeout 120 "$QEMU" -machine $board -cpu cortex-$cpu -nographic -monitor none -serial none \
      -chardev "file,id=sh,path=$w/run_$cpu.log" -semihosting-config enable=on,target=native,chardev=sh \
      -kernel "$w/app_$cpu.elf" </dev/null >"$w/qemu_$cpu.log" 2>&1; then
      fail "$t: the program failed under qemu ($board): $(head -n 1 "$w/run_$cpu.log" 2>/dev/null) $(head -n 1 "$w/qemu_$cpu.log")"
    elif "$PYTHON" "$DIR/make_io.py" check "samples/$model/test_data_set_0" "$w/run_$cpu.log" >"$w/check_$cpu.log" 2>&1; then
      pass "$t under qemu $board: $(tr '\n' ' ' <"$w/check_$cpu.log")"
    else
      fail "$t under qemu $board: $(tail -n 1 "$w/check_$cpu.log")"
    fi
  done
done
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
