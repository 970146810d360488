package serve

import (
	"context"
	"fmt"
	"sync"

	regtypes "github.com/cohortchain/cohort/x/registry/types"
)

// VersionInfo is what the registry says about a model version, as far as
// serving it goes.
type VersionInfo struct {
	Key      Key
	SpecHash []byte // engine spec hash (Architecture.spec_hash)
	// WeightsHash and Size name the weights blob; Locations are where it
	// is served.
	WeightsHash []byte
	Size        uint64
	Format      string
	Locations   []string
	// Price is the price per inference ("" when free).
	Price string
	// NotServable, when set, says why the version may not be served.
	NotServable string
}

// Source looks model versions up.
type Source interface {
	Version(ctx context.Context, k Key) (VersionInfo, error)
}

// RegistrySource reads versions from x/registry over gRPC.
type RegistrySource struct{ Q regtypes.QueryClient }

// Version queries the model and the version.
func (s RegistrySource) Version(ctx context.Context, k Key) (VersionInfo, error) {
	mr, err := s.Q.Model(ctx, &regtypes.QueryModelRequest{Id: k.Model})
	if err != nil {
		return VersionInfo{}, fmt.Errorf("serve: model %d: %w", k.Model, err)
	}
	vr, err := s.Q.Version(ctx, &regtypes.QueryVersionRequest{ModelId: k.Model, Number: k.Version})
	if err != nil {
		return VersionInfo{}, fmt.Errorf("serve: version %s: %w", k, err)
	}
	m, v := mr.Model, vr.Version
	info := VersionInfo{Key: k, SpecHash: m.Architecture.SpecHash, WeightsHash: v.WeightsHash, Size: v.Size_,
		Format: v.Format, Locations: v.Locations}
	if p := m.License.PricePerInference; p.Denom != "" && !p.Amount.IsNil() && p.Amount.IsPositive() {
		info.Price = p.String()
	}
	switch {
	case m.Frozen:
		info.NotServable = "model frozen: " + m.FrozenReason
	case v.Status == regtypes.VERSION_STATUS_YANKED:
		info.NotServable = "version yanked"
	}
	return info, nil
}

// StaticSource serves versions from a map (tests, and providers run
// without a chain).
type StaticSource struct {
	mu sync.Mutex
	m  map[Key]VersionInfo
}

// Put adds or replaces a version.
func (s *StaticSource) Put(info VersionInfo) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[Key]VersionInfo{}
	}
	s.m[info.Key] = info
}

// Version returns the version put for k.
func (s *StaticSource) Version(_ context.Context, k Key) (VersionInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	info, ok := s.m[k]
	if !ok {
		return VersionInfo{}, fmt.Errorf("serve: version %s unknown", k)
	}
	return info, nil
}
