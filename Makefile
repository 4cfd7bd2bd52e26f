# Otedama: a thin convenience layer over meson. Everything real lives in meson.build.
#
#   make            build (installs missing Debian packages first)
#   make run        build, then run the host with etc/otedama.yaml
#   make test       build, then run the whole test suite; the last line is `N passed, N failed`
#   make asan       the same tests with AddressSanitizer + UBSan, in build-asan/
#   make install    meson install (prefix /usr/local unless MESON_OPTS sets --prefix)
#   make deps       install missing packages only (scripts/install-deps.sh)
#   make clean      remove $(BUILD) and $(ASAN_BUILD)
#
# Variables: BUILD (build dir), JOBS (parallel jobs), MESON_OPTS (extra `meson setup` arguments, used
# only when the build dir is created), TEST_OPTS (extra `meson test` arguments), RUN_ARGS (arguments
# of `make run`). CI=true (or any non-empty value but false/0) configures with -Dwerror=true.

BUILD      ?= build
ASAN_BUILD ?= build-asan
JOBS       ?= 2
MESON      ?= meson
PYTHON     ?= python3
MESON_OPTS ?=
TEST_OPTS  ?=
CONFIG     ?= etc/otedama.yaml
RUN_ARGS   ?= serve --config $(CONFIG)

# ./build/core/otedama-host, or the absolute path when BUILD is absolute.
dir_path = $(if $(filter /%,$(1)),$(1),./$(1))
HOST_BIN  = $(call dir_path,$(BUILD))/core/otedama-host

ifneq ($(filter-out false 0,$(strip $(CI))),)
  SETUP_OPTS := -Dwerror=true
endif

.DEFAULT_GOAL := build
# Steps depend on each other's side effects (packages, build.ninja): never run them side by side.
.NOTPARALLEL:
.PHONY: all deps configure build run test asan install clean

all: build

deps:
	@bash scripts/install-deps.sh

configure: deps
	@if [ ! -f "$(BUILD)/build.ninja" ]; then \
	  echo "$(MESON) setup $(BUILD) $(SETUP_OPTS) $(MESON_OPTS)"; \
	  $(MESON) setup "$(BUILD)" $(SETUP_OPTS) $(MESON_OPTS); \
	fi

build: deps configure
	$(MESON) compile -C "$(BUILD)" -j $(JOBS)

run: build
	$(HOST_BIN) $(RUN_ARGS)

# The summary is printed even when the build or a test failed, so that the output always ends with
# `N passed, N failed`; the target fails when the build, meson test or the summary says so.
test:
	@rm -f "$(BUILD)/meson-logs/testlog.json"; \
	build_rc=0; \
	$(MAKE) --no-print-directory build BUILD="$(BUILD)" || build_rc=$$?; \
	test_rc=0; \
	if [ $$build_rc -eq 0 ]; then \
	  echo "$(MESON) test -C $(BUILD) --num-processes $(JOBS) --print-errorlogs $(TEST_OPTS)"; \
	  $(MESON) test -C "$(BUILD)" --num-processes $(JOBS) --print-errorlogs $(TEST_OPTS) || test_rc=$$?; \
	  summary_opts="--meson-status $$test_rc"; \
	else \
	  summary_opts="--build-failed"; \
	fi; \
	summary=$$($(PYTHON) scripts/test-summary.py "$(BUILD)" $$summary_opts) || summary="0 passed, 1 failed"; \
	printf '%s\n' "$$summary"; \
	if [ $$build_rc -ne 0 ] || [ $$test_rc -ne 0 ]; then exit 1; fi; \
	printf '%s\n' "$$summary" | tail -n 1 | grep -Eq '^[0-9]+ passed, 0 failed(, [0-9]+ skipped)?$$'

# meson 1.0 sets no sanitizer options for tests: any report must fail the test, with a stack trace.
asan:
	@ASAN_OPTIONS="$${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1}" \
	UBSAN_OPTIONS="$${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}" \
	$(MAKE) --no-print-directory test BUILD="$(ASAN_BUILD)" \
	  MESON_OPTS="-Dsanitizers=true $(MESON_OPTS)" \
	  TEST_OPTS="--timeout-multiplier 3 $(TEST_OPTS)"

install: build
	$(MESON) install -C "$(BUILD)"

clean:
	@for d in "$(BUILD)" "$(ASAN_BUILD)"; do \
	  case "$$d" in ""|/|.|..|./|../) echo "make clean: refusing to remove '$$d'" >&2; exit 1;; esac; \
	done
	rm -rf -- $(call dir_path,$(BUILD)) $(call dir_path,$(ASAN_BUILD))
