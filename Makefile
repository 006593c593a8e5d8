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

.PHONY: setup data train sample test bench eval ngram web lsp clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv .venv
	# torch first and pinned: any other spec pulls gigabytes of CUDA wheels
	.venv/bin/pip install -q --disable-pip-version-check torch==2.13.0 2>&1 | { grep -v "is ignored" || true; }
	.venv/bin/pip install -q --disable-pip-version-check -e '.[dev]' 2>&1 | { grep -v "is ignored" || true; }
	$(PY) -c "import torch, sentencepiece, sqlglot, safetensors"
	touch $(STAMP)

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

sample: setup
	$(PY) sample.py $(if $(CKPT),--ckpt $(CKPT),$(if $(wildcard out/quick/best),--ckpt out/quick/best,)) \
		--schema examples/schema.sql --prefix "SELECT name, email FROM "

test: setup
	$(PY) -m pytest -q tests

bench: setup
	$(PY) bench/train_speed.py
	$(PY) bench/latency.py

# the README's results section: the shipped model against the n-gram and DuckDB baselines
eval: setup
	.venv/bin/pip install -q --disable-pip-version-check -e '.[eval]' 2>&1 | { grep -v "is ignored" || true; }
	$(PY) eval.py $(EVAL_DATA) --ckpt models/default --model-alone --baseline ngram --baseline duckdb --out-dir results --readme README.md

# the schema-aware 6-gram (models/ngram.json.gz): the baseline, and the proposer the shipped model reranks;
# the Spider databases and topics of the hard cases are held out
ngram: setup
	test -f data/synth/ref.jsonl.gz || $(PY) -m datagen.synth -o data/synth/ref.jsonl.gz --groups 6000 --seed 1
	$(PY) ngram.py train ../shared/seed_corpus/train.jsonl.gz '../shared/spider/train.jsonl.gz*10' data/synth/ref.jsonl.gz \
		--order 6 -o models/ngram.json.gz --holdout evalsets/hard_cases.jsonl

# export the shipped model to ONNX and serve the in-browser demo on http://127.0.0.1:8000/
web: setup
	cd web && (npm ci --no-audit --no-fund || npm install --no-audit --no-fund)
	$(PY) web/export.py --ckpt models/default --out web/model --int8
	$(PY) web/serve.py --port 8000

# the language server over stdio (editors start it themselves; see docs/editors.md)
lsp: setup
	$(PY) lsp.py --schema examples/schema.sql

clean:
	rm -rf out data/synth data/sql
