# The two commands of the README's quick start, and the steps they are made of.
BUILD ?= build
JOBS ?= $(shell nproc)
# ctest runs twice as many tests as there are cores: most e2e cases wait on timers and sockets;
# the ones that keep a core busy take two slots (CTEST_PROCESSORS in tests/e2e/ctest_cases.py).
TEST_JOBS ?= $(shell echo $$(( 2 * $$(nproc) )))

ASAN_BUILD ?= build-asan
FUZZ_SECONDS ?= 15
# AddressSanitizer and leak reports of every instrumented process (unit tests, and the sluice
# processes the e2e scripts start, whose stderr they may keep to themselves) land here; any file
# fails the run. Writable by all (sticky): a gateway that dropped root to its service account
# writes its reports here too. UndefinedBehaviorSanitizer ignores log_path when linked with ASan (g++ 12): its
# reports go to the process's stderr, and halt_on_error makes the process fail.
SANITIZER_LOGS = $(CURDIR)/$(ASAN_BUILD)/sanitizer-logs

.PHONY: all deps build test suite suite-run check unit e2e demo clean sanitize sanitize-build sanitize-run fuzz fuzz-build fuzz-run tidy deb

all: build

deps:
	@scripts/install-deps

# Configure output is kept quiet; it is printed when configuring fails. -g1 keeps file and line in
# backtraces (and gdb's) without the variables, whose generation was a fifth of the compile time
# (inbound/session.cc: 5.0 s of CPU at -g, 3.9 s at -g1). Not a unity build (the ASan tree is one):
# a fresh clone's whole make test gained about 40 s from it, and `make check` after a one-file
# change would recompile that file's batch of 8.
UNIT_TESTS ?= ON
build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_UNITY_BUILD=OFF -DSLUICE_UNIT_TESTS=$(UNIT_TESTS) \
	  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" >$(BUILD).configure.log 2>&1 || { cat $(BUILD).configure.log; exit 1; }
	@cmake --build $(BUILD) -j $(JOBS)

# The README's test command: the ctest suite without the unit tests (e2e, loadgen, fuzz seeds, tree
# checks) on the release build, the whole suite under AddressSanitizer + UndefinedBehaviorSanitizer,
# and every libFuzzer target for FUZZ_SECONDS. The unit tests run once, with the sanitizers: they test
# the library, and compiling them for the release tree as well took longer than anything they could
# find there. Each step stops the run when it fails.
#
# The suites mostly wait on timers and sockets, so the ASan tree is built while the release suite
# runs, at nice 19: they take the CPU the tests leave idle and give it
# back the moment a test wants it (CFS weighs nice 19 at 15 against 1024), which shortens a fresh
# clone's run without making the tests' timing any tighter. The background build's output goes
# to $(BACKGROUND_LOG), printed when it fails. The fuzz targets are built and run the same way beside
# the ASan suite: libFuzzer's -max_total_time is wall-clock time, so a fuzzer left with little CPU
# runs fewer inputs, not longer; their output goes to $(FUZZ_LOG), printed when one fails.
BACKGROUND_LOG = $(ASAN_BUILD).background.log
FUZZ_LOG = build-fuzz.log
test: deps
	@t0=$$(date +%s); \
	$(MAKE) --no-print-directory build UNIT_TESTS=OFF || exit 1; t1=$$(date +%s); \
	setsid nice -n 19 $(MAKE) --no-print-directory sanitize-build >$(BACKGROUND_LOG) 2>&1 & background=$$!; \
	if ! $(MAKE) --no-print-directory suite-run; then kill -- -$$background 2>/dev/null; wait; exit 1; fi; t2=$$(date +%s); \
	wait $$background || { cat $(BACKGROUND_LOG); echo "make test: building the ASan tree failed"; exit 1; }; \
	t3=$$(date +%s); \
	setsid nice -n 19 $(MAKE) --no-print-directory fuzz-build fuzz-run >$(FUZZ_LOG) 2>&1 & fuzzers=$$!; \
	if ! $(MAKE) --no-print-directory sanitize-run; then kill -- -$$fuzzers 2>/dev/null; wait; exit 1; fi; t4=$$(date +%s); \
	wait $$fuzzers || { cat $(FUZZ_LOG); echo "make test: building or running a fuzzer failed"; exit 1; }; t5=$$(date +%s); \
	grep '^fuzz:' $(FUZZ_LOG); \
	echo "make test: passed in $$((t5 - t0)) s (release build $$((t1 - t0)) s, release suite $$((t2 - t1)) s," \
	  "rest of the ASan build $$((t3 - t2)) s, ASan+UBSan suite with the fuzz targets built and run beside it $$((t4 - t3)) s," \
	  "fuzz targets after it $$((t5 - t4)) s)"

