# The two commands: `make book` and `make test`. Both set up .venv first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export PYTHONHASHSEED := 0
# Idle OpenMP threads sleep instead of spinning: on a busy machine spinning threads made
# training steps 10-30x slower.
export OMP_WAIT_POLICY := PASSIVE
unexport MPLBACKEND

.PHONY: book test lint unit nbval build-check browser lab clean setup notebooks

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "minirnn needs Python 3.11 or newer, found " + sys.version.split()[0]'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 > /dev/null
	touch $(STAMP)

# Both editions: English into _build/html, Korean into _build/html/ko (tools/korean_book.py).
book: $(STAMP)
	$(BIN)/jupyter-book build . --all
	$(BIN)/python tools/korean_book.py build
	@echo "Built: $(CURDIR)/_build/html/index.html and $(CURDIR)/_build/html/ko/index.html"

lint: $(STAMP)
	$(BIN)/ruff check .

unit: $(STAMP)
	$(BIN)/python -m pytest tests -q

# The notebooks that load shipped results run from the built wheel in a fresh environment, in
# an empty folder (tests/test_notebooks_anywhere.py, part of `unit`); nbval runs the others here,
# so every notebook executes once.
ANYWHERE_NOTEBOOKS := 02_five_architectures 09_image_captioning 10_vanishing_exploding 11_gradient_clipping 12_lstm 14_gru 15_frontiers 16_after_recurrence A_appendix_long_range

nbval: $(STAMP)
	$(BIN)/python -m pytest --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg notebooks $(ANYWHERE_NOTEBOOKS:%=--ignore=notebooks/%.ipynb) -q -p no:cacheprovider

build-check: $(STAMP)
	$(BIN)/jupyter-book build . --all -W -n --keep-going
	$(BIN)/python tools/korean_book.py build --strict
	$(BIN)/python tests/browser/check_no_remote.py _build/html
	@echo "Built: $(CURDIR)/_build/html/index.html and $(CURDIR)/_build/html/ko/index.html"

browser: $(STAMP)
	$(BIN)/python tests/browser/check_pages.py _build/html
	$(BIN)/python tests/browser/check_pages.py _build/html --edition ko

test: lint unit nbval build-check browser

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks

clean:
	rm -rf _build .pytest_cache .ruff_cache .hypothesis
	find . -name __pycache__ -not -path './$(VENV)/*' -prune -exec rm -rf {} +

notebooks: $(STAMP)
	$(BIN)/python tools/execute_notebooks.py
