# The user's verbs. Every target depends on `setup`, which builds .venv once and again
# only when pyproject.toml or constraints.txt changes.
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

.PHONY: setup data train sample test lint bench eval ngram web export lsp clean

setup: $(STAMP)

# pip's own lines say what it fetches; the ones about what is already there are left out
PIP_QUIET := { grep -v -e "is ignored" -e "^Requirement already satisfied" -e "^Using cached" || true; }

# torch for training, pinned. pip's own pick is kept unless it is a CUDA build (it requires nvidia-*
# packages, ~2.8 GB) and nvidia-smi finds no GPU: then the CPU build comes from the CPU wheel index.
TORCH := torch==2.13.0
TORCH_CPU_INDEX := https://download.pytorch.org/whl/cpu
# the installs pass --no-compile: bytecode is written on first import instead, which halves the CPU
# time of a first setup (most of torch, transformers and sympy is never imported)
PIP := .venv/bin/pip --disable-pip-version-check
# reads `pip install --dry-run --report` on stdin, prints "cuda VERSION" or "cpu VERSION" ("unknown ?" when pip failed)
TORCH_BUILD := $(PY) -c 'import json, sys; \
	t = json.load(sys.stdin)["install"][0]["metadata"]; \
	cuda = any(r.startswith(("nvidia-", "cuda-")) for r in t.get("requires_dist", [])); \
	print("cuda" if cuda else "cpu", t["version"])' 2>/dev/null || echo "unknown ?"

$(STAMP): pyproject.toml constraints.txt
	@echo "== setup: building .venv (the first time: a minute or two; again only when pyproject.toml or constraints.txt changes)"
	@test -x $(PY) || { echo "== creating the virtualenv .venv"; python3 -m venv .venv; }
	@read build version < <($(PIP) install --dry-run --quiet --no-deps --ignore-installed --report - $(TORCH) 2>/dev/null | $(TORCH_BUILD)); \
	index=; \
	if [ "$$build" = cuda ] && ! nvidia-smi -L >/dev/null 2>&1; then \
		index="--index-url $(TORCH_CPU_INDEX)"; \
		echo "== torch: the CPU build from $(TORCH_CPU_INDEX) (pip's torch $$version is a CUDA build and nvidia-smi finds no GPU)"; \
	elif [ "$$build" = cuda ]; then echo "== torch: pip's default build, torch $$version with CUDA (nvidia-smi finds a GPU)"; \
	elif [ "$$build" = cpu ]; then echo "== torch: pip's own torch $$version, a CPU build (it requires no nvidia-* package)"; \
	else echo "== torch: pip could not resolve $(TORCH) in a dry run; installing it as pip resolves it"; fi; \
	echo "$(PIP) install $$index -c constraints.txt $(TORCH)"; \
	$(PIP) install --no-compile --progress-bar off $$index -c constraints.txt $(TORCH) 2>&1 | $(PIP_QUIET)
	@echo "== installing this project (editable) with its dev extra: training, data, export, editor and test dependencies"
	$(PIP) install --no-compile --progress-bar off -c constraints.txt -e '.[dev]' 2>&1 | $(PIP_QUIET)
	$(PY) -c "import torch, onnxruntime, sentencepiece, sqlglot, safetensors, pygls"
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

# TRAIN_ARGS="--init_from=resume" goes on with the run in out_dir; "--overwrite=True" replaces it
TRAIN_ARGS ?=
train: setup
	$(PY) train.py $(CONFIG) --data_dir=$(DATA_DIR) $(TRAIN_ARGS)

# what training made: the trained checkpoint (CKPT, else out/quick/best) alone beside the shipped
# model alone, each with its training tokens and validation loss, then the hybrid
SAMPLE_CKPT = $(or $(CKPT),$(wildcard out/quick/best))
sample: setup
	$(PY) examples/compare_models.py $(if $(SAMPLE_CKPT),--ckpt $(SAMPLE_CKPT)) --schema examples/schema.sql

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

# the README's results section: the shipped model against the n-gram and DuckDB baselines. Without
# ../shared (no dev_seed) the README and results/results.md stay: the report goes to results/results-partial.*
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

# the model as ONNX beside its weights (CKPT/model.onnx; the shipped one is package data): what the
# completer runs without torch (--backend onnx, auto's choice). Again after the weights change.
export: setup
	$(PY) web/export.py --ckpt $(or $(CKPT),sqlcomplete/models/default) --runtime

# the language server over stdio (editors start it themselves; see docs/editors.md)
lsp: setup
	.venv/bin/sqlcomplete-lsp --schema examples/schema.sql

clean:
	rm -rf out data/synth data/sql
