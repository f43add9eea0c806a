#!/bin/sh
# mcu_size.sh OBJ.o OBJ.su: a compiled model's microcontroller footprint, one line
#   FLASH RAM STACK
# FLASH: text + rodata + data (arm-none-eabi-size's text + data: code, constants and
# .data's initial values live in flash); RAM: data + bss (static buffers: the arena,
# scratch); STACK: an estimate from gcc -fstack-usage, the largest frame plus the
# entry function's frame (the generated code calls at most one level of kernels;
# a "dynamic" frame is counted at its static size and marked with '+').
# Used by tests/embedded/run.sh and bench/mcu_sizes.sh.
set -eu
obj=$1 su=$2
# shellcheck disable=SC2046
set -- $(arm-none-eabi-size "$obj" | awk 'NR == 2 { print $1, $2, $3 }')
text=$1 data=$2 bss=$3
stack=$(awk -F'\t' '
  { n = split($1, a, ":"); fn = a[n]; s = $2 + 0; if ($3 !~ /^static/) dyn = "+" }
  fn ~ /_run$|_run_with_arena$|^model$|_run_model$/ { entry = s > entry ? s : entry; next }
  { if (s > max) max = s }
  END { printf "%d%s\n", entry + max, dyn }' "$su")
echo "$((text + data)) $((data + bss)) $stack"
