# Two commands from a clean clone: `make run` and `make test`. Everything else follows from them.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export HF_HUB_DISABLE_PROGRESS_BARS := 1
export LITELLM_LOCAL_MODEL_COST_MAP := True
export ANONYMIZED_TELEMETRY := False

.PHONY: install lock run test test-shifted eval screenshots bench lint format clean

install: $(STAMP)

# torch goes first and pinned: the CPU wheel lies on disk, anything looser pulls a CUDA build.
# Then every other package at the version requirements.lock names (runtime and dev), and the
# project itself without resolving anything again.
$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==$(TORCH)
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $(STAMP)

# Re-resolve requirements.lock after a change to pyproject.toml's dependencies. torch is resolved
# as the CPU build (so none of the CUDA packages a PyPI torch names enter the lock) and left out
# of the file: the install step above puts it in first.
TORCH ?= 2.13.0
TORCH_WHEELS ?= /opt/wheels
lock:
	@echo 'torch==$(TORCH)+cpu' > .torch-cpu.txt
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 \
		--find-links $(TORCH_WHEELS) --constraint .torch-cpu.txt --no-emit-package torch \
		--custom-compile-command 'make lock' -o requirements.lock
	@rm -f .torch-cpu.txt
	@! grep -qiE '^(nvidia-|triton)' requirements.lock || (echo 'CUDA packages in the lock' >&2; exit 1)

# The demo orders are dated November 2026; pin the clock the return rules see so the demo plays out
# the same on any day. `make run DEMO_NOW=` uses the real clock.
DEMO_NOW ?= 2026-11-21T17:00:00Z

run: install
	SHOPDESK_NOW=$(DEMO_NOW) $(BIN)/shopdesk index
	SHOPDESK_NOW=$(DEMO_NOW) $(BIN)/shopdesk search "can I return an engraved mug?" --k 3
	SHOPDESK_NOW=$(DEMO_NOW) $(BIN)/shopdesk serve

test: install
	$(BIN)/python -m pytest

# The same suite with Python's wall clock moved 400 days ahead (time-machine, in every thread, so in
# the servers the tests start too): a test that takes an expectation from the date fails here.
SHIFT_DAYS ?= 400
test-shifted: install
	SHOPDESK_TEST_SHIFT_DAYS=$(SHIFT_DAYS) $(BIN)/python -m pytest

# The shopper-conversation corpus (examples/demo-store/conversations) through the real chat, with the
# offline model (`make eval EVAL_MODEL=openai/gpt-4o-mini` compares another). It measures: exit 0 whatever
# the score. About four minutes.
EVAL_MODEL ?= shopdesk/offline
eval: install
	$(BIN)/shopdesk --now $(DEMO_NOW) eval conversations --model $(EVAL_MODEL)

# Refresh README's screenshots on purpose; test runs write theirs to a temporary folder.
screenshots: install
	SHOPDESK_TEST_SCREENSHOTS=docs $(BIN)/python -m pytest -q tests/test_console_browser.py tests/test_owner_browser.py \
		tests/test_labels_print.py tests/test_portal_browser.py
	$(BIN)/python tests/browser.py

bench: install
	$(BIN)/python bench/knowledge.py
	$(BIN)/python bench/actions.py
	$(BIN)/python bench/insights.py
	$(BIN)/python bench/turns.py
	$(BIN)/python bench/retrieval_steps.py

# mypy strict on the typed core.
MYPY_PATHS ?= agent/turn agent/models agent/chat actions

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy --strict $(MYPY_PATHS)

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf .shopdesk .pytest_cache
