# Resilient Agents Lab. Two commands do all the set-up on a fresh machine:
#   make lab    create .venv, install, open JupyterLab on notebooks/ (localhost, with token)
#   make test   create .venv if needed, install, run every test (unit, theory, nbval)
# Needs Python 3.10 or newer as `python3` (or say which: make test PYTHON=python3.12).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PIP    := $(BIN)/python -m pip

.PHONY: lab app test test-browser lint bench clean notebooks help student site

help:
	@echo "make lab    - set up .venv and open JupyterLab on the notebooks"
	@echo "make app    - the explorers as a dashboard for a projector (Voila, no code);"
	@echo "              one explorer: make app APP=app/04_retry_storm.ipynb"
	@echo "make test   - set up .venv and run every test (unit, theory, notebooks)"
	@echo "make test-browser - JupyterLab in headless Chromium: run every notebook, move a slider;"
	@echo "              open every page of the website (make site)"
	@echo "make site   - the notebooks (stored outputs), README and docs as a static website"
	@echo "              in site/_build/html (Sphinx + myst-nb; no kernel, no network)"
	@echo "make lint   - ruff"
	@echo "make notebooks - re-execute every notebook in place (after changing simlib), with"
	@echo "              a PNG of each chart for GitHub; one: make notebooks NB=notebooks/04_*.ipynb"
	@echo "make bench  - benchmarks with budgets, tables and bench/results/*.json;"
	@echo "              one: make bench BENCH=sweeps (engine notebooks sweeps scale soak)"
	@echo "make student - student copies in student/: answers removed, outputs cleared"
	@echo "make clean  - remove .venv and caches"

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else \
	  "Python 3.10 or newer is needed; found " + sys.version.split()[0] + \
	  ". Install one and run: make $(MAKECMDGOALS) PYTHON=python3.12")'
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -c constraints.txt -e ".[dev]"
	@touch $(STAMP)

lab: $(STAMP)
	$(BIN)/jupyter lab --ServerApp.ip=127.0.0.1 --ServerApp.root_dir=notebooks \
	  $$( [ "$$(id -u)" = 0 ] && echo --allow-root )

# The explorers of app/ (one page each) as a dashboard: Voila runs each page in its own kernel
# and shows the markdown and the widgets, never the code. On 127.0.0.1 only, and without a
# token: a Voila page's kernel takes widget messages, not code. It opens the browser on the list
# of pages (or on APP, one page); tests/browser/test_app.py starts it with these options.
APP ?= app
app: $(STAMP)
	$(BIN)/voila --Voila.ip=127.0.0.1 --classic-tree --show_tracebacks=True $(APP)

lint: $(STAMP)
	$(BIN)/ruff check .

test: $(STAMP) lint
	CHROMIUM= $(BIN)/python -m pytest -n 2 --dist loadfile tests \
	  --nbval --nbval-current-env notebooks

# Real-browser tests: JupyterLab (and Voila) on localhost, driven in Debian's headless Chromium.
# Playwright must not download a browser (the network reaches PyPI, Debian and npm only).
CHROMIUM ?= /usr/bin/chromium
test-browser: $(STAMP)
	@[ -x "$(CHROMIUM)" ] || { echo "installing Debian chromium for the browser tests"; \
	  $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get install -y chromium || { \
	  $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get update && \
	  $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get install -y chromium; }; }
	CHROMIUM=$(CHROMIUM) $(BIN)/python -m pytest tests/browser -v

# The notebooks as they are stored (never executed here), the README and docs/ as a static
# website: Sphinx with myst-nb, configured in site/conf.py, reading the files in place (the
# source folder is the repository root). Warnings are errors, so a broken link or cross-reference
# fails the build; tests/test_site_build.py runs the same build and tests/browser/test_site.py
# opens every page in Chromium.
SITE := site/_build/html
site: $(STAMP)
	$(BIN)/sphinx-build -W --keep-going -b html -c site . $(SITE)
	@echo "The site is in $(SITE). Open $(SITE)/index.html in a browser, or serve it:"
	@echo "  $(BIN)/python -m http.server -d $(SITE) -b 127.0.0.1 8000   # http://127.0.0.1:8000/"

# Each benchmark prints its tables (PASS/MISS against its budget) and writes
# bench/results/<name>.json; all run even if one fails, and make fails at the end if any did.
BENCH ?= engine notebooks sweeps scale soak
bench: $(STAMP)
	@status=0; for b in $(BENCH); do echo "== bench/$$b.py"; \
	  $(BIN)/python bench/$$b.py || status=1; done; exit $$status

# Re-execute the notebooks in place (NB: which ones, default all), storing beside each chart a PNG
# of it for readers without a kernel (GitHub, nbviewer; see simlib/static.py). The widget state
# stays out (5 MB a notebook). SIMLIB_STATIC_IMAGES=1 turns the pictures on: kaleido draws them in
# Chromium, BROWSER_PATH if set, else $(CHROMIUM) if present, else a Chrome it finds on PATH.
NB ?= notebooks/*.ipynb
BROWSER_PATH ?= $(if $(wildcard $(CHROMIUM)),$(CHROMIUM))
notebooks: $(STAMP)
	env SIMLIB_STATIC_IMAGES=1 $(if $(BROWSER_PATH),BROWSER_PATH=$(BROWSER_PATH)) \
	  $(BIN)/jupyter nbconvert --to notebook --execute --inplace \
	  --ExecutePreprocessor.timeout=120 --ExecutePreprocessor.store_widget_state=False \
	  $(NB)

# Student copies for a workshop (tools/student_copy.py: the standard library only, so it
# works before .venv exists). student/ is not committed.
student:
	$(PYTHON) tools/student_copy.py notebooks student

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis site/_build
