# The two commands of the README. Both set the environment up first
# (idempotent: seconds when nothing changed, see tools/setup_env.sh).
PY := .venv/bin/python

.PHONY: setup demo test
setup:
	bash tools/setup_env.sh

demo: setup
	$(PY) tools/run_suite.py configs/suites/demo.py

# One pytest worker per core, a test file per worker at a time (its
# module fixtures are built once); most tests wait on tool subprocesses.
test: setup
	$(PY) -m pytest -q -n auto --dist loadfile tests
