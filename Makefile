# Gregor — plain GNU make with pkg-config.
#
#   make            build everything into build/
#   make test       deps + build + unit tests + integration tests
#   make unit       unit tests only (check)
#   make integration / make fault
#   make asan       ASan+UBSan build (build-asan/) and its unit tests
#   make fuzz       libFuzzer targets (clang), a short run of each
#   make run        deps + build + start a local cluster
#   make valgrind   unit tests under valgrind (leak check)
#   make sim SEEDS=N  more seeds of the quorum simulation
#   make clean

BUILD   ?= build
CC      ?= cc
PKGS    := libevent libssl libcrypto libzstd snappy zlib liblz4 libedit libmd jansson
CSTD    := -std=c11 -D_GNU_SOURCE
WARN    := -Wall -Wextra -Werror -Wno-unused-parameter
OPT     ?= -O2 -g
SAN     ?=
CFLAGS_ALL := $(CSTD) $(WARN) $(OPT) $(SAN) -I. $(shell pkg-config --cflags $(PKGS) 2>/dev/null) $(EXTRA_CFLAGS)
# --as-needed: each binary loads only the libraries it uses (gregor-coord needs no OpenSSL).
LIBS    := -Wl,--as-needed $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm -lpthread
CHECK_LIBS := $(shell pkg-config --libs check 2>/dev/null)

COMMON_SRC := $(wildcard common/*.c)
PROTO_SRC  := $(wildcard proto/*.c)
COORD_SRC  := $(filter-out coord/main.c,$(wildcard coord/*.c))
SHELL_SRC  := $(wildcard coord/shell/*.c)
BROKER_SRC := $(filter-out broker/main.c,$(wildcard broker/*.c))
CLI_SRC    := $(wildcard broker/cli/*.c)
BENCH_SRC  := $(wildcard bench/*.c)
UNIT_SRC   := $(wildcard tests/unit/test_*.c)
FUZZ_SRC   := $(wildcard tests/fuzz/fuzz_*.c)

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

LIBCOMMON := $(BUILD)/lib/libcommon.a
LIBPROTO  := $(BUILD)/lib/libproto.a
LIBCOORD  := $(BUILD)/lib/libcoord.a
LIBSHELL  := $(BUILD)/lib/libshell.a
LIBBROKER := $(BUILD)/lib/libbroker.a
ALL_LIBS  := $(LIBBROKER) $(LIBSHELL) $(LIBCOORD) $(LIBPROTO) $(LIBCOMMON)

BINS := $(BUILD)/bin/gregor-coord $(BUILD)/bin/gregor $(if $(wildcard broker/main.c),$(BUILD)/bin/gregor-broker) \
        $(patsubst bench/%.c,$(BUILD)/bin/%,$(BENCH_SRC))
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))

# Keep objects made through pattern chains (bench, tests) instead of deleting them.
.SECONDARY:

.PHONY: all test unit integration fault asan fuzz run stop clean deps valgrind deps-check gen-check gen bench sim
all: $(BINS) $(UNIT_BINS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -MMD -MP -c $< -o $@

$(LIBCOMMON): $(call obj,$(COMMON_SRC))
$(LIBPROTO):  $(call obj,$(PROTO_SRC))
$(LIBCOORD):  $(call obj,$(COORD_SRC))
$(LIBSHELL):  $(call obj,$(SHELL_SRC))
$(LIBBROKER): $(call obj,$(BROKER_SRC))
$(BUILD)/lib/%.a:
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/bin/gregor-coord: $(call obj,coord/main.c) $(ALL_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(SAN) -o $@ $^ $(LIBS)

$(BUILD)/bin/gregor-broker: $(call obj,broker/main.c) $(ALL_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(SAN) -o $@ $^ $(LIBS)

# The Kafka tools under `gregor` speak the Kafka protocol through librdkafka (gregor only).
$(BUILD)/bin/gregor: $(call obj,$(CLI_SRC)) $(ALL_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(SAN) -o $@ $^ $(LIBS) $(shell pkg-config --libs rdkafka 2>/dev/null)

$(BUILD)/bin/%: $(BUILD)/obj/bench/%.o $(ALL_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(SAN) -o $@ $^ $(LIBS)

# kbench is a librdkafka client (bench only; it builds without librdkafka, then only -m ready works).
$(BUILD)/bin/kbench: LIBS += $(shell pkg-config --libs rdkafka 2>/dev/null)

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(ALL_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(SAN) -o $@ $^ $(CHECK_LIBS) $(LIBS)

deps:
	@deploy/deps.sh

unit: all
	@tests/lib/run-unit.sh $(BUILD)/tests

# The coordinator works: a coordinator that does not come up is a failure, not a skip.
export GREGOR_REQUIRE_COORD ?= 1
export GREGOR_REQUIRE_ENSEMBLE ?= 1

integration: all
	@tests/lib/run-dir.sh tests/integration

fault: all
	@tests/lib/run-dir.sh tests/fault

test: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory deps-check
	@$(MAKE) --no-print-directory gen-check
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory integration
	@$(MAKE) --no-print-directory fault

deps-check:
	@tests/lib/deps-check.sh

# The Kafka message tables are generated from proto/schema/kafka/*.kps and committed;
# this fails if they are stale (make gen regenerates them).
gen-check:
	@/usr/bin/python3 proto/schema/kafka_gen.py --check && echo "gen-check: ok"

gen:
	@/usr/bin/python3 proto/schema/kafka_gen.py

asan:
	@$(MAKE) --no-print-directory BUILD=build-asan OPT="-O1 -g -fno-omit-frame-pointer" \
	    SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined" all
	@ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 tests/lib/run-unit.sh build-asan/tests

valgrind: all
	@VALGRIND=1 tests/lib/run-unit.sh $(BUILD)/tests

FUZZ_BINS := $(patsubst tests/fuzz/%.c,build-fuzz/bin/%,$(FUZZ_SRC))
fuzz:
	@$(MAKE) --no-print-directory BUILD=build-fuzz CC=clang OPT="-O1 -g" \
	    SAN="-fsanitize=fuzzer-no-link,address,undefined" fuzz-bins
	@tests/lib/run-fuzz.sh build-fuzz/bin $(FUZZ_SECONDS)

.PHONY: fuzz-bins
fuzz-bins: $(FUZZ_BINS)
build-fuzz/bin/%: build-fuzz/obj/tests/fuzz/%.o $(ALL_LIBS)
	@mkdir -p $(dir $@)
	$(CC) -fsanitize=fuzzer,address,undefined -o $@ $^ $(LIBS)

run: deps
	@$(MAKE) --no-print-directory all
	@deploy/run-local.sh start

stop:
	@deploy/run-local.sh stop

# Seeded quorum simulation: make sim SEEDS=N (a failing seed prints how to replay it).
sim: all
	@SIM_SEEDS=$(or $(SEEDS),1000) CK_RUN_CASE=random $(BUILD)/tests/test_zab_sim

bench: all
	@bench/run-coord-bench.sh
	@bench/run-ensemble-bench.sh
	@bench/run-broker-bench.sh

clean:
	rm -rf build build-asan build-fuzz

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
