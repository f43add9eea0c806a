# jtc build. `make` builds build/jtc; `make test` runs every test; `make asan`
# runs the tests under AddressSanitizer + UBSan in build-asan/.
CC       ?= cc
B        ?= build
OPT      ?= -O2 -g
CFLAGS   += $(OPT) -std=c11 -Wall -Wextra -Werror -D_GNU_SOURCE -I. -I$(B)/gen
LDLIBS   += -lprotobuf-c -lcjson -lm -ldl
PYTHON   ?= /usr/bin/python3
ONNX_PROTO ?= /usr/include/onnx/onnx.proto

LIB_SRC  := $(sort $(wildcard frontend/onnx/*.c frontend/jtpy/*.c ir/*.c passes/*.c codegen/c/*.c codegen/cuda/*.c driver/*.c lib/*.c) cli/args.c)
CLI_SRC  := cli/main.c cli/run.c cli/inspect.c
GEN_SRC  := $(B)/gen/onnx.pb-c.c
LIB_OBJ  := $(LIB_SRC:%.c=$(B)/obj/%.o) $(B)/obj/gen/onnx.pb-c.o $(B)/obj/gen/runtime_text.o
RT_SRC   := runtime_stub/helpers.h runtime_stub/weights.h runtime_stub/gemm.h runtime_stub/strings.h
CLI_OBJ  := $(CLI_SRC:%.c=$(B)/obj/%.o)
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
TOOL_SRC := $(sort $(wildcard tests/tools/*.c))
TOOL_BIN := $(TOOL_SRC:tests/tools/%.c=$(B)/tests/%)

all: $(B)/jtc $(TOOL_BIN) $(B)/libjtc.a $(B)/libjtc.so

$(B)/gen/onnx.pb-c.c $(B)/gen/onnx.pb-c.h: $(ONNX_PROTO)
	@mkdir -p $(B)/gen
	protoc-c --c_out=$(B)/gen -I$(dir $(ONNX_PROTO)) $(ONNX_PROTO)

$(B)/obj/gen/onnx.pb-c.o: $(B)/gen/onnx.pb-c.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Wno-error -c $< -o $@

$(B)/gen/runtime_text.c: $(RT_SRC) runtime_stub/embed.sh Makefile
	@mkdir -p $(B)/gen
	sh runtime_stub/embed.sh runtime_stub/helpers.h jtc_rt_helpers runtime_stub/weights.h jtc_rt_weights runtime_stub/gemm.h jtc_rt_gemm runtime_stub/strings.h jtc_rt_strings > $@

$(B)/obj/gen/runtime_text.o: $(B)/gen/runtime_text.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(B)/obj/%.o: %.c $(B)/gen/onnx.pb-c.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(B)/libjtc_core.a: $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

$(B)/jtc: $(CLI_OBJ) $(B)/libjtc_core.a
	$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

# libjtc (include/jtc.h): the core plus lib/jtc.c, static and shared (objects built again with -fPIC)
PIC_OBJ := $(LIB_OBJ:$(B)/obj/%=$(B)/pic/%)
$(B)/pic/gen/%.o: $(B)/gen/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fPIC -Wno-error -c $< -o $@
$(B)/pic/%.o: %.c $(B)/gen/onnx.pb-c.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fPIC -MMD -MP -c $< -o $@
$(B)/libjtc.a: $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^
$(B)/libjtc.so: $(PIC_OBJ)
	$(CC) $(CFLAGS) -shared $^ -lprotobuf-c -lcjson -lm -ldl -o $@

$(B)/tests/%: tests/unit/%.c $(B)/libjtc_core.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -MF $@.d $< $(B)/libjtc_core.a $(LDLIBS) -lcmocka -o $@

$(B)/tests/%: tests/tools/%.c $(B)/libjtc_core.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $< $(B)/libjtc_core.a $(LDLIBS) -ldl -o $@

# runtime_stub/gemm.h: its test and benchmark built again with -march=native
# -fopenmp (the SIMD micro-kernel and the threaded split; the plain builds by
# the rules above take the portable path). Neither needs libjtc_core.a.
GEMM_NATIVE := -march=native -fopenmp
UNIT_BIN += $(B)/tests/test_gemm_native
$(B)/tests/test_gemm $(B)/tests/bench_gemm: runtime_stub/gemm.h
$(B)/tests/test_gemm_native: tests/unit/test_gemm.c runtime_stub/gemm.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(GEMM_NATIVE) $< -lcmocka -lm -o $@
# and by clang under ASan+UBSan: clang checks the masked AVX-512 loads lane by lane
# (gcc's ASan checks their full width, so under it gemm.h takes its plain loops)
ifneq ($(shell command -v clang 2>/dev/null),)
UNIT_BIN += $(B)/tests/test_gemm_native_asan
$(B)/tests/test_gemm_native_asan: tests/unit/test_gemm.c runtime_stub/gemm.h
	@mkdir -p $(dir $@)
	clang -std=c11 -O1 -g -Wall -Wextra -Werror -I. -march=native -fsanitize=address,undefined -fno-sanitize-recover=all $< -lcmocka -lm -o $@
endif
$(B)/tests/bench_gemm_native: tests/tools/bench_gemm.c runtime_stub/gemm.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(GEMM_NATIVE) $< -lm -o $@
all: $(B)/tests/bench_gemm_native

# tests/cuda/cuda_emu.h, the CUDA emulator: its test, built by the host C++
# compiler (`make unit` also has nvcc compile it for sm_75 if nvcc is there).
UNIT_BIN += $(B)/tests/test_cuda_emu
$(B)/tests/test_cuda_emu: tests/cuda/test_emu.cu $(wildcard tests/cuda/cuda_emu*.h)
	@mkdir -p $(dir $@)
	$(CXX) -std=c++17 -O1 -Wall -Wextra -Werror -x c++ -include tests/cuda/cuda_emu.h -I tests/cuda $< -o $@

# The quick start: compile the bundled LeNet to C, build it, run it.
demo: all
	@mkdir -p $(B)/demo
	$(B)/jtc samples/lenet/model.onnx --target=c --name net -o $(B)/demo/net.c
	$(CC) -std=c11 -O2 -Wall -Wextra -Werror -I$(B)/demo $(B)/demo/net.c samples/demo_main.c -lm -o $(B)/demo/lenet
	$(B)/demo/lenet

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done
	@sh tests/cuda/nvcc_check.sh $(B)/tests

test: all unit
	B=$(B) PYTHON=$(PYTHON) sh tests/run_all.sh

# Latency benchmark, jtc vs ONNX Runtime vs PyTorch (bench/README.md; not part
# of `make test`). onnxruntime comes from PyPI into a venv over Debian's python,
# once. BENCH_ARGS passes options to bench.py, e.g. BENCH_ARGS="--only resnet18".
# Then the samples' microcontroller flash/RAM/stack, jtc --embedded vs emx-onnx-cgen
# (bench/mcu_sizes.sh; emx-onnx-cgen from PyPI into its own venv, once).
# Then Fashion-MNIST training, jtc vs PyTorch, one epoch per seed 1, 2, 3 (about 20
# minutes; BENCH_TRAIN_ARGS="--seeds 1 --steps 200" for a quick look).
BENCH_VENV ?= $(B)/bench/venv
# emx-onnx-cgen needs a newer onnx than Debian's: its own venv
EMX_VENV   ?= $(B)/bench/emx-venv
bench: $(B)/jtc
	@test -x $(BENCH_VENV)/bin/python || $(PYTHON) -m venv --system-site-packages $(BENCH_VENV) \
	  || { echo "bench: cannot create a venv: apt-get install python3-venv"; exit 1; }
	@$(BENCH_VENV)/bin/python -c 'import onnxruntime' 2>/dev/null || $(BENCH_VENV)/bin/pip install -q \
	  --retries 1 --timeout 30 onnxruntime || echo "bench: onnxruntime not installed: ORT columns read n/a"
	-$(PYTHON) bench/export_models.py $(B)/bench/models
	$(BENCH_VENV)/bin/python bench/bench.py --jtc $(B)/jtc --models $(B)/bench/models \
	  --work $(B)/bench/work --json $(B)/bench/results.json $(BENCH_ARGS)
	@test -x $(EMX_VENV)/bin/emx-onnx-cgen || { $(PYTHON) -m venv $(EMX_VENV) && $(EMX_VENV)/bin/pip install -q \
	  --retries 1 --timeout 30 emx-onnx-cgen; } || echo "bench: emx-onnx-cgen not installed: its MCU rows are left out"
	B=$(B) EMX=$(EMX_VENV)/bin/emx-onnx-cgen sh bench/mcu_sizes.sh
	$(PYTHON) bench/train_bench.py --build $(B) $(BENCH_TRAIN_ARGS)
.PHONY: bench

# make install PREFIX=/usr/local: the jtc command, libjtc (static and shared), include/jtc.h, jtc.pc
PREFIX ?= /usr/local
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include
	install -m 755 $(B)/jtc $(DESTDIR)$(PREFIX)/bin/jtc
	install -m 644 $(B)/libjtc.a $(DESTDIR)$(PREFIX)/lib/libjtc.a
	install -m 755 $(B)/libjtc.so $(DESTDIR)$(PREFIX)/lib/libjtc.so
	install -m 644 include/jtc.h $(DESTDIR)$(PREFIX)/include/jtc.h
	printf 'prefix=%s\nlibdir=$${prefix}/lib\nincludedir=$${prefix}/include\n\nName: jtc\nDescription: jtc, a deep-learning model compiler, as a library (load-time compilation)\nVersion: %s\nLibs: -L$${libdir} -ljtc\nLibs.private: -lprotobuf-c -lcjson -lm -ldl\nCflags: -I$${includedir}\n' \
	  '$(PREFIX)' "$$(sed -n 's/^#define JTC_VERSION "\(.*\)".*/\1/p' codegen/c/cgen.h)" >$(DESTDIR)$(PREFIX)/lib/pkgconfig/jtc.pc
.PHONY: install

# docs/ops.md: every ONNX operator with jtc's opset range and its conformance
# results (tests/conformance/make_ops_doc.py), from a run over libonnx-testdata.
ops-doc: all
	@mkdir -p $(B)/ops-doc
	D=$${ONNX_DATA:-/usr/share/libonnx-testdata/data}; $(B)/tests/conform --jtc $(B)/jtc \
	  --skips tests/conformance/skip.txt -j $$(getconf _NPROCESSORS_ONLN) --tmp $(B)/ops-doc --root $$D/node \
	  --root $$D/pytorch-converted --root $$D/pytorch-operator --root $$D/simple >$(B)/ops-doc/conform.log || true
	$(PYTHON) tests/conformance/make_ops_doc.py --jtc $(B)/jtc --log $(B)/ops-doc/conform.log \
	  --data $${ONNX_DATA:-/usr/share/libonnx-testdata/data} -o docs/ops.md
.PHONY: ops-doc

# Fuzzing (tests/fuzz/README.md). `make fuzz` builds the libFuzzer targets with
# clang into $(B)/fuzz/ (the library again with -fsanitize=fuzzer-no-link and
# ASan+UBSan) and runs each for FUZZ_SECONDS on its committed corpus, failing
# if any finds a crash; new inputs go to $(B)/fuzz/corpus/, crashes to
# $(B)/fuzz/artifacts/. `make test` replays the corpus and the regression
# inputs through the same targets built by $(CC) under ASan+UBSan
# ($(B)/fuzz/replay_*, run by tests/fuzz/replay.sh; no libFuzzer needed).
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := fuzz_onnx fuzz_pickle fuzz_options fuzz_ix fuzz_pipeline
FUZZ_CFLAGS  := -O1 -g -std=c11 -Wall -Wextra -Werror -D_GNU_SOURCE -I. -I$(B)/gen
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_COMMON  := tests/fuzz/fuzz_util.c
FUZZ_OBJ     := $(LIB_SRC:%.c=$(B)/fuzz/obj/%.o) $(B)/fuzz/obj/gen/onnx.pb-c.o $(B)/fuzz/obj/gen/runtime_text.o
REPLAY_OBJ   := $(FUZZ_OBJ:$(B)/fuzz/obj/%=$(B)/fuzz/replay-obj/%)
FUZZ_BIN     := $(FUZZ_TARGETS:%=$(B)/fuzz/%)
FUZZ_REPLAY  := $(FUZZ_TARGETS:%=$(B)/fuzz/replay_%)

$(B)/fuzz/obj/gen/%.o: $(B)/gen/%.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -Wno-error -fsanitize=fuzzer-no-link $(FUZZ_SAN) -c $< -o $@
$(B)/fuzz/obj/%.o: %.c $(B)/gen/onnx.pb-c.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(FUZZ_SAN) -MMD -MP -c $< -o $@
$(B)/fuzz/replay-obj/gen/%.o: $(B)/gen/%.c
	@mkdir -p $(dir $@)
	$(CC) $(FUZZ_CFLAGS) -Wno-error $(FUZZ_SAN) -c $< -o $@
$(B)/fuzz/replay-obj/%.o: %.c $(B)/gen/onnx.pb-c.h
	@mkdir -p $(dir $@)
	$(CC) $(FUZZ_CFLAGS) $(FUZZ_SAN) -MMD -MP -c $< -o $@
$(B)/fuzz/libjtc_fuzz.a: $(FUZZ_OBJ)
	rm -f $@
	ar rcs $@ $^
$(B)/fuzz/libjtc_replay.a: $(REPLAY_OBJ)
	rm -f $@
	ar rcs $@ $^
$(B)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_COMMON) tests/fuzz/fuzz.h $(B)/fuzz/libjtc_fuzz.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $(FUZZ_SAN) $< $(FUZZ_COMMON) $(B)/fuzz/libjtc_fuzz.a $(LDLIBS) -o $@
$(B)/fuzz/replay_%: tests/fuzz/%.c tests/fuzz/replay_main.c $(FUZZ_COMMON) tests/fuzz/fuzz.h $(B)/fuzz/libjtc_replay.a
	$(CC) $(FUZZ_CFLAGS) $(FUZZ_SAN) $< tests/fuzz/replay_main.c $(FUZZ_COMMON) $(B)/fuzz/libjtc_replay.a $(LDLIBS) -o $@
test: $(FUZZ_REPLAY)

fuzz: $(FUZZ_BIN)
	@bad=; for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(B)/fuzz/corpus/$$t $(B)/fuzz/artifacts; \
	  echo "== $$t: $(FUZZ_SECONDS) s"; \
	  dict=; [ -f tests/fuzz/$$t.dict ] && dict=-dict=tests/fuzz/$$t.dict; \
	  $(B)/fuzz/$$t $$dict -max_total_time=$(FUZZ_SECONDS) -timeout=10 -close_fd_mask=2 -print_final_stats=1 \
	    -artifact_prefix=$(B)/fuzz/artifacts/$$t- $(B)/fuzz/corpus/$$t tests/fuzz/corpus/$$t tests/fuzz/regress/$$t \
	    || bad="$$bad $$t"; \
	done; if [ -n "$$bad" ]; then echo "fuzz: crashes in$$bad (inputs in $(B)/fuzz/artifacts/)"; exit 1; fi

asan:
	$(MAKE) B=build-asan OPT="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	  LDFLAGS="-fsanitize=address,undefined" test

clean:
	rm -rf build build-asan

.PHONY: all demo unit test asan clean fuzz
-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(UNIT_BIN:=.d) $(FUZZ_OBJ:.o=.d) $(REPLAY_OBJ:.o=.d)