# The whole ctest suite on the release build.
suite: build
	@$(MAKE) --no-print-directory suite-run

suite-run:
	cd $(BUILD) && ctest --output-on-failure -j $(TEST_JOBS)

# The quick round while developing: rebuild what changed, run the unit tests (not e2e).
check: build
	@cd $(BUILD) && ctest --progress --output-on-failure -j $(TEST_JOBS) -LE e2e

unit: check

# The whole ctest suite (unit, e2e, loadgen; not the fuzz seed replays, which fuzz/run.sh runs under
# the same sanitizers) against a Debug build with AddressSanitizer (leaks
# included) and UndefinedBehaviorSanitizer. It is the longest step of `make test`: -Og -g1 (reports
# need file and line, not variables) compiles in 0.35 of the time of -O1 -g (inbound/session.cc:
# 10.8 s against 30.9 s), and the suite is bound by timers and sockets, not by the CPU. It is a
# unity build (CMake batches of 16 sources compiled as one): the library took 166 s of CPU instead
# of 268 s in batches of 8, and batches of 16 take a tenth less again (2.44 s of CPU a source file
# against 2.74 s, the library's last 150 sources); nobody edits and rebuilds this tree file by file. Two sources of one batch share
# their anonymous namespaces, so a helper name defined in both stops this build: give one of them
# a name that says what it does (or merge them, when they are the same). The unit tests run as 8
# gtest shards (SLUICE_UNIT_TEST_SHARDS in CMakeLists.txt), not one process per test. The e2e
# scripts get this tree's sluice as SLUICE_BIN, and SLUICE_SANITIZER tells a test that memory
# figures (VmRSS) are ASan's, not the gateway's.
sanitize: sanitize-build
	@$(MAKE) --no-print-directory sanitize-run

sanitize-build: deps
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG=-g1 -DCMAKE_UNITY_BUILD=ON -DCMAKE_UNITY_BUILD_BATCH_SIZE=16 -DSLUICE_UNIT_TEST_SHARDS=8 -DSLUICE_FUZZ_REPLAY=OFF \
	  -DCMAKE_CXX_FLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -Og" \
	  >$(ASAN_BUILD).configure.log 2>&1 || { cat $(ASAN_BUILD).configure.log; exit 1; }
	@cmake --build $(ASAN_BUILD) -j $(JOBS)

sanitize-run:
	@rm -rf $(SANITIZER_LOGS) && mkdir -p $(SANITIZER_LOGS) && chmod 1777 $(SANITIZER_LOGS)
	@status=0; cd $(ASAN_BUILD) && SLUICE_SANITIZER=address,undefined \
	  ASAN_OPTIONS=detect_leaks=1:log_path=$(SANITIZER_LOGS)/asan \
	  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  ctest --output-on-failure -j $(TEST_JOBS) || status=1; \
	for f in $(SANITIZER_LOGS)/*; do [ -e "$$f" ] || continue; echo "=== $$f"; cat "$$f"; status=1; done; \
	[ $$status -eq 0 ] || echo "sanitize: failed (test failures or sanitizer reports above)"; exit $$status

# Each libFuzzer target for FUZZ_SECONDS on a copy of its seed corpus (fuzz/run.sh).
fuzz: deps
	@$(MAKE) --no-print-directory fuzz-run

fuzz-build: deps
	@fuzz/run.sh --build-only

fuzz-run:
	fuzz/run.sh $(FUZZ_SECONDS)

e2e: build
	cd $(BUILD) && ctest --output-on-failure -j $(TEST_JOBS) -L e2e

# The scenario of the README, narrated and self-checking (src/cli/demo.cc): exit 0 only if every step passed.
demo: build
	@$(BUILD)/sluice demo

# The Debian package of the release build (docs/production.md): $(BUILD)/sluice_<version>-1_<arch>.deb,
# made by CPack (the CPack section of CMakeLists.txt); lintian then checks it when it is installed.
deb: build
	@cmake --build $(BUILD) --target package_inputs
	@rm -f $(BUILD)/sluice_*.deb && cd $(BUILD) && cpack -G DEB
	@if command -v lintian >/dev/null; then lintian --fail-on error $(BUILD)/sluice_*.deb; fi

# clang-tidy with .clang-tidy over src/ (scripts/tidy): minutes, so not part of `make test`.
tidy: build
	@scripts/tidy

clean:
	rm -rf $(BUILD) $(BUILD).configure.log $(ASAN_BUILD) $(ASAN_BUILD).configure.log $(BACKGROUND_LOG) build-fuzz $(FUZZ_LOG)
