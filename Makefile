# Cohort: the two commands a newcomer needs are `make demo` and `make test`.
BIN        ?= build/cohortd
VALIDATORS ?=
GO         ?= go

.PHONY: build install demo localnet test test-unit proto-gen proto-check bench-tx bench-endblocker bench-aggregate bench-train fashion-mnist lint clean ptx

## build: compile cohortd and cohort-sidecar into build/
build:
	$(GO) build -o $(BIN) ./cmd/cohortd
	$(GO) build -o build/cohort-sidecar ./cmd/cohort-sidecar

## install: put cohortd in $GOPATH/bin
install:
	$(GO) install ./cmd/cohortd

## demo: the main job: 4 validators with sidecars and 10 Fashion-MNIST providers (2 Byzantine) train a model together on-chain
demo:
	bash scripts/demo.sh

## localnet: build, write a chain from config.yml and run it in the foreground (VALIDATORS=4 for four)
localnet:
	VALIDATORS=$(VALIDATORS) BIN=$(BIN) bash scripts/localnet.sh

## test: every test: unit, then the in-process networks and the end-to-end tests one package at a time (they start networks and must not starve each other)
test:
	$(GO) test -count=1 -timeout 20m $$($(GO) list ./... | grep -v /tests/)
	$(GO) test -count=1 -timeout 40m -p 1 ./tests/...

## test-unit: the fast tests only (no networks, no binaries)
test-unit:
	$(GO) test -count=1 -short ./...

## proto-gen: regenerate Go from proto/ (offline: protoc + plugins from the module cache)
proto-gen:
	bash scripts/protocgen.sh

## proto-check: fail if the committed generated code differs from a fresh generation
proto-check: proto-gen
	@git diff --exit-code -- '*.pb.go' '*.pb.gw.go' || { echo "generated code is stale: run make proto-gen and commit" >&2; exit 1; }

## bench-tx: tx/s of bank sends, CreateJob and PlaceBid on a 1-validator localnet, and their ratios
bench-tx: build
	BIN=$(BIN) bash scripts/bench-tx.sh

## bench-endblocker: the market EndBlocker with 10 and 10,000 open leases
bench-endblocker:
	$(GO) test ./x/market/keeper/ -run '^$$' -bench EndBlocker -benchtime 200x

## bench-aggregate: each aggregation rule's read rate against a plain copy (COHORT_AGG_PARAMS sets the size)
bench-aggregate:
	COHORT_AGG_PARAMS=$${COHORT_AGG_PARAMS:-10000000} $(GO) test ./sidecar/aggregate/ -run '^$$' -bench Aggregate -benchtime 3x

## bench-train: training images/s of the Fashion-MNIST MLP and CNN at GOMAXPROCS 1 and 2
bench-train:
	$(GO) test ./sidecar/engine/ -run '^$$' -bench TrainStep -benchtime 20x -cpu 1,2

## fashion-mnist: the engine's quality bars, centralized Fashion-MNIST, MLP and CNN (needs dataset-fashion-mnist)
fashion-mnist:
	bash scripts/fashion-mnist.sh

lint:
	$(GO) vet ./...

clean:
	rm -rf build .localnet .testnet .cache

## ptx: regenerate sidecar/gpu/kernels/*.ptx from the .cu sources (nvcc, offline; no FMA contraction)
NVCC     ?= nvcc
PTX_ARCH ?= compute_80
ptx:
	@cd sidecar/gpu/kernels && for cu in *.cu; do \
		ptx=$${cu%.cu}.ptx; \
		echo "$(NVCC) -ptx -arch=$(PTX_ARCH) -fmad=false -o $$ptx $$cu"; \
		$(NVCC) -ptx -arch=$(PTX_ARCH) -fmad=false -o $$ptx.tmp $$cu || { rm -f $$ptx.tmp; exit 1; }; \
		{ cat $$ptx.tmp; echo "// cohort-source-sha256: $$(sha256sum $$cu | cut -d' ' -f1)"; } > $$ptx && rm -f $$ptx.tmp; \
	done
