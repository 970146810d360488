//go:build tools

// Package tools pins the versions of the code generators that
// scripts/protocgen.sh builds from the module cache.
package tools

import (
	_ "github.com/cosmos/gogoproto/protoc-gen-gocosmos"
	_ "github.com/grpc-ecosystem/grpc-gateway/protoc-gen-grpc-gateway"
)
