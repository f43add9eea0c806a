#!/bin/sh
# mcu_sizes.sh: microcontroller footprint of the samples, part of `make bench`.
#
#   B=build EMX=path/to/emx-onnx-cgen sh bench/mcu_sizes.sh
#
# For samples/mlp and samples/lenet, per CPU (Cortex-M4 -mfpu=fpv4-sp-d16, Cortex-M7
# -mfpu=fpv5-d16; both -mthumb -mfloat-abi=hard -O2): the model's object built by
# arm-none-eabi-gcc from `jtc --embedded` and, when EMX names it, from
# emx-onnx-cgen (weights inline, temporaries on the stack: its options for a
# heap-free build), measured by tests/embedded/mcu_size.sh: flash (code +
# constants), static RAM (data + bss) and the stack estimate.
B=${B:-build}
WORK=$B/bench/mcu
mkdir -p "$WORK"
if ! command -v arm-none-eabi-gcc >/dev/null 2>&1; then
  echo "mcu sizes: arm-none-eabi-gcc is not installed (Debian: gcc-arm-none-eabi)"
  exit 0
fi
printf '%-6s %-10s %-14s %10s %10s %10s %s\n' model cpu tool flash_B ram_B stack_B note
for model in mlp lenet; do
  w=$WORK/$model
  mkdir -p "$w"
  "$B/jtc" -q "samples/$model/model.onnx" --embedded --name net -o "$w/jtc.c" || continue
  emx=
  if [ -n "${EMX:-}" ] && "$EMX" compile --large-weight-threshold 0 --large-temp-threshold 0 \
    "samples/$model/model.onnx" "$w/emx.c" >"$w/emx.log" 2>&1; then emx=emx; fi
  for cpu in m4 m7; do
    case $cpu in
    m4) flags="-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16" ;;
    m7) flags="-mcpu=cortex-m7 -mthumb -mfloat-abi=hard -mfpu=fpv5-d16" ;;
    esac
    for tool in jtc $emx; do
      # shellcheck disable=SC2086
      if (cd "$w" && arm-none-eabi-gcc -std=c11 -O2 $flags -fstack-usage -c $tool.c -o ${tool}_$cpu.o 2>${tool}_$cpu.log); then
        # shellcheck disable=SC2046
        set -- $(sh tests/embedded/mcu_size.sh "$w/${tool}_$cpu.o" "$w/${tool}_$cpu.su")
        note=
        arm-none-eabi-nm -u "$w/${tool}_$cpu.o" | grep -qE ' (malloc|fopen|fprintf|printf)$' && note="(calls malloc or stdio)"
        printf '%-6s %-10s %-14s %10s %10s %10s %s\n' "$model" "cortex-$cpu" \
          "$([ $tool = emx ] && echo emx-onnx-cgen || echo jtc)" "$1" "$2" "$3" "$note"
      else
        printf '%-6s %-10s %-14s %10s %10s %10s %s\n' "$model" "cortex-$cpu" "$tool" - - - "(does not build)"
      fi
    done
  done
done
