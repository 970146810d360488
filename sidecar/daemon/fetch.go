package daemon

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cohortchain/cohort/sidecar/blobstore"
	"github.com/cohortchain/cohort/sidecar/engine"
	"github.com/cohortchain/cohort/sidecar/federation"
	"github.com/cohortchain/cohort/sidecar/tensor"
	fedtypes "github.com/cohortchain/cohort/x/federated/types"
	regtypes "github.com/cohortchain/cohort/x/registry/types"
)

// locationOf is where this daemon serves ref.
func (d *Daemon) locationOf(ref blobstore.Ref) string {
	return (&blobstore.Client{BaseURL: d.cfg.PublicURL}).URL(ref)
}

// fetchRef gets a blob of known hash and size from location, from the own
// store first. It is verified either way; a verified remote copy is kept.
func (d *Daemon) fetchRef(ctx context.Context, ref blobstore.Ref, location string, max int64) ([]byte, error) {
	if b, err := d.store.Get(ref, max); err == nil {
		return b, nil
	}
	c, err := blobstore.ClientFor(location)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, d.cfg.FetchTimeout)
	defer cancel()
	b, err := c.Fetch(ctx, ref, max)
	if err != nil {
		return nil, err
	}
	if _, err := d.store.PutBytes(b); err != nil {
		return nil, err
	}
	return b, nil
}

// fetchWeights gets the global weights named by hash: from the own store,
// then location, then the mirrors (FetchWeights); a fetched copy is kept.
func (d *Daemon) fetchWeights(ctx context.Context, spec engine.Spec, hash []byte, location string) (tensor.Set, error) {
	if len(hash) == 32 {
		if ref, err := d.store.Stat([32]byte(hash)); err == nil {
			if b, err := d.store.Get(ref, d.cfg.MaxWeightsSize); err == nil {
				template, err := engine.Init(spec, 0)
				if err != nil {
					return nil, err
				}
				return federation.DecodeWeights(b, template)
			}
		}
	}
	w, b, err := FetchWeights(ctx, spec, hash, append([]string{location}, d.cfg.Mirrors...), d.cfg.FetchTimeout, d.cfg.MaxWeightsSize)
	if err != nil {
		return nil, err
	}
	if _, err := d.store.PutBytes(b); err != nil {
		return nil, err
	}
	return w, nil
}

// FetchWeights gets the weights named by hash from the first of sources
// (blob locations or blob server base URLs) that serves them, each try
// bounded by timeout and max bytes, and decodes them against spec's
// shapes. It returns the weights and their verified blob.
func FetchWeights(ctx context.Context, spec engine.Spec, hash []byte, sources []string, timeout time.Duration, max int64) (tensor.Set, []byte, error) {
	if len(hash) != 32 {
		return nil, nil, fmt.Errorf("weights hash of %d bytes", len(hash))
	}
	template, err := engine.Init(spec, 0)
	if err != nil {
		return nil, nil, err
	}
	var errs []error
	for _, src := range sources {
		c, err := blobstore.ClientFor(src)
		if err != nil {
			c = &blobstore.Client{BaseURL: src}
		}
		fctx, cancel := context.WithTimeout(ctx, timeout)
		b, err := c.FetchHash(fctx, [32]byte(hash), max)
		cancel()
		if err != nil {
			errs = append(errs, err)
			continue
		}
		w, err := federation.DecodeWeights(b, template)
		return w, b, err
	}
	return nil, nil, fmt.Errorf("weights %X: %w", hash, errors.Join(errs...))
}

// specOf returns the engine spec a run trains: the blob named by its spec
// hash (a spec's hash is the sha256 of its canonical encoding, so a spec is
// a blob of the store). Providers and validators import the specs of the
// models they serve at start-up (cohort-sidecar run --spec).
func (d *Daemon) specOf(ctx context.Context, run fedtypes.Run) (engine.Spec, error) {
	hash := run.Spec.Model.EngineSpecHash
	if len(hash) == 0 {
		resp, err := d.reg.Model(ctx, &regtypes.QueryModelRequest{Id: run.Spec.Model.RegistryModelId})
		if err != nil {
			return engine.Spec{}, err
		}
		hash = resp.Model.Architecture.SpecHash
	}
	s, err := d.specByHash(ctx, hash)
	if err != nil {
		return engine.Spec{}, fmt.Errorf("run %d: %w", run.Id, err)
	}
	return s, nil
}

// ImportSpec puts a spec into the store, so that runs of its model can be
// served; it returns the spec hash.
func (d *Daemon) ImportSpec(s engine.Spec) ([32]byte, error) {
	b, err := s.Encode()
	if err != nil {
		return [32]byte{}, err
	}
	ref, err := d.store.PutBytes(b)
	return ref.Hash, err
}
