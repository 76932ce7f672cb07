# The two commands of the README. Both set the environment up first
# (idempotent: seconds when nothing changed, see tools/setup_env.sh).
PY := .venv/bin/python

.PHONY: setup demo test
setup:
	bash tools/setup_env.sh

demo: setup
	$(PY) tools/benchmark.py configs/suites/demo.py

test: setup
	$(PY) -m pytest -q tests
