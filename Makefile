# Crescent: set-up, run, test and benchmark on a fresh Debian/Ubuntu machine.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.crescent-installed
GUI_DEBS := xvfb xauth libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxkbcommon-x11-0 libegl1 libgl1 libglx-mesa0
XVFB := xvfb-run -a -s "-screen 0 1920x1200x24"
OUT ?= out

.PHONY: run test bench lint system-deps gui-deps models clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

gui-deps:
	scripts/install-system-deps.sh $(GUI_DEBS)

system-deps:
	scripts/install-system-deps.sh

# The main job on the demo study; headless (screenshot to a file) when there is no display.
run: gui-deps $(STAMP)
	@mkdir -p $(OUT)
	@if [ -n "$$DISPLAY" ]; then \
		$(VENV)/bin/crescent demo -o $(OUT)/demo; \
	else \
		$(XVFB) $(VENV)/bin/crescent demo -o $(OUT)/demo --screenshot $(OUT)/workstation.png >/dev/null && \
		echo "no display: ran the demo headless; screenshot of the workstation: $(OUT)/workstation.png"; \
	fi

lint: $(STAMP)
	$(VENV)/bin/ruff check app recon cad tests
	$(VENV)/bin/lint-imports

test: system-deps $(STAMP) lint
	$(XVFB) $(VENV)/bin/pytest -p no:cacheprovider -q

bench: gui-deps $(STAMP)
	@for f in tests/benchmarks/bench_*.py; do echo "== $$f"; $(XVFB) $(PY) $$f || exit 1; done

# Rebuild the shipped CAD models from synthetic data (needs the train extra: torch CPU, onnx; ~1 h on 2 cores)
models: $(STAMP)
	$(PY) -m pip install -q -e '.[test,train]'
	$(PY) -m cad.training --out resources/models

clean:
	rm -rf $(VENV) build *.egg-info $(OUT)
