# mmfer: the two commands are `make demo` and `make test`; both install what they need.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=
# test processes (pytest-xdist; files are not split across them): 2 fit the 2-core CI machine,
# 1 runs the suite in this process (e.g. for pdb)
TEST_WORKERS ?= 2

.PHONY: install test demo bench clean

install:
	bash tools/install.sh $(VENV)

test: install
	$(PY) -m pytest tests $(if $(filter 1,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist loadfile) $(PYTEST_ARGS)

demo: install
	bash tools/demo.sh $(DEMO_ARGS)

bench: install
	$(PY) benchmarks/run_all.py

clean:
	rm -rf work_dirs data/demo data/ssl_study
