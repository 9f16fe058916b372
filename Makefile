# Newcomer entry points. Each target builds what it needs in .venv first.
PYTHON ?= python3
VENV ?= .venv
STAMP := $(VENV)/.installed
DOCS_STAMP := $(VENV)/.installed-docs

.PHONY: demo test unit functional lint genconfig genpolicy venv clean bench-latency \
	bench-concurrency bench-engine-cost bench-api bench-scaleout docs releasenotes

venv: $(STAMP)

$(STAMP): requirements.txt test-requirements.txt setup.cfg
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements.txt -r test-requirements.txt
	$(VENV)/bin/pip install --quiet --no-deps -e .
	touch $(STAMP)

# Sphinx and reno, only for the targets that build documentation.
$(DOCS_STAMP): $(STAMP) doc/requirements.txt
	$(VENV)/bin/pip install --quiet -r doc/requirements.txt
	touch $(DOCS_STAMP)

## demo: create and delete an instance end to end on embedded defaults
demo: $(STAMP)
	$(VENV)/bin/mogan-valence demo

## test: every test, with the database and broker servers this machine has
test: $(STAMP)
	$(VENV)/bin/python tools/with_services.py -- $(VENV)/bin/python -m pytest tests $(PYTEST_ARGS)

unit: $(STAMP)
	$(VENV)/bin/python -m pytest tests/unit $(PYTEST_ARGS)

## bench-*: measured runs that print figures (need rabbitmq-server installed)
bench-latency: $(STAMP)
	$(VENV)/bin/python tools/with_services.py --services rabbitmq -- $(VENV)/bin/python -m benchmarks.latency

bench-concurrency: $(STAMP)
	$(VENV)/bin/python tools/with_services.py --services rabbitmq -- $(VENV)/bin/python -m benchmarks.concurrency

bench-engine-cost: $(STAMP)
	$(VENV)/bin/python tools/with_services.py --services rabbitmq -- $(VENV)/bin/python -m benchmarks.engine_cost

bench-scaleout: $(STAMP)
	$(VENV)/bin/python tools/with_services.py --services rabbitmq -- $(VENV)/bin/python -m benchmarks.scaleout

bench-api: $(STAMP)
	$(VENV)/bin/python tools/with_services.py --services rabbitmq -- $(VENV)/bin/python -m benchmarks.api

## lint: ruff, then the project's own checks (tools/checks.py)
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/python tools/checks.py

## docs: the documentation in doc/build/html (warnings are errors)
docs: $(DOCS_STAMP)
	rm -rf doc/build
	$(VENV)/bin/sphinx-build -W --keep-going -b html doc/source doc/build/html

## releasenotes: reno lint, then the notes in releasenotes/build/html
releasenotes: $(DOCS_STAMP)
	$(VENV)/bin/reno lint
	rm -rf releasenotes/build
	$(VENV)/bin/sphinx-build -W --keep-going -b html releasenotes/source releasenotes/build/html

genconfig: $(STAMP)
	$(VENV)/bin/oslo-config-generator --config-file etc/mogan-valence/config-generator.conf

genpolicy: $(STAMP)
	$(VENV)/bin/oslopolicy-sample-generator --config-file etc/mogan-valence/policy-generator.conf

clean:
	rm -rf $(VENV) .test-services .pytest_cache doc/build releasenotes/build
