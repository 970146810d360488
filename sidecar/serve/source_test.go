package serve

import (
	"context"
	"testing"

	sdk "github.com/cosmos/cosmos-sdk/types"
	"google.golang.org/grpc"

	regtypes "github.com/cohortchain/cohort/x/registry/types"
)

type fakeRegistry struct {
	regtypes.QueryClient
	model   regtypes.Model
	version regtypes.Version
}

func (f fakeRegistry) Model(context.Context, *regtypes.QueryModelRequest, ...grpc.CallOption) (*regtypes.QueryModelResponse, error) {
	return &regtypes.QueryModelResponse{Model: f.model}, nil
}

func (f fakeRegistry) Version(context.Context, *regtypes.QueryVersionRequest, ...grpc.CallOption) (*regtypes.QueryVersionResponse, error) {
	return &regtypes.QueryVersionResponse{Version: f.version}, nil
}

func TestRegistrySource(t *testing.T) {
	m := regtypes.Model{Id: 1, Architecture: regtypes.Architecture{SpecHash: make([]byte, 32)},
		License: regtypes.License{PricePerInference: sdk.NewInt64Coin("ucohort", 10)}}
	v := regtypes.Version{ModelId: 1, Number: 2, WeightsHash: make([]byte, 32), Size_: 99, Format: "safetensors",
		Locations: []string{"http://x/v1/blobs/sha256/00"}, Status: regtypes.VERSION_STATUS_ACTIVE}
	info, err := RegistrySource{Q: fakeRegistry{model: m, version: v}}.Version(context.Background(), Key{1, 2})
	if err != nil || info.Size != 99 || info.Price != "10ucohort" || info.NotServable != "" || len(info.Locations) != 1 {
		t.Fatalf("%+v %v", info, err)
	}
	v.Status = regtypes.VERSION_STATUS_YANKED
	if info, _ := (RegistrySource{Q: fakeRegistry{model: m, version: v}}).Version(context.Background(), Key{1, 2}); info.NotServable == "" {
		t.Fatal("a yanked version is servable")
	}
	v.Status, m.Frozen = regtypes.VERSION_STATUS_DEPRECATED, true
	if info, _ := (RegistrySource{Q: fakeRegistry{model: m, version: v}}).Version(context.Background(), Key{1, 2}); info.NotServable == "" {
		t.Fatal("a frozen model is servable")
	}
	m.Frozen = false
	if info, _ := (RegistrySource{Q: fakeRegistry{model: m, version: v}}).Version(context.Background(), Key{1, 2}); info.NotServable != "" {
		t.Fatal("a deprecated version is not servable")
	}
}
