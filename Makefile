# The two commands of the README's quick start, and the steps they are made of.
BUILD ?= build
JOBS ?= $(shell nproc)

ASAN_BUILD ?= build-asan
FUZZ_SECONDS ?= 20
# AddressSanitizer and leak reports of every instrumented process (unit tests, and the sluice
# processes the e2e scripts start, whose stderr they may keep to themselves) land here; any file
# fails the run. UndefinedBehaviorSanitizer ignores log_path when linked with ASan (g++ 12): its
# reports go to the process's stderr, and halt_on_error makes the process fail.
SANITIZER_LOGS = $(CURDIR)/$(ASAN_BUILD)/sanitizer-logs

.PHONY: all deps build test unit e2e demo clean sanitize fuzz

all: build

deps:
	@scripts/install-deps

# Configure output is kept quiet; it is printed when configuring fails.
build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >$(BUILD).configure.log 2>&1 || { cat $(BUILD).configure.log; exit 1; }
	@cmake --build $(BUILD) -j $(JOBS)

# The whole suite (unit, loadgen, e2e). `make sanitize` (the same suite under ASan+UBSan) and
# `make fuzz` (the libFuzzer targets) run on their own until their time within `make test` is
# measured on the 2-core machine (issue 6).
test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# The whole ctest suite (unit, e2e, loadgen) against a Debug build with AddressSanitizer (leaks
# included) and UndefinedBehaviorSanitizer; the e2e scripts get this tree's sluice as SLUICE_BIN.
sanitize: deps
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug \
	  -DCMAKE_CXX_FLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -O1" \
	  >$(ASAN_BUILD).configure.log 2>&1 || { cat $(ASAN_BUILD).configure.log; exit 1; }
	@cmake --build $(ASAN_BUILD) -j $(JOBS)
	@rm -rf $(SANITIZER_LOGS) && mkdir -p $(SANITIZER_LOGS)
	@status=0; cd $(ASAN_BUILD) && \
	  ASAN_OPTIONS=detect_leaks=1:log_path=$(SANITIZER_LOGS)/asan \
	  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  ctest --output-on-failure -j $(JOBS) || status=1; \
	for f in $(SANITIZER_LOGS)/*; do [ -e "$$f" ] || continue; echo "=== $$f"; cat "$$f"; status=1; done; \
	[ $$status -eq 0 ] || echo "sanitize: failed (test failures or sanitizer reports above)"; exit $$status

# Each libFuzzer target for FUZZ_SECONDS on a copy of its seed corpus (fuzz/run.sh).
fuzz:
	fuzz/run.sh $(FUZZ_SECONDS)

unit: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -LE e2e

e2e: build
	cd $(BUILD) && ctest --output-on-failure -L e2e

# The scenario of the README, narrated and self-checking (src/cli/demo.cc): exit 0 only if every step passed.
demo: build
	@$(BUILD)/sluice demo

clean:
	rm -rf $(BUILD) $(BUILD).configure.log $(ASAN_BUILD) $(ASAN_BUILD).configure.log build-fuzz
