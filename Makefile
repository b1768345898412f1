# The two commands of the README: `make demo` and `make test`. Each does its own set-up
# (Debian packages, a virtual environment in .venv, the compiled core) on first use.
# `make test-fast` runs the unit tier only; `make test-installed` runs a tier (the unit one
# unless TIERS says otherwise) against a non-editable install, as a user installs it.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
APT_PACKAGES := g++ cmake libzmq3-dev mono-devel g++-mingw-w64-x86-64-posix binutils-mingw-w64-x86-64 clang libclang-rt-14-dev chromium chromium-driver
# Sierra Chart's real ACSIL headers, never copied into the project: the study's tests build
# against them when found (here: ../shared, as in CI), else they are skipped saying how.
TICKBRIDGE_ACSIL_HEADERS ?= $(wildcard $(abspath ../shared/sierrachart-acsil-2784))
export TICKBRIDGE_ACSIL_HEADERS

.PHONY: demo test test-fast test-installed setup apt lint fuzz bench soak clean

demo: setup
	$(VENV)/bin/tickbridge demo

test: setup
	$(VENV)/bin/ruff check python tests examples tickbridge_dev
	$(PY) -m pytest -q

# The unit tier (tests/conftest.py): in-process tests, no compilers, no child processes.
test-fast: setup
	$(PY) -m pytest -q -m unit

# `pip install .` into its own venv, then the tests from this checkout against it: the
# checkout's python/ is not on sys.path, so a test that needs the source tree fails here.
INSTALLED := build/installed-venv
TIERS ?= unit
test-installed: | apt
	$(PYTHON) -m venv $(INSTALLED)
	$(INSTALLED)/bin/python -m pip install -q --upgrade pip
	$(INSTALLED)/bin/python -m pip install -q ".[test,research]"
	$(INSTALLED)/bin/python -m pytest -q -m "$(TIERS)"

setup: $(VENV)/.installed

# Debian packages for the native toolchains the tests use (C++, Mono, MinGW, clang).
apt:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages: $$missing"; \
	  $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get install -y -qq $$missing; \
	fi

$(VENV)/.installed: pyproject.toml CMakeLists.txt | apt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "scikit-build-core>=0.10" "pybind11>=2.12"
	$(PY) -m pip install -q --no-build-isolation -C build-dir=build/editable -e ".[test,research,bench]"
	touch $@

bench: setup
	$(VENV)/bin/tickbridge bench

clean:
	rm -rf build $(VENV)

# The seeded fault-injection campaign, 10,000 sessions (docs/simulation-testing.md).
# Failures are listed unshrunk with their replay command (a replay shrinks).
# SOAK_FAULTS: the fault kinds (default: every kind).
SOAK_SEEDS ?= 10000
SOAK_FAULTS ?= all
soak: setup
	$(PY) -m tickbridge simulate --seeds $(SOAK_SEEDS) --faults $(SOAK_FAULTS) --jobs 2 --no-shrink
