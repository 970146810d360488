package gateway

import (
	"context"
	"testing"

	sdkmath "cosmossdk.io/math"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"google.golang.org/grpc"

	"github.com/cohortchain/cohort/sidecar/serve"
	providertypes "github.com/cohortchain/cohort/x/provider/types"
	reputationtypes "github.com/cohortchain/cohort/x/reputation/types"
)

type fakeProviders struct {
	providertypes.QueryClient
	list []providertypes.Provider
}

func (f fakeProviders) Providers(_ context.Context, req *providertypes.QueryProvidersRequest, _ ...grpc.CallOption) (*providertypes.QueryProvidersResponse, error) {
	var out []providertypes.Provider
	for _, p := range f.list {
		if req.Status == 0 || p.Status == req.Status {
			out = append(out, p)
		}
	}
	return &providertypes.QueryProvidersResponse{Providers: out}, nil
}

type fakeReputation struct {
	reputationtypes.QueryClient
	list []reputationtypes.Reputation
}

func (f fakeReputation) Reputations(context.Context, *reputationtypes.QueryReputationsRequest, ...grpc.CallOption) (*reputationtypes.QueryReputationsResponse, error) {
	return &reputationtypes.QueryReputationsResponse{Reputations: f.list}, nil
}

func TestChainDiscovery(t *testing.T) {
	price := providertypes.PriceList{InferencePerRequest: sdk.NewInt64Coin("ucohort", 7)}
	d := ChainDiscovery{
		Providers_: fakeProviders{list: []providertypes.Provider{
			{Operator: "cohort1a", Endpoints: []string{"http://a:7100/"}, Models: []string{"1", "2/3", "junk"}, Status: providertypes.STATUS_ACTIVE, Prices: price},
			{Operator: "cohort1b", Endpoints: []string{"http://b:7100"}, Models: []string{"1/1"}, Status: providertypes.STATUS_JAILED},
			{Operator: "cohort1c", Models: []string{"1/1"}, Status: providertypes.STATUS_ACTIVE},
			{Operator: "cohort1d", Endpoints: []string{"http://d:7100"}, Status: providertypes.STATUS_ACTIVE},
		}},
		Reputation: fakeReputation{list: []reputationtypes.Reputation{{Operator: "cohort1a", Score: sdkmath.LegacyMustNewDecFromStr("0.75")}}},
	}
	list, err := d.Providers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 {
		t.Fatalf("providers %+v: want only the active one with an endpoint and models", list)
	}
	p := list[0]
	if p.URL != "http://a:7100" || p.Reputation != 0.75 || p.Price != 7 || !p.Serves(serve.Key{Model: 1, Version: 9}) ||
		!p.Serves(serve.Key{Model: 2, Version: 3}) || p.Serves(serve.Key{Model: 2, Version: 1}) {
		t.Fatalf("provider %+v", p)
	}
}
