#!/bin/sh
# run.sh: byte-stable output, behind `make test`. Each sample is compiled twice per
# configuration, from two different working directories and with environments of
# very different sizes (which moves the stack and heap, so a pointer value or an
# uninitialized byte that leaks into the output shows), and every file jtc writes
# (.c/.cu, .h, .weights, the --report JSON and the --dump-dot graph where jtc has
# those flags) must be byte-identical.
#
#   B=build sh tests/stable/run.sh
#
# Prints PASS/FAIL per sample and configuration, then `N passed, N failed, N skipped`.
B=${B:-build}
WORK=$B/stable
passed=0 failed=0 skipped=0
rm -rf "$WORK"
mkdir -p "$WORK"
JTC=$(cd "$(dirname "$B/jtc")" && pwd)/jtc
ROOT=$(pwd)
extra=
"$JTC" --help | grep -q -- '--report' && extra="$extra --report=net.json"
"$JTC" --help | grep -q -- '--dump-dot' && extra="$extra --dump-dot=net.dot"
PAD=$(head -c 60000 /dev/zero | tr '\0' x)

# compile DIR ENVKIND OUT ARGS...: run jtc in DIR writing OUT (relative) with ARGS.
compile() {
  dir=$1 kind=$2 out=$3
  shift 3
  mkdir -p "$dir"
  # shellcheck disable=SC2086
  if [ "$kind" = small ]; then
    (cd "$dir" && env -i PATH="$PATH" "$JTC" -q "$@" -o "$out" $describe)
  else
    (cd "$dir" && env JTC_PAD="$PAD" JTC_PAD2="$PAD$PAD" "$JTC" -q "$@" -o "$out" $describe)
  fi
}

for model in mlp lenet; do
  m=$ROOT/samples/$model/model.onnx
  for conf in c cuda external embedded train; do
    case $conf in
    c) args="" out=net.c ;;
    cuda) args="--target=cuda" out=net.cu ;;
    external) args="--external-weights" out=net.c ;;
    embedded) args="--embedded" out=net.c ;;
    train) args="--train --loss=cross_entropy --optimizer=adam" out=net.c ;;
    esac
    describe=$extra
    [ $conf = train ] && describe= # --report and --dump-dot do not describe training builds
    a=$WORK/$model-$conf/one b=$WORK/$model-$conf/second/dir
    # shellcheck disable=SC2086
    if ! compile "$a" small "$out" "$m" $args 2>"$WORK/$model-$conf.log" || ! compile "$b" big "$out" "$m" $args 2>>"$WORK/$model-$conf.log"; then
      echo "FAIL $model $conf: jtc failed: $(head -n 1 "$WORK/$model-$conf.log")"
      failed=$((failed + 1))
      continue
    fi
    files=$(cd "$a" && ls)
    diffs=
    for f in $files; do cmp -s "$a/$f" "$b/$f" || diffs="$diffs $f"; done
    [ "$(cd "$b" && ls)" = "$files" ] || diffs="$diffs (different file sets)"
    if [ -n "$diffs" ]; then
      echo "FAIL $model $conf: differ between the two runs:$diffs"
      failed=$((failed + 1))
    else
      echo "PASS $model $conf: $(echo $files | tr '\n' ' ') byte-identical"
      passed=$((passed + 1))
    fi
  done
done
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
