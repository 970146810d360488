package gateway

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	querytypes "github.com/cosmos/cosmos-sdk/types/query"

	"github.com/cohortchain/cohort/sidecar/serve"
	providertypes "github.com/cohortchain/cohort/x/provider/types"
	reputationtypes "github.com/cohortchain/cohort/x/reputation/types"
)

// ProviderInfo is what routing knows of a provider from outside: where it
// is, what it serves, its price and its reputation.
type ProviderInfo struct {
	// Operator is the provider's account (it signs receipts).
	Operator string `json:"operator"`
	// URL is the base URL of its sidecar.
	URL string `json:"url"`
	// Models are the model ids it serves, with a version, or version 0
	// for every version of the model.
	Models []serve.Key `json:"models"`
	// Price is its price per inference request in the base denom (0: unknown).
	Price float64 `json:"price"`
	// Reputation is its x/reputation score in [0, 1].
	Reputation float64 `json:"reputation"`
}

// Serves reports whether p serves k.
func (p ProviderInfo) Serves(k serve.Key) bool {
	for _, m := range p.Models {
		if m.Model == k.Model && (m.Version == 0 || m.Version == k.Version) {
			return true
		}
	}
	return false
}

// Discovery lists the providers.
type Discovery interface {
	Providers(ctx context.Context) ([]ProviderInfo, error)
}

// StaticDiscovery is a fixed list (tests, --providers).
type StaticDiscovery []ProviderInfo

// Providers returns the list.
func (s StaticDiscovery) Providers(context.Context) ([]ProviderInfo, error) { return s, nil }

// ParseStatic reads --providers entries "url=model/v+model/v" or
// "url=model" (every version) with optional ";rep=0.9;price=10;operator=addr":
// e.g. "http://127.0.0.1:7101=1/1+2/1;rep=0.8".
func ParseStatic(entries []string) (StaticDiscovery, error) {
	var out StaticDiscovery
	for _, e := range entries {
		parts := strings.Split(e, ";")
		u, models, ok := strings.Cut(parts[0], "=")
		if !ok {
			return nil, fmt.Errorf("gateway: provider %q is not url=models", e)
		}
		if pu, err := url.Parse(u); err != nil || (pu.Scheme != "http" && pu.Scheme != "https") {
			return nil, fmt.Errorf("gateway: provider URL %q is not http(s)", u)
		}
		p := ProviderInfo{URL: strings.TrimRight(u, "/"), Operator: u, Reputation: 0.5}
		for _, m := range strings.Split(models, "+") {
			k, err := parseModel(m)
			if err != nil {
				return nil, err
			}
			p.Models = append(p.Models, k)
		}
		for _, kv := range parts[1:] {
			k, v, _ := strings.Cut(kv, "=")
			switch k {
			case "rep":
				f, err := strconv.ParseFloat(v, 64)
				if err != nil || f < 0 || f > 1 {
					return nil, fmt.Errorf("gateway: provider %q: rep %q not in [0, 1]", e, v)
				}
				p.Reputation = f
			case "price":
				f, err := strconv.ParseFloat(v, 64)
				if err != nil || f < 0 {
					return nil, fmt.Errorf("gateway: provider %q: price %q", e, v)
				}
				p.Price = f
			case "operator":
				p.Operator = v
			default:
				return nil, fmt.Errorf("gateway: provider %q: unknown option %q", e, k)
			}
		}
		out = append(out, p)
	}
	return out, nil
}

// parseModel reads "id/v" or "id" (every version).
func parseModel(s string) (serve.Key, error) {
	s = strings.TrimSpace(s)
	if !strings.Contains(s, "/") {
		id, err := strconv.ParseUint(s, 10, 64)
		if err != nil || id == 0 {
			return serve.Key{}, fmt.Errorf("gateway: model %q is neither id nor id/version", s)
		}
		return serve.Key{Model: id}, nil
	}
	return serve.ParseKey(s)
}

// ChainDiscovery reads active providers from x/provider (endpoints,
// served models, inference price) and their scores from x/reputation.
// A provider's models entries are "id" (every version) or "id/v".
type ChainDiscovery struct {
	Providers_ providertypes.QueryClient
	Reputation reputationtypes.QueryClient
}

// Providers lists the active providers that have an endpoint and serve a model.
func (c ChainDiscovery) Providers(ctx context.Context) ([]ProviderInfo, error) {
	reps := map[string]float64{}
	rreq := &reputationtypes.QueryReputationsRequest{}
	for {
		resp, err := c.Reputation.Reputations(ctx, rreq)
		if err != nil {
			return nil, fmt.Errorf("gateway: reputations: %w", err)
		}
		for _, r := range resp.Reputations {
			if f, err := r.Score.Float64(); err == nil {
				reps[r.Operator] = f
			}
		}
		if resp.Pagination == nil || len(resp.Pagination.NextKey) == 0 {
			break
		}
		rreq.Pagination = &querytypes.PageRequest{Key: resp.Pagination.NextKey}
	}
	var out []ProviderInfo
	preq := &providertypes.QueryProvidersRequest{Status: providertypes.STATUS_ACTIVE}
	for {
		resp, err := c.Providers_.Providers(ctx, preq)
		if err != nil {
			return nil, fmt.Errorf("gateway: providers: %w", err)
		}
		for _, p := range resp.Providers {
			if len(p.Endpoints) == 0 {
				continue
			}
			info := ProviderInfo{Operator: p.Operator, URL: strings.TrimRight(p.Endpoints[0], "/"), Reputation: 0.5}
			if r, ok := reps[p.Operator]; ok {
				info.Reputation = r
			}
			if a := p.Prices.InferencePerRequest.Amount; !a.IsNil() && a.IsInt64() {
				info.Price = float64(a.Int64())
			}
			for _, m := range p.Models {
				if k, err := parseModel(m); err == nil {
					info.Models = append(info.Models, k)
				}
			}
			if len(info.Models) > 0 {
				out = append(out, info)
			}
		}
		if resp.Pagination == nil || len(resp.Pagination.NextKey) == 0 {
			return out, nil
		}
		preq.Pagination = &querytypes.PageRequest{Key: resp.Pagination.NextKey}
	}
}
