# Fresh machine: `make demo` sets everything up and renders a few scenes; `make test` runs the tests.
# `make bench` prints the measured figures; `make soak` renders 20,000 scenes and checks that the
# workers' memory stays flat (15-30 minutes on 2 cores, so not part of `make bench`).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
GL_PACKAGES := libegl1 libegl-mesa0 libgl1-mesa-dri

.PHONY: demo test bench soak install gl-deps clean

demo: install
	$(BIN)/clevrlite render --count 8 --out out/demo --overwrite
	@echo "images in out/demo/images, masks in out/demo/masks, scene JSON in out/demo/scenes"

test: install
	$(BIN)/python -m pytest -q --durations=10

bench: install
	$(BIN)/python benchmarks/bench_render.py
	$(BIN)/python benchmarks/bench_solver.py
	$(BIN)/python benchmarks/bench_rewards.py
	$(BIN)/python benchmarks/bench_startup.py
	$(BIN)/python benchmarks/legibility.py
	$(BIN)/python benchmarks/bench_report.py

soak: install
	$(BIN)/python benchmarks/bench_soak.py

install: gl-deps $(BIN)/.installed

$(BIN)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@

# Mesa's EGL (llvmpipe on CPU machines); installed with apt when missing and we are root.
gl-deps:
	@if ! ldconfig -p | grep -q 'libEGL_mesa.so.0'; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(GL_PACKAGES); \
	  else \
	    echo "Mesa EGL is missing: sudo apt-get install $(GL_PACKAGES)"; exit 1; \
	  fi; \
	fi

clean:
	rm -rf $(VENV) out build *.egg-info
