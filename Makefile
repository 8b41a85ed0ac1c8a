# Every workflow of the course. `make help` lists the targets.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(abspath $(VENV))/bin
STAMP  := $(VENV)/.installed
# nbgrader starts `alembic` to create its gradebook: the environment's bin must be on PATH.
export PATH := $(BIN):$(PATH)
export PYTHONDONTWRITEBYTECODE := 1

SUBMISSIONS ?= build/examples/submissions
OUT         ?= grades.csv
FEEDBACK    ?= feedback
SIMILARITY  ?= similarity

.DEFAULT_GOAL := help

.PHONY: help env data release check-release student-bundle test-e2e examples demo autograde export feedback report similarity test test-fast bench bench-quality freeze clean

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

env: $(STAMP) ## create the virtual environment .venv with the exact pins (once)

$(STAMP): requirements.txt constraints.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt -c constraints.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $@

data: $(STAMP) ## get the full Fashion-MNIST (Debian package when root, else download; see data/fashion_mnist/README.md)
	@if [ ! -d /usr/share/datasets/fashion-mnist ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get install -y dataset-fashion-mnist || echo "apt-get failed: downloading instead"; fi
	$(BIN)/python data/fashion_mnist/prepare.py --full

release: $(STAMP) ## regenerate the student notebooks in notebooks/ from solutions/
	$(BIN)/python -m autograder release

check-release: $(STAMP) ## fail when notebooks/ is stale, leaks solutions or hidden tests, or its given code answers an exercise
	$(BIN)/python -m autograder check-release
	$(BIN)/python -m autograder.giveaways

student-bundle: $(STAMP) ## what students get, in build/student-bundle/deepcourse-student{,.zip}: the sessions released by now [SESSION=04_gpt: that one]
	$(BIN)/python -m autograder student-bundle --out build/student-bundle $(if $(SESSION),--session $(SESSION))

examples: $(STAMP) ## write the example submissions under build/examples/submissions
	$(BIN)/python -m autograder examples --out build/examples/submissions

demo: $(STAMP) release examples ## release, then grade the example submissions and print the 0-4 table (its gradebook, feedback and report in build/examples)
	$(BIN)/python -m autograder grade --submissions build/examples/submissions --out build/examples/grades.csv --feedback build/examples/feedback --gradebook build/examples
	$(BIN)/python -m autograder report --gradebook build/examples --out build/examples/report
	@echo "demo: gradebook build/examples/gradebook.db, feedback build/examples/feedback/, report build/examples/report/report.html"
	@echo "      read it again with: make export GRADEBOOK=build/examples (also feedback, report)"

autograde: $(STAMP) ## grade SUBMISSIONS=DIR (DIR/student/session/*.ipynb) into OUT=grades.csv, the gradebook and FEEDBACK=feedback/ [WORKERS=n SCHEDULER=tcp://... | STUDENT=x SESSION=y: that row only | ALLOW_UNISOLATED=1]
	$(BIN)/python -m autograder grade --submissions $(SUBMISSIONS) --out $(OUT) --feedback $(FEEDBACK) \
		$(if $(WORKERS),--workers $(WORKERS)) $(if $(SCHEDULER),--scheduler $(SCHEDULER)) \
		$(if $(STUDENT),--student $(STUDENT)) $(if $(SESSION),--session $(SESSION)) \
		$(if $(ALLOW_UNISOLATED),--allow-unisolated)

export: $(STAMP) ## 0-4 scores from nbgrader's gradebook (manual regrades included) into OUT and its -wide.csv [GRADEBOOK=dir]
	$(BIN)/python -m autograder export --out $(OUT) $(if $(GRADEBOOK),--gradebook $(GRADEBOOK))

feedback: $(STAMP) ## one HTML feedback page per submission into FEEDBACK=feedback/, from the gradebook (manual regrades included) [GRADEBOOK=dir]
	$(BIN)/python -m autograder feedback --out $(FEEDBACK) $(if $(GRADEBOOK),--gradebook $(GRADEBOOK))

report: $(STAMP) ## the class report from the gradebook: build/report/report.html and report.json [GRADEBOOK=dir]
	$(BIN)/python -m autograder report --out build/report $(if $(GRADEBOOK),--gradebook $(GRADEBOOK))

similarity: $(STAMP) ## per session, an HTML report and a CSV of look-alike answers in SUBMISSIONS=DIR into SIMILARITY=similarity/
	$(BIN)/python -m autograder similarity --submissions $(SUBMISSIONS) --out $(SIMILARITY)

test: $(STAMP) ## the whole test suite (executes every solution notebook)
	$(BIN)/python -m pytest

test-e2e: $(STAMP) ## JupyterLab in headless Chromium: a released notebook runs and plots (screenshot in build/e2e/)
	$(BIN)/python -m pytest -m e2e -rs

test-fast: $(STAMP) ## the tests that do not execute notebooks
	$(BIN)/python -m pytest -m "not slow"

bench: $(STAMP) ## grading speed, hostile corpus and similarity into bench/results.json (about 20 min on 2 cores)
	$(BIN)/python bench/bench.py all

bench-quality: $(STAMP) ## every solution notebook's full in-class run, its numbers into bench/results.json (long)
	$(BIN)/python bench/bench.py quality

freeze: $(STAMP) ## rewrite constraints.txt from the current environment
	{ sed -n '1,3p' constraints.txt; $(BIN)/python -m pip freeze --exclude-editable | grep -v '^torch=='; } > constraints.txt.new
	mv constraints.txt.new constraints.txt

clean: ## remove generated files (keeps .venv)
	rm -rf build gradebook.db .pytest_cache
