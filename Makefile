# Makefile: the README's two commands, `make run` (the main job) and `make test` (build and
# run every test), plus install and clean. Each first installs missing Debian packages
# (scripts/install-deps.sh: as root with apt; otherwise it prints the command and stops).
#
#   make run                 build in build/ (Release) and run the main job
#   make test                build in build-test/ (with the test-only backend) and run ctest
#   make install PREFIX=DIR  install libember, ember.h, the ember program, CMake and
#                            pkg-config files under DIR (default /usr/local)
#   make clean               remove build/ and build-test/
#
# Variables: JOBS (parallel jobs, default 2), WERROR=ON (warnings are errors; .ci/run sets
# it), CMAKE_FLAGS (more -D options, e.g. -DEMBER_CUDA=OFF), PREFIX.

JOBS ?= 2
WERROR ?= OFF
PREFIX ?= /usr/local
CMAKE_FLAGS ?=
BUILD := build
TEST_BUILD := build-test

# make run and make install use a build without the tests and without the test-only
# perturbed backend, so nothing test-only is ever installed; make test builds both.
CONFIGURE = cmake -S . -G Ninja -DCMAKE_BUILD_TYPE=Release -DEMBER_WERROR=$(WERROR) $(CMAKE_FLAGS)

.PHONY: all deps build build-test run test install clean

all: build

deps:
	@scripts/install-deps.sh $(DEPS_FLAGS)

# make run also needs apt to know weka (scripts/fetch-data.sh downloads its .deb); a
# target-specific variable reaches the prerequisites too.
run: DEPS_FLAGS = --data

build: deps
	$(CONFIGURE) -B $(BUILD) -DEMBER_BUILD_TESTS=OFF -DEMBER_TEST_BACKEND=OFF
	cmake --build $(BUILD) -j $(JOBS)

build-test: deps
	$(CONFIGURE) -B $(TEST_BUILD) -DEMBER_BUILD_TESTS=ON -DEMBER_TEST_BACKEND=ON
	cmake --build $(TEST_BUILD) -j $(JOBS)

run: build
	@scripts/run-main.sh $(BUILD)

# After ctest, the conformance suite's summary: per backend, what ran and what was skipped
# and why (written by the conformance_summary test; removed first so it is never stale).
SUMMARY := $(TEST_BUILD)/tests/conformance/conformance-summary.txt
test: build-test
	@rm -f $(SUMMARY)
	@status=0; ctest --test-dir $(TEST_BUILD) --output-on-failure -j $(JOBS) || status=$$?; \
	if [ -f $(SUMMARY) ]; then echo; cat $(SUMMARY); fi; exit $$status

install: build
	cmake --install $(BUILD) --prefix $(PREFIX)

clean:
	rm -rf $(BUILD) $(TEST_BUILD)
