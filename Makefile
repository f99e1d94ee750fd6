# hrm — the Hierarchical Reasoning Model inside PostgreSQL.
#
#   make && make install          build and install the extension (PGXS)
#   make installcheck             pg_regress + pgTAP suites against a running server
#   make test-engine              engine unit tests, no server (prints "N passed, N failed")
#   make parity FIXTURE=<prefix>  compare the engine with a reference fixture pair
#   make fuzz                     libFuzzer targets (clang), FUZZ_SECONDS each
#   make dist                     PGXN archive hrm-$(EXTVERSION).zip (git archive of HEAD)
#   make test-engine-asan         engine tests and fuzz targets under ASan + UBSan
#   make ASSERT=1 [install]       assertion build (Assert in the glue, HRM_ASSERT in the engine)

EXTENSION = hrm
EXTVERSION = 0.2.0

MODULE_big = hrm
# The engine (src/core: util, nn, task, run) and the glue (src/pg, training
# under src/pg/train).
CORE_DIRS = src/core/util src/core/nn src/core/task src/core/run
CORE_INC = $(addprefix -I,$(CORE_DIRS))
CORE_SRCS = $(sort $(foreach d,$(CORE_DIRS),$(wildcard $(d)/*.c)))
GLUE_DIRS = src/pg src/pg/train
GLUE_SRCS = $(sort $(foreach d,$(GLUE_DIRS),$(wildcard $(d)/*.c)))
# The glue's objects; the engine comes from build/libhrmcore.a (below), the
# same archive the engine tests, parity, benches and tools link.
OBJS = $(GLUE_SRCS:.c=.o)

SQL_PARTS = $(sort $(wildcard sql/parts/*.sql))
DATA_built = sql/$(EXTENSION)--$(EXTVERSION).sql
# Earlier releases' install scripts (frozen, committed) and the update
# scripts between releases (ALTER EXTENSION hrm UPDATE; test/upgrade.sh).
DATA = $(filter-out $(DATA_built),$(wildcard sql/$(EXTENSION)--*.sql))

TESTS = $(sort $(wildcard test/sql/*.sql))
REGRESS ?= $(patsubst test/sql/%.sql,%,$(TESTS))
REGRESS_OPTS = --inputdir=test
ISOLATION_SPECS = $(sort $(wildcard test/specs/*.spec))
ISOLATION = $(patsubst test/specs/%.spec,%,$(ISOLATION_SPECS))
ISOLATION_OPTS = --inputdir=test
# Reference fixtures (test/fixtures/README.md) and real puzzle data
# (test/data/README.md) ship in the repository; HRM_FIXTURES=DIR and
# HRM_DATA=DIR point the tests and benchmarks at other copies (e.g. more
# fixture pairs for make parity-all, whole puzzle sets for bench-tasks).
HRM_FIXTURES ?= $(abspath test/fixtures)
HRM_DATA ?= $(abspath test/data)
export HRM_FIXTURES HRM_DATA
# Isolation specs cannot run psql commands: they find the fixtures through a
# custom setting passed to every test connection (an absolute path: the
# server reads the files).
export PGOPTIONS = -c hrm_test.fixtures=$(abspath $(HRM_FIXTURES))

EXTRA_CLEAN = build $(GLUE_SRCS:.c=.bc) test/core/hrm_test test/core/hrm_test_asan test/core/hrm_parity results regression.diffs regression.out \
	output_iso bench/bench_forward bench/bench_train bench/bench_gemm tools/hrm_tool \
	$(patsubst %.c,%,$(wildcard test/fuzz/fuzz_*.c))

BLAS_CFLAGS := $(shell pkg-config --cflags openblas 2>/dev/null)
BLAS_LIBS := $(shell pkg-config --libs openblas 2>/dev/null || echo -lopenblas)

# The build is portable (baseline x86-64): the AVX-512 and AVX512_BF16 kernels
# are compiled for their targets in their own files (src/core/nn/*_avx512.c,
# gemm_bf16.c) and chosen at run time from the CPU (src/core/util/cpu.h).
# OPTFLAGS=-march=native tunes the rest for this machine (not portable).
OPTFLAGS ?=
WARNFLAGS = -Wall -Wextra -Wno-unused-parameter -Wno-sign-compare -Wno-missing-field-initializers
ifdef STRICT
WARNFLAGS += -Werror
endif

PG_CPPFLAGS = $(addprefix -I,$(GLUE_DIRS)) $(CORE_INC) $(BLAS_CFLAGS)
# ASSERT=1: an assertion build (PostgreSQL's Assert in the glue, HRM_ASSERT
# in the engine); test/run_all.sh runs the preloaded regression suites on one.
ASSERT_DEFS = $(if $(ASSERT),-DHRM_ASSERT_CHECKING)
PG_CPPFLAGS += $(if $(ASSERT),-DUSE_ASSERT_CHECKING) $(ASSERT_DEFS)
PG_CFLAGS = -O3 $(OPTFLAGS) $(WARNFLAGS) -Wno-declaration-after-statement -ftree-vectorize -fno-math-errno
SHLIB_LINK = build/libhrmcore.a $(BLAS_LIBS) -lm -lpthread

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# PGXS does not track headers: every object depends on all of them (a changed
# struct must never leave objects compiled against the old layout).
$(OBJS): $(wildcard $(addsuffix /*.h,$(GLUE_DIRS) $(CORE_DIRS)))

# Nor flags: build/flags holds the flags that change the code (ASSERT,
# OPTFLAGS) and is rewritten when they change, which rebuilds what they touch.
BUILD_FLAGS = assert=$(ASSERT) opt=$(OPTFLAGS)
ifeq ($(filter clean distclean,$(MAKECMDGOALS)),)
$(shell mkdir -p build && (echo '$(BUILD_FLAGS)' | cmp -s - build/flags || echo '$(BUILD_FLAGS)' > build/flags))
endif
$(OBJS) $(patsubst src/core/%.c,build/core/%.o,$(CORE_SRCS)): build/flags

# ---------------------------------------------------------------------------
# The engine (src/core, plain C11) is compiled once per flavour into an
# archive that everything else links:
#   build/libhrmcore.a        -O3, position-independent: the extension
#                             (hrm.so), engine tests, parity, benches, tools
#   build/libhrmcore_asan.a   ASan + UBSan: make test-engine-asan
#   build/libhrmcore_fuzz.a   clang, libFuzzer coverage + ASan + UBSan: fuzz targets
# CORE_ARCHIVE_RULES(flavour, compiler, flags) makes build/<flavour>/*.o and
# the archive from them.
ENGINE_CC ?= $(CC)
ENGINE_CFLAGS = -std=c11 -D_POSIX_C_SOURCE=200809L -O3 -g $(OPTFLAGS) $(WARNFLAGS) -fno-math-errno \
	$(ASSERT_DEFS) $(CORE_INC) -Itest/core $(BLAS_CFLAGS)
ENGINE_LIBS = $(BLAS_LIBS) -lm -lpthread
CORE_HDRS = $(wildcard $(addsuffix /*.h,$(CORE_DIRS))) $(wildcard test/core/*.h)
FUZZ_CC ?= clang
SANITIZE_CC ?= $(ENGINE_CC)
SANITIZE_FLAGS = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer \
	-DHRM_ASSERT_CHECKING
CORE_LIB = build/libhrmcore.a
CORE_LIB_ASAN = build/libhrmcore_asan.a
CORE_LIB_FUZZ = build/libhrmcore_fuzz.a

define CORE_ARCHIVE_RULES
build/$(1)/%.o: src/core/%.c $$(CORE_HDRS)
	@mkdir -p $$(@D)
	$(2) $(3) -c -o $$@ $$<
build/libhrmcore$(if $(filter core,$(1)),,_$(1)).a: $$(patsubst src/core/%.c,build/$(1)/%.o,$$(CORE_SRCS))
	@rm -f $$@
	$$(AR) crs $$@ $$^
endef
$(eval $(call CORE_ARCHIVE_RULES,core,$$(ENGINE_CC),$$(ENGINE_CFLAGS) -fPIC))
$(eval $(call CORE_ARCHIVE_RULES,asan,$$(SANITIZE_CC),$$(filter-out -O3,$$(ENGINE_CFLAGS)) -O2 $$(SANITIZE_FLAGS)))
$(eval $(call CORE_ARCHIVE_RULES,fuzz,$$(FUZZ_CC),-g -O1 -fsanitize=$$(FUZZ_SANITIZE) -fno-sanitize-recover=all -std=c11 -D_POSIX_C_SOURCE=200809L $$(CORE_INC) $$(BLAS_CFLAGS)))
# clang's AddressSanitizer takes minutes on the unrolled AVX-512 intrinsics
# kernels (8+ minutes for gemm_avx512.c): in the fuzzing flavour they get
# coverage and UBSan only.  The fuzz targets parse inputs and hardly reach
# them; the ASan flavour (gcc) instruments them fully for the engine tests.
FUZZ_SANITIZE = fuzzer-no-link,address,undefined
build/fuzz/%_avx512.o: FUZZ_SANITIZE = fuzzer-no-link,undefined

# hrm.so links the engine archive.
$(shlib): $(CORE_LIB)

# Pretrained models (models/*.safetensors) go to <sharedir>/hrm_models, where
# hrm_pretrained() and hrm_load_pretrained() find them.
MODELS = $(wildcard models/*.safetensors)
install: install-models
.PHONY: install-models
install-models:
	$(MKDIR_P) '$(DESTDIR)$(datadir)/hrm_models'
ifneq ($(MODELS),)
	$(INSTALL_DATA) $(MODELS) '$(DESTDIR)$(datadir)/hrm_models/'
endif

# The install script is the concatenation of sql/parts/*.sql, in name order.
sql/$(EXTENSION)--$(EXTVERSION).sql: $(SQL_PARTS)
	cat $(SQL_PARTS) > $@

# ---------------------------------------------------------------------------
# Engine tests: plain C, no PostgreSQL, linked with the engine archive.
ENGINE_TEST_SRCS = $(filter-out test/core/parity_main.c,$(sort $(wildcard test/core/*.c)))

test/core/hrm_test: $(ENGINE_TEST_SRCS) $(CORE_HDRS) $(CORE_LIB) build/flags
	$(ENGINE_CC) $(ENGINE_CFLAGS) -o $@ $(ENGINE_TEST_SRCS) $(CORE_LIB) $(ENGINE_LIBS)

test/core/hrm_parity: $(wildcard test/core/parity*.c) $(CORE_HDRS) $(CORE_LIB) build/flags
	$(ENGINE_CC) $(ENGINE_CFLAGS) -o $@ $(wildcard test/core/parity*.c) $(CORE_LIB) $(ENGINE_LIBS)

.PHONY: test-engine parity parity-all fuzz bench
test-engine: test/core/hrm_test
	./test/core/hrm_test

FIXTURE ?=
parity: test/core/hrm_parity
	@test -n "$(FIXTURE)" || { echo "usage: make parity FIXTURE=<path prefix of NAME.weights/NAME.expected.safetensors>"; exit 2; }
	./test/core/hrm_parity $(FIXTURE)

# Every fixture pair in HRM_FIXTURES (default test/fixtures) and its
# subdirectories; pairs of an arch or kind this build lacks are skipped.
parity-all: test/core/hrm_parity
	./test/core/hrm_parity --all $(HRM_FIXTURES)

# ---------------------------------------------------------------------------
# fuzz: every test/fuzz/fuzz_<name>.c is a libFuzzer target linked with the
# fuzzing flavour of the engine archive; each runs FUZZ_SECONDS with its corpus in
# $(FUZZ_CORPUS)/<name>.  A crash, leak or sanitizer report fails the make
# (the input is kept as $(FUZZ_CORPUS)/<name>-crash-*).
FUZZ_SECONDS ?= 20
FUZZ_CORPUS ?= /tmp/hrm-fuzz-corpus
FUZZ_SRCS = $(sort $(wildcard test/fuzz/fuzz_*.c))
FUZZ_BINS = $(FUZZ_SRCS:.c=)
FUZZ_CFLAGS = -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	-std=c11 -D_POSIX_C_SOURCE=200809L $(CORE_INC) $(BLAS_CFLAGS)

$(FUZZ_BINS): test/fuzz/%: test/fuzz/%.c $(CORE_HDRS) $(CORE_LIB_FUZZ)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< $(CORE_LIB_FUZZ) $(BLAS_LIBS) -lm -lpthread

fuzz: $(FUZZ_BINS)
	@set -e; for bin in $(FUZZ_BINS); do \
		name=$$(basename $$bin); \
		mkdir -p $(FUZZ_CORPUS)/$$name; \
		echo "fuzz: $$name for $(FUZZ_SECONDS) s, corpus $(FUZZ_CORPUS)/$$name (seeds test/fuzz/corpus/$${name#fuzz_})"; \
		./$$bin -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
			-artifact_prefix=$(FUZZ_CORPUS)/$$name- $(FUZZ_CORPUS)/$$name \
			$$(test -d test/fuzz/corpus/$${name#fuzz_} && echo test/fuzz/corpus/$${name#fuzz_}) \
			|| { echo "fuzz: $$name FAILED, see $(FUZZ_CORPUS)/$$name-*"; exit 1; }; \
	done

# ---------------------------------------------------------------------------
# test-engine-asan: the engine tests built with AddressSanitizer and
# UndefinedBehaviorSanitizer (any report aborts; the engine's compiler, so
# that floating-point contraction matches the bitwise tests), run in full,
# leaks included; then every
# fuzz target over its kept corpus (test/fuzz/corpus/<name>, each input
# once) and for ASAN_FUZZ_SECONDS of fresh fuzzing (in a scratch directory;
# the kept corpus is not modified).  docs/fuzzing.md.
ASAN_FUZZ_SECONDS ?= 10
ASAN_OPTIONS_RUN = detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1
UBSAN_OPTIONS_RUN = print_stacktrace=1:halt_on_error=1

test/core/hrm_test_asan: $(ENGINE_TEST_SRCS) $(CORE_HDRS) $(CORE_LIB_ASAN)
	$(SANITIZE_CC) $(filter-out -O3,$(ENGINE_CFLAGS)) -O2 $(SANITIZE_FLAGS) \
		-o $@ $(ENGINE_TEST_SRCS) $(CORE_LIB_ASAN) $(ENGINE_LIBS)

.PHONY: test-engine-asan
test-engine-asan: test/core/hrm_test_asan $(FUZZ_BINS)
	ASAN_OPTIONS=$(ASAN_OPTIONS_RUN) UBSAN_OPTIONS=$(UBSAN_OPTIONS_RUN) ./test/core/hrm_test_asan
	@set -e; mkdir -p $(FUZZ_CORPUS); \
	for bin in $(FUZZ_BINS); do \
		name=$$(basename $$bin); corpus=test/fuzz/corpus/$${name#fuzz_}; \
		scratch=$$(mktemp -d $(FUZZ_CORPUS)/asan-$$name.XXXXXX); \
		n=$$(ls $$corpus 2>/dev/null | wc -l); \
		echo "asan: $$name over its corpus ($$n inputs in $$corpus), then $(ASAN_FUZZ_SECONDS) s of fuzzing"; \
		for run in corpus fuzz; do \
			if [ $$run = corpus ]; then \
				[ $$n -gt 0 ] || continue; args="-runs=0 $$scratch $$corpus"; \
			else \
				args="-max_total_time=$(ASAN_FUZZ_SECONDS) $$scratch"; \
			fi; \
			if ! ASAN_OPTIONS=$(ASAN_OPTIONS_RUN) UBSAN_OPTIONS=$(UBSAN_OPTIONS_RUN) \
				./$$bin -print_final_stats=1 -artifact_prefix=$$scratch/ $$args > $$scratch.log 2>&1; then \
				tail -40 $$scratch.log; \
				echo "asan: $$name FAILED ($$run); log $$scratch.log, input $$scratch/crash-* (or leak-*, timeout-*)"; \
				exit 1; \
			fi; \
			grep -E '^stat::(number_of_executed_units|average_exec_per_sec)' $$scratch.log | tr '\n' ' '; echo; \
		done; \
		rm -rf $$scratch $$scratch.log; \
	done; \
	echo "asan: engine tests and $(words $(FUZZ_BINS)) fuzz targets clean"

# ---------------------------------------------------------------------------
# bench: forward throughput (bench/run_forward.sh runs it next to PyTorch).
.PHONY: bench-forward
bench-forward: bench/bench_forward

bench/bench_forward: bench/bench_forward.c $(CORE_HDRS) $(CORE_LIB)
	$(ENGINE_CC) $(ENGINE_CFLAGS) -o $@ bench/bench_forward.c $(CORE_LIB) $(ENGINE_LIBS)

# bench: training throughput (bench/run_train.sh runs it next to PyTorch).
.PHONY: bench-train bench-gemm
bench-train: bench/bench_train
bench-gemm: bench/bench_gemm

bench/bench_gemm: bench/bench_gemm.c $(CORE_HDRS) $(CORE_LIB)
	$(ENGINE_CC) $(ENGINE_CFLAGS) -o $@ bench/bench_gemm.c $(CORE_LIB) $(ENGINE_LIBS)

bench/bench_train: bench/bench_train.c $(CORE_HDRS) $(CORE_LIB)
	$(ENGINE_CC) $(ENGINE_CFLAGS) -o $@ bench/bench_train.c $(CORE_LIB) $(ENGINE_LIBS)

# ---------------------------------------------------------------------------
# bench: the Sudoku training recipe (issue 6): generated 20-blank puzzles,
# a time-budgeted run of run.h with a held-out curve (docs/training.md).
.PHONY: bench-recipe
bench-recipe: bench/train_recipe

bench/train_recipe: bench/train_recipe.c $(CORE_HDRS) $(CORE_LIB)
	$(ENGINE_CC) $(ENGINE_CFLAGS) -o $@ bench/train_recipe.c $(CORE_LIB) $(ENGINE_LIBS)

# checkpoint ensembles against the last checkpoint (docs/training.md)
bench/bench_ensemble: bench/bench_ensemble.c $(CORE_HDRS) $(CORE_LIB)
	$(ENGINE_CC) $(ENGINE_CFLAGS) -o $@ bench/bench_ensemble.c $(CORE_LIB) $(ENGINE_LIBS)

# ---------------------------------------------------------------------------
# bench-tasks: speed of the task toolkit (Sudoku generator, exact solver on
# the public collections in $(HRM_DATA)/sudoku, maze generator, token
# augmentation); docs/tasks.md quotes its numbers, measured on the whole
# collections (HRM_DATA=DIR; test/data holds their first 200 puzzles).
# BENCH_TASKS_ARGS passes options (--runs N, --quick, extra puzzle files).
BENCH_TASKS_ARGS ?=
.PHONY: bench-tasks
bench-tasks: bench/bench_tasks
	./bench/bench_tasks $(BENCH_TASKS_ARGS)

bench/bench_tasks: bench/bench_tasks.c $(CORE_HDRS) $(CORE_LIB)
	$(ENGINE_CC) $(ENGINE_CFLAGS) -o $@ bench/bench_tasks.c $(CORE_LIB) $(ENGINE_LIBS)

EXTRA_CLEAN += bench/bench_tasks bench/bench_ensemble

# ---------------------------------------------------------------------------
# dist: the PGXN release archive, hrm-$(EXTVERSION).zip with every file of
# the committed HEAD under hrm-$(EXTVERSION)/ (uncommitted changes are not
# in it).  test/dist.sh checks its contents against META.json.
DIST = $(EXTENSION)-$(EXTVERSION)
.PHONY: dist
dist:
	@git diff --quiet HEAD -- 2>/dev/null || echo "dist: warning: uncommitted changes are not in $(DIST).zip (it archives HEAD)"
	git archive --format=zip --prefix=$(DIST)/ -o $(DIST).zip HEAD
	@echo "dist: $(DIST).zip"

EXTRA_CLEAN += $(DIST).zip

