# The two commands of the README's quick start, and the steps they are made of.
BUILD ?= build
JOBS ?= $(shell nproc)

.PHONY: all deps build test unit e2e demo clean

all: build

deps:
	@scripts/install-deps

# Configure output is kept quiet; it is printed when configuring fails.
build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >$(BUILD).configure.log 2>&1 || { cat $(BUILD).configure.log; exit 1; }
	@cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

unit: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -LE e2e

e2e: build
	cd $(BUILD) && ctest --output-on-failure -L e2e

# The scenario of the README, narrated and self-checking (src/cli/demo.cc): exit 0 only if every step passed.
demo: build
	@$(BUILD)/sluice demo

clean:
	rm -rf $(BUILD) $(BUILD).configure.log
