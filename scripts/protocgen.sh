#!/usr/bin/env bash
# Generates Go code from proto/ with protoc and plugins built from the Go module
# cache: no network, no buf, no Docker. Output lands next to the types it
# belongs to (the go_package of each file), and is committed.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v protoc >/dev/null || { echo "protoc missing: apt-get install -y protobuf-compiler" >&2; exit 1; }

go mod download github.com/cosmos/cosmos-sdk github.com/cosmos/gogoproto \
  github.com/cosmos/cosmos-proto github.com/grpc-ecosystem/grpc-gateway
modpath() { go list -m -f '{{.Dir}}' "$1"; }
SDK=$(modpath github.com/cosmos/cosmos-sdk)
GOGO=$(modpath github.com/cosmos/gogoproto)
CPROTO=$(modpath github.com/cosmos/cosmos-proto)
GW=$(modpath github.com/grpc-ecosystem/grpc-gateway)

# Plugins at the versions go.mod pins, built into a private bin dir.
BIN="$PWD/.cache/protoc-bin"
mkdir -p "$BIN"
GOBIN="$BIN" go install github.com/cosmos/gogoproto/protoc-gen-gocosmos
GOBIN="$BIN" go install github.com/grpc-ecosystem/grpc-gateway/protoc-gen-grpc-gateway
export PATH="$BIN:$PATH"

OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

mapfile -t files < <(find proto -name '*.proto' | sort)
for f in "${files[@]}"; do
  protoc -I proto -I "$SDK/proto" -I "$GOGO" -I "$GOGO/protobuf" -I "$CPROTO/proto" \
    -I "$GW/third_party/googleapis" \
    --gocosmos_out=plugins=grpc,Mgoogle/protobuf/any.proto=github.com/cosmos/gogoproto/types/any:"$OUT" \
    "$f"
  if grep -q "option (google.api.http)" "$f"; then
    protoc -I proto -I "$SDK/proto" -I "$GOGO" -I "$GOGO/protobuf" -I "$CPROTO/proto" \
      -I "$GW/third_party/googleapis" \
      --grpc-gateway_out=logtostderr=true,allow_colon_final_segments=true:"$OUT" "$f"
  fi
done

# Move generated files from their Go import path into this module's tree.
cp -r "$OUT"/github.com/cohortchain/cohort/* ./
echo "generated $(find "$OUT" -name '*.go' | wc -l) files from ${#files[@]} proto files"
