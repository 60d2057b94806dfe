# mixopt — see README.md. `make demo` runs the main job, `make test` the tests.
SHELL := /bin/bash
GO ?= go
BIN := bin/mixopt
TOOLS := $(CURDIR)/.tmp/bin
PROTOC_GEN_GO_VERSION := v1.36.12
PROTOC_GEN_GO_GRPC_VERSION := v1.6.2
PROTO_FILES := $(shell find proto -name '*.proto')

.PHONY: all build test bench proto proto-check demo clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/mixopt

test:
	$(GO) test -race -count=1 ./...

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

demo: build
	./scripts/demo.sh

clean:
	rm -rf bin .tmp
