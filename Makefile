# codr: `make run` starts the service, `make test` runs every test.
# Both set up what is missing (see scripts/setup.sh) and build what changed.

CARGO        ?= cargo
PLUGINS      := $(notdir $(wildcard plugins/*))
PLUGIN_DIR   := target/plugins
WASM_TARGET  := wasm32-wasip2
CODR         := target/release/codr
STAMP_SETUP  := target/.setup-done

.PHONY: all setup build web host plugins fixtures client-libs run test bench lint fmt clean-plugins

all: build

# Installs toolchains and system packages a fresh machine lacks (idempotent).
setup: $(STAMP_SETUP)
$(STAMP_SETUP): scripts/setup.sh $(wildcard scripts/setup-sandbox.sh)
	@bash scripts/setup.sh
	@mkdir -p target && touch $@

# The host binary and every plugin (plugins land in target/plugins/<name>.wasm).
build: setup web host plugins

# The playground page (web/): npm packages from the lock (again only when it
# changes), bundled by esbuild into target/web/ (again only when web/ changes),
# which host/build.rs embeds in the binary.
WEB_SRC := web/index.html web/build.mjs $(wildcard web/src/*)
web: target/web/.bundled
target/web/.npm-installed: web/package.json web/package-lock.json | setup
	cd web && npm ci --no-audit --no-fund --loglevel=error
	@mkdir -p target/web && touch $@
target/web/.bundled: target/web/.npm-installed $(WEB_SRC)
	cd web && node build.mjs
	@touch $@

host:
	$(CARGO) build --release -p codr

plugins:
	$(CARGO) build --profile plugin --target $(WASM_TARGET) $(addprefix -p codr-plugin-,$(PLUGINS))
	@mkdir -p $(PLUGIN_DIR)
	@for p in $(PLUGINS); do \
		cp target/$(WASM_TARGET)/plugin/codr_plugin_$$p.wasm $(PLUGIN_DIR)/$$p.wasm; \
	done
	@echo "plugins in $(PLUGIN_DIR): $(PLUGINS)"

# Deliberately broken plugins used by the plugin-host tests.
fixtures: setup
	tests/fixtures/bad-plugins/build.sh

# Starts everything in one process on the embedded broker (no Redis needed).
run: build
	$(CODR) serve --plugins $(PLUGIN_DIR)

# Published client libraries the compatibility tests drive (PyPI, pinned,
# into target/clients; once).
client-libs: setup
	@bash scripts/client-libs.sh

test: build fixtures client-libs
	$(CARGO) test --release --workspace

# Every figure the README and the issues quote, each beside its baseline
# measured in the same run (the machines are shared and noisy), written to
# BENCHMARKS.md with the machine described (scripts/bench.sh; ~10 min).
bench: build
	CARGO="$(CARGO)" bash scripts/bench.sh

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --release --workspace --all-targets -- -D warnings
