# Two entry points (see README): `make lab` and `make test`. Both create or update .venv first.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
# JupyterLab refuses to run as root without this flag.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)
NOTEBOOK ?= notebooks/01_gan_basics.ipynb

.PHONY: venv lab test test-package test-notebooks benchmarks clean

venv: $(STAMP)

# constraints.txt pins torch to the CPU build; pyproject.toml keeps a range Colab satisfies.
$(STAMP): pyproject.toml constraints.txt
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[notebook,test]"
	touch $(STAMP)

lab: $(STAMP)
	$(VENV)/bin/jupyter lab $(ROOT_FLAG) $(NOTEBOOK)

# The package's tests, then every notebook under nbval in quick mode, in one pytest run.
test: $(STAMP)
	RAGTEACH_QUICK=1 MPLBACKEND=Agg $(PY) -m pytest -q tests notebooks --nbval-lax -p no:cacheprovider

test-package: $(STAMP)
	MPLBACKEND=Agg $(PY) -m pytest -q tests

test-notebooks: $(STAMP)
	RAGTEACH_QUICK=1 MPLBACKEND=Agg $(PY) -m pytest -q notebooks --nbval-lax -p no:cacheprovider

benchmarks: $(STAMP)
	for f in benchmarks/*.py; do $(PY) $$f || exit 1; done

clean:
	rm -rf $(VENV) book/_build
