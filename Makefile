# The user's verbs. Every target depends on `setup`, which builds .venv once and again
# only when pyproject.toml changes.
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
PY := .venv/bin/python
STAMP := .venv/.installed
CONFIG ?= configs/quick.py
SOURCE ?=
LLM_URL ?=
SYNTH_GROUPS ?= 4000
DATA_DIR ?= data/sql
CKPT ?=
EVAL_DATA ?= $(wildcard ../shared/seed_corpus/dev_seed.jsonl) evalsets/hard_cases.jsonl

.PHONY: setup data train sample test lint bench eval ngram web lsp clean

setup: $(STAMP)

# pip's own lines say what it fetches; the ones about what is already there are left out
PIP_QUIET := { grep -v -e "is ignored" -e "^Requirement already satisfied" -e "^Using cached" || true; }

$(STAMP): pyproject.toml
	@echo "== setup: building .venv (the first time: a few minutes, mostly torch; again only when pyproject.toml changes)"
	@test -x $(PY) || { echo "== creating the virtualenv .venv"; python3 -m venv .venv; }
	@echo "== installing torch==2.13.0 (CPU build)"
	@# torch first and pinned: any other spec pulls gigabytes of CUDA wheels
	.venv/bin/pip install --disable-pip-version-check --progress-bar off torch==2.13.0 2>&1 | $(PIP_QUIET)
	@echo "== installing this project (editable) with its dev extra: test, data, web and editor dependencies"
	.venv/bin/pip install --disable-pip-version-check --progress-bar off -e '.[dev]' 2>&1 | $(PIP_QUIET)
	$(PY) -c "import torch, sentencepiece, sqlglot, safetensors"
	touch $(STAMP)
	@echo "== setup done: .venv is ready"

# Offline by default: the procedural generator, then prepare.py. SOURCE="a.jsonl.gz dir/" prepares
# other sources instead; LLM_URL=https://.../v1 runs the LLM pipeline first.
data: setup
ifneq ($(LLM_URL),)
	$(PY) -m datagen.llm --llm-url $(LLM_URL) --out data/llm
	$(PY) prepare.py data/llm/groups.jsonl.gz --out $(DATA_DIR)
else ifneq ($(SOURCE),)
	$(PY) prepare.py $(SOURCE) --out $(DATA_DIR)
else
	$(PY) -m datagen.synth -o data/synth/groups.jsonl.gz --groups $(SYNTH_GROUPS) --seed 0
	$(PY) prepare.py data/synth/groups.jsonl.gz --out $(DATA_DIR) --stmts-per-example 4
endif

train: setup
	$(PY) train.py $(CONFIG) --data_dir=$(DATA_DIR)

# the hybrid's suggestions, then the model's own (--ngram none): what the training contributed
SAMPLE_CKPT = $(if $(CKPT),--ckpt $(CKPT),$(if $(wildcard out/quick/best),--ckpt out/quick/best,))
sample: setup
	@echo "== $(or $(CKPT),$(if $(wildcard out/quick/best),out/quick/best,sqlcomplete/models/default)): the n-gram proposes, the model ranks"
	$(PY) sample.py $(SAMPLE_CKPT) --schema examples/schema.sql --prefix "SELECT name, email FROM "
	@echo "== the same model alone (--ngram none)"
	$(PY) sample.py $(SAMPLE_CKPT) --ngram none --schema examples/schema.sql --prefix "SELECT name, email FROM "

# the browser tests' node packages: installed when node is (npm writes this file; .ci/run's `npm ci` counts too)
WEB_DEPS := web/node_modules/.package-lock.json

test: setup $(if $(shell command -v npm),$(WEB_DEPS))
	$(PY) -m pytest -q tests

$(WEB_DEPS): web/package.json web/package-lock.json
	@echo "== installing the web demo's node packages (web/node_modules) for the browser tests"
	cd web && { npm ci --no-audit --no-fund || npm install --no-audit --no-fund; } && touch node_modules/.package-lock.json \
		|| echo "== npm could not install web/node_modules: the browser tests skip"

lint: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

bench: setup
	$(PY) bench/train_speed.py
	$(PY) bench/latency.py

# the README's results section: the shipped model against the n-gram and DuckDB baselines
eval: setup
	.venv/bin/pip install -q --disable-pip-version-check -e '.[eval]' 2>&1 | { grep -v "is ignored" || true; }
	$(PY) -m sqlcomplete.evaluate $(EVAL_DATA) --ckpt sqlcomplete/models/default --model-alone --baseline ngram --baseline duckdb --out-dir results --readme README.md

# the schema-aware 6-gram (sqlcomplete/models/ngram.safetensors): the baseline, and the proposer the shipped model reranks;
# the Spider databases and topics of the hard cases are held out
ngram: setup
	test -f data/synth/ref.jsonl.gz || $(PY) -m datagen.synth -o data/synth/ref.jsonl.gz --groups 6000 --seed 1
	$(PY) -m sqlcomplete.completion.ngram train ../shared/seed_corpus/train.jsonl.gz '../shared/spider/train.jsonl.gz*10' data/synth/ref.jsonl.gz \
		--order 6 -o sqlcomplete/models/ngram.safetensors --holdout evalsets/hard_cases.jsonl

# export the shipped model to ONNX and serve the in-browser demo on http://127.0.0.1:8000/
web: setup $(WEB_DEPS)
	$(PY) web/export.py --ckpt sqlcomplete/models/default --out web/model --int8
	$(PY) web/serve.py --port 8000

# the language server over stdio (editors start it themselves; see docs/editors.md)
lsp: setup
	.venv/bin/sqlcomplete-lsp --schema examples/schema.sql

clean:
	rm -rf out data/synth data/sql
