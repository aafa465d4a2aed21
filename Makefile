# The two commands of the README, from a fresh clone:
#   make train DATA=path/to/cifar10.tgz   (or no DATA: download CIFAR-10)  ->  the run in $(OUT)
#   make test                             ->  the notebooks' tests and the docs' browser test
# Each creates the virtual environment .venv on its first call and installs torch and this package (editable, with the dev tools).
# A Makefile because make is on every Linux machine and the set-up is a one-time dependency (.venv/.installed) of both targets;
# `pip install resnet-fastai` is the path for users who have torch already (see the README).
PYTHON ?= python3
TORCH  ?= torch==2.14.1 torchvision==0.29.1
# Without an NVIDIA driver, torch's CPU wheels (0.8 GB installed, against 4.4 GB with CUDA's): from TORCH_INDEX.
# Where that fails (it cannot be reached, say), pip's own indexes serve; TORCH_INDEX= uses those at once, TORCH_INDEX=<url> another.
TORCH_INDEX ?= $(if $(wildcard /proc/driver/nvidia/version)$(shell command -v nvidia-smi),,https://download.pytorch.org/whl/cpu)
VENV   ?= .venv
DATA   ?=
OUT    ?= run
ARGS   ?=
BIN    := $(VENV)/bin
export NO_ALBUMENTATIONS_UPDATE := 1
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: train test chromium

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(if $(TORCH_INDEX),$(BIN)/pip install -q $(TORCH) --index-url $(TORCH_INDEX) --retries 1 || \
	  { echo "torch from $(TORCH_INDEX) failed: from pip's own indexes"; $(BIN)/pip install -q $(TORCH); },\
	  $(BIN)/pip install -q $(TORCH))
	$(BIN)/pip install -q -e ".[dev]"
	touch $@

train: $(VENV)/.installed
	$(BIN)/resnet-fastai-train $(if $(DATA),--data $(DATA)) --out $(OUT) $(ARGS)

# Headless Chromium and its driver (Debian packages) for tools/test_docs.py, with apt-get update first on a fresh machine.
chromium:
	@if ! [ -x /usr/bin/chromium ] || ! [ -x /usr/bin/chromedriver ]; then \
	  S=; [ "$$(id -u)" = 0 ] || S="sudo -n"; \
	  $$S apt-get update -qq && $$S env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null \
	  || echo "could not install chromium and chromium-driver: the notebooks' tests run, and tools/test_docs.py will fail"; fi

test: $(VENV)/.installed chromium
	$(BIN)/python tools/docs.py
	$(BIN)/nbdev-test --do-print --timing --cell-timing-min 30
	$(BIN)/pytest -q tools/test_docs.py
