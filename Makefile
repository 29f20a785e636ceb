# mmfer: the two commands are `make demo` and `make test`; both install what they need.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: install test demo bench clean

install:
	bash tools/install.sh $(VENV)

test: install
	$(PY) -m pytest tests $(PYTEST_ARGS)

demo: install
	bash tools/demo.sh $(DEMO_ARGS)

bench: install
	$(PY) benchmarks/run_all.py

clean:
	rm -rf work_dirs data/demo data/ssl_study
