# SPDX-License-Identifier: MIT
# vigie - top-level entry points. Everything goes through CMake/CTest; this file only sequences.
#   make demo    install packages, build, run the censorship lab and print verdict tables
#   make check   install packages, build (warnings as errors), run every test: unit, fuzz corpora,
#                sanitizer build, short fuzzing, lab scenarios (as root)
#   make fuzz    fuzz every target for FUZZ_TIME seconds each (default 600)
#   make bench   build, then benchmark vigie probe against curl and Python asyncio, vigie
#                serve against the sqlite3 and psql tools and a Python script, and vigie
#                analyze against Python's json.loads and jq, with the targets table of issue 18
#                (bench/README.md; BENCH_QUICK=1 for a fast run), then
#                README's figures from bench/results/LATEST.md (scripts/bench-readme); not part
#                of check
SHELL := /bin/bash
JOBS ?= $(shell nproc)
BUILD ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
FUZZ_TIME ?= 600
SMOKE_FUZZ_TIME ?= 30
CMAKE_FLAGS ?=

.PHONY: all deps build asan fuzz-build check demo fuzz bench format format-check lint clean lab-down

all: build

deps:
	@scripts/install-deps

build: deps
	cmake -S . -B $(BUILD) -DVG_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DVG_SANITIZER_BUILD_DIR=$(CURDIR)/$(ASAN_BUILD) -DVG_FUZZ_BUILD_DIR=$(CURDIR)/$(FUZZ_BUILD) \
	  -DVG_SMOKE_FUZZ_TIME=$(SMOKE_FUZZ_TIME) $(CMAKE_FLAGS) >/dev/null
	cmake --build $(BUILD) -j$(JOBS)

asan: deps
	CC=clang cmake -S . -B $(ASAN_BUILD) -DVG_WERROR=ON -DVG_SANITIZE=ON -DVG_LAB=OFF \
	  -DCMAKE_BUILD_TYPE=Debug >/dev/null
	cmake --build $(ASAN_BUILD) -j$(JOBS)

fuzz-build: deps
	CC=clang cmake -S . -B $(FUZZ_BUILD) -DVG_FUZZ=ON -DVG_SANITIZE=ON -DVG_LAB=OFF \
	  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build $(FUZZ_BUILD) -j$(JOBS)

# One CTest run, one summary: the sanitizer and fuzz builds are driven from the main build's
# tests (labels sanitizer and fuzz-smoke), next to unit, fuzz-corpus and lab tests.
check: build asan fuzz-build
	cd $(BUILD) && ctest --output-on-failure -j1

demo: build
	scripts/demo $(BUILD)/vigie

fuzz: fuzz-build
	scripts/fuzz $(FUZZ_BUILD) $(FUZZ_TIME)

bench: build
	bench/run --vigie $(BUILD)/vigie
	scripts/bench-readme --write

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

format-check:
	clang-format --dry-run -Werror $$(git ls-files '*.c' '*.h')

lint: format-check
	scripts/checksrc

lab-down:
	lab/vigie-lab down

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
