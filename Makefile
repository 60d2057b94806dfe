# mixopt — see README.md. `make demo` runs the main job, `make test` the tests.
SHELL := /bin/bash
GO ?= go
BIN := bin/mixopt
TOOLS := $(CURDIR)/.tmp/bin
PROTOC_GEN_GO_VERSION := v1.36.12
PROTOC_GEN_GO_GRPC_VERSION := v1.6.2
PROTO_FILES := $(shell find proto -name '*.proto')

.PHONY: all build test bench proto demo clean interop-deps

all: build

build:
	$(GO) build -o $(BIN) ./cmd/mixopt

# test runs every Go test with the race detector. The Arrow interop test reads
# the tables with the JavaScript Arrow and Parquet implementations, installed
# from npm into .tmp/node when npm is available.
test: interop-deps
	$(GO) test -race -count=1 ./...

NODE_DEPS := $(CURDIR)/.tmp/node/node_modules
interop-deps:
	@if command -v npm >/dev/null 2>&1; then \
	  if [ ! -d $(NODE_DEPS)/apache-arrow ] || [ ! -d $(NODE_DEPS)/hyparquet ]; then \
	    mkdir -p .tmp/node && cd .tmp/node && npm install --no-audit --no-fund --silent apache-arrow@21.2.0 hyparquet@1.31.5 hyparquet-compressors@1.1.2 >/dev/null; \
	  fi; \
	else echo "npm not found: the Arrow interop test will be skipped" >&2; fi

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

$(TOOLS)/protoc-gen-go:
	GOBIN=$(TOOLS) $(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)

$(TOOLS)/protoc-gen-go-grpc:
	GOBIN=$(TOOLS) $(GO) install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GO_GRPC_VERSION)

# proto regenerates the committed Go code from proto/ with Debian's protoc
# (apt-get install protobuf-compiler libprotobuf-dev) and pinned plugins.
proto: $(TOOLS)/protoc-gen-go $(TOOLS)/protoc-gen-go-grpc
	@command -v protoc >/dev/null || { echo "protoc not found: apt-get install -y protobuf-compiler libprotobuf-dev" >&2; exit 1; }
	protoc -I proto \
	  --plugin=protoc-gen-go=$(TOOLS)/protoc-gen-go --go_out=proto --go_opt=paths=source_relative \
	  --plugin=protoc-gen-go-grpc=$(TOOLS)/protoc-gen-go-grpc --go-grpc_out=proto --go-grpc_opt=paths=source_relative \
	  $(PROTO_FILES)

# demo runs the main job: the whole method on RewardBench with the in-process
# reference trainer and ../shared/data, into runs/rewardbench.
demo: build
	./$(BIN) plan --target rewardbench

clean:
	rm -rf bin .tmp
