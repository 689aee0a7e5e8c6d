# Cohort's two front doors. Each installs what is missing, builds what it runs, and runs.
#   make demo   train Fashion-MNIST on 2 ranks (ddp) with configs/fmnist_mlp_ddp.json
#   make test   build the libraries, programs and tests, and run every test
#   make bench  build the benchmarks too (run them by hand, see docs/benchmarks.md)
BUILD_DIR ?= build
BUILD_TYPE ?= Release
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
DEMO_CONFIG ?= configs/fmnist_mlp_ddp.json
DEMO_RANKS ?= 2
# Open MPI refuses root without these, and more ranks than cores without --oversubscribe.
MPIRUN ?= OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 mpirun --oversubscribe
BENCH ?= OFF

.PHONY: all setup configure build demo test bench clean

all: build

setup:
	@bash scripts/setup.sh > .torch_dir.tmp && mv .torch_dir.tmp .torch_dir

configure: setup
	@cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DTorch_DIR="$$(tail -n 1 .torch_dir)" \
	  -DCOHORT_BUILD_BENCH=$(BENCH)

build: configure
	@cmake --build $(BUILD_DIR) -j $(JOBS)

# The demo needs cohort-train and the libraries under it, nothing else.
demo: configure
	@cmake --build $(BUILD_DIR) -j $(JOBS) --target cohort-train
	$(MPIRUN) -np $(DEMO_RANKS) $(BUILD_DIR)/bin/cohort-train --config $(DEMO_CONFIG)

test: build
	@cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

bench:
	@$(MAKE) --no-print-directory build BENCH=ON

clean:
	rm -rf $(BUILD_DIR) .torch_dir
