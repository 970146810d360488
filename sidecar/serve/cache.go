package serve

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cohortchain/cohort/sidecar/blobstore"
	"github.com/cohortchain/cohort/sidecar/engine"
	"github.com/cohortchain/cohort/sidecar/federation"
	"github.com/cohortchain/cohort/sidecar/tensor"
)

// Key names a model version: registry model id and version number.
type Key struct {
	Model   uint64 `json:"model"`
	Version uint64 `json:"version"`
}

// String is "id/v".
func (k Key) String() string { return fmt.Sprintf("%d/%d", k.Model, k.Version) }

// ParseKey reads "id/v".
func ParseKey(s string) (Key, error) {
	a, b, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return Key{}, fmt.Errorf("serve: model version %q is not id/version", s)
	}
	id, err1 := strconv.ParseUint(a, 10, 64)
	v, err2 := strconv.ParseUint(b, 10, 64)
	if err1 != nil || err2 != nil || id == 0 || v == 0 {
		return Key{}, fmt.Errorf("serve: model version %q is not id/version (positive integers)", s)
	}
	return Key{id, v}, nil
}

// ParseKeys reads a comma-separated list of "id/v".
func ParseKeys(list []string) ([]Key, error) {
	var out []Key
	for _, s := range list {
		for _, p := range strings.Split(s, ",") {
			if strings.TrimSpace(p) == "" {
				continue
			}
			k, err := ParseKey(p)
			if err != nil {
				return nil, err
			}
			out = append(out, k)
		}
	}
	return out, nil
}

// Model is a loaded, servable model version.
type Model struct {
	Key     Key
	Info    VersionInfo
	Spec    engine.Spec
	Weights tensor.Set
	// Width is the values of one input example, Classes of one output.
	Width, Classes int
	// Bytes is the memory the weights take (what the cache counts).
	Bytes int64
}

// Predict runs the model on rows examples (rows × Width values).
func (m *Model) Predict(x []float32, rows int) ([]float32, error) {
	return engine.Forward(m.Spec, m.Weights, x, rows)
}

// ErrNotServable is returned for versions the registry says may not be
// served (yanked, frozen model, unknown weights format).
var ErrNotServable = errors.New("serve: model version not servable")

// Loader builds Models from registry versions: the spec from the blob
// store (by the registry's spec hash), the weights from the store or the
// version's locations, verified against the registry's sha256 and size.
type Loader struct {
	Source Source
	Store  *blobstore.Store
	// MaxWeights bounds a weights blob (default 1 GiB).
	MaxWeights int64
	// Timeout bounds one load, downloads included (default 5 minutes).
	Timeout time.Duration
	// Fetch, when set, replaces blobstore.ClientFor(location).Fetch (tests).
	Fetch func(ctx context.Context, location string, ref blobstore.Ref, max int64) ([]byte, error)
}

// Load fetches and checks one version.
func (l *Loader) Load(ctx context.Context, k Key) (*Model, error) {
	timeout := l.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	info, err := l.Source.Version(ctx, k)
	if err != nil {
		return nil, err
	}
	if info.NotServable != "" {
		return nil, fmt.Errorf("%w: %s: %s", ErrNotServable, k, info.NotServable)
	}
	if info.Format != "" && info.Format != "safetensors" {
		return nil, fmt.Errorf("%w: %s: weights format %q", ErrNotServable, k, info.Format)
	}
	spec, err := l.spec(info.SpecHash)
	if err != nil {
		return nil, fmt.Errorf("serve: %s: %w", k, err)
	}
	if len(info.WeightsHash) != 32 {
		return nil, fmt.Errorf("serve: %s: weights hash of %d bytes", k, len(info.WeightsHash))
	}
	ref := blobstore.Ref{Size: int64(info.Size)}
	copy(ref.Hash[:], info.WeightsHash)
	max := l.MaxWeights
	if max <= 0 {
		max = 1 << 30
	}
	blob, err := l.weights(ctx, ref, info.Locations, max)
	if err != nil {
		return nil, fmt.Errorf("serve: %s: weights %s: %w", k, ref, err)
	}
	template, err := engine.Init(spec, 0)
	if err != nil {
		return nil, err
	}
	w, err := federation.DecodeWeights(blob, template)
	if err != nil {
		return nil, fmt.Errorf("serve: %s: %w", k, err)
	}
	shapes, _ := spec.Shapes()
	m := &Model{Key: k, Info: info, Spec: spec, Weights: w, Width: spec.InputWidth(), Classes: shapes[len(shapes)-1][0]}
	for _, t := range w {
		m.Bytes += 4 * int64(len(t.Data))
	}
	return m, nil
}

func (l *Loader) spec(hash []byte) (engine.Spec, error) {
	if len(hash) != 32 {
		return engine.Spec{}, fmt.Errorf("spec hash of %d bytes (the model names no engine spec)", len(hash))
	}
	var h [32]byte
	copy(h[:], hash)
	ref, err := l.Store.Stat(h)
	if err != nil {
		return engine.Spec{}, fmt.Errorf("spec %x is not in the blob store (import it): %w", hash, err)
	}
	b, err := l.Store.Get(ref, engine.MaxSpecBytes)
	if err != nil {
		return engine.Spec{}, err
	}
	return engine.DecodeSpec(b)
}

// weights returns the verified blob from the store or the first location
// that serves it; a fetched copy is kept in the store.
func (l *Loader) weights(ctx context.Context, ref blobstore.Ref, locations []string, max int64) ([]byte, error) {
	if ref.Size > max {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", blobstore.ErrTooLarge, ref.Size, max)
	}
	if b, err := l.Store.Get(ref, max); err == nil {
		return b, nil
	}
	var errs []error
	for _, loc := range locations {
		var b []byte
		var err error
		if l.Fetch != nil {
			b, err = l.Fetch(ctx, loc, ref, max)
		} else {
			var c *blobstore.Client
			if c, err = blobstore.ClientFor(loc); err == nil {
				b, err = c.Fetch(ctx, ref, max)
			}
		}
		if err == nil && blobstore.RefOf(b) != ref { // Fetch checks; a replacement may not
			err = fmt.Errorf("%w: %s served %s", blobstore.ErrCorrupt, loc, blobstore.RefOf(b))
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if _, err := l.Store.PutBytes(b); err != nil {
			return nil, err
		}
		return b, nil
	}
	if len(errs) == 0 {
		return nil, errors.New("not in the store and the registry lists no location")
	}
	return nil, errors.Join(errs...)
}

// CacheStats are the cache's counters.
type CacheStats struct {
	Hits, Misses, Evictions uint64
	Bytes                   int64
	Models                  []string
}

// Cache keeps loaded models in memory, least recently used evicted first
// once their weights take more than Capacity bytes (a model larger than
// the capacity is still served, alone). Concurrent requests for a model
// being loaded wait for that one load.
type Cache struct {
	load     func(context.Context, Key) (*Model, error)
	capacity int64
	// OnEvict, when set, is called (without locks held) with each evicted key.
	OnEvict func(Key)

	mu      sync.Mutex
	lru     *list.List // of *cacheEntry, front = most recent
	entries map[Key]*cacheEntry
	bytes   int64
	stats   CacheStats
}

type cacheEntry struct {
	key   Key
	model *Model
	ready chan struct{}
	err   error
	elem  *list.Element
}

// NewCache is a cache of capacity bytes over load.
func NewCache(capacity int64, load func(context.Context, Key) (*Model, error)) *Cache {
	return &Cache{load: load, capacity: capacity, lru: list.New(), entries: map[Key]*cacheEntry{}}
}

// Get returns the model, loading it on a miss. hit reports whether it was
// in memory.
func (c *Cache) Get(ctx context.Context, k Key) (m *Model, hit bool, err error) {
	c.mu.Lock()
	if e, ok := c.entries[k]; ok {
		if e.model != nil {
			c.lru.MoveToFront(e.elem)
			c.stats.Hits++
			c.mu.Unlock()
			return e.model, true, nil
		}
		c.mu.Unlock()
		select {
		case <-e.ready:
		case <-ctx.Done():
			return nil, false, ctx.Err()
		}
		if e.err != nil {
			return nil, false, e.err
		}
		return e.model, false, nil
	}
	e := &cacheEntry{key: k, ready: make(chan struct{})}
	c.entries[k] = e
	c.stats.Misses++
	c.mu.Unlock()

	m, err = c.load(context.WithoutCancel(ctx), k)
	var evicted []Key
	c.mu.Lock()
	if err != nil {
		e.err = err
		delete(c.entries, k)
	} else {
		e.model = m
		e.elem = c.lru.PushFront(e)
		c.bytes += m.Bytes
		for c.bytes > c.capacity && c.lru.Len() > 1 {
			old := c.lru.Back().Value.(*cacheEntry)
			c.lru.Remove(old.elem)
			delete(c.entries, old.key)
			c.bytes -= old.model.Bytes
			c.stats.Evictions++
			evicted = append(evicted, old.key)
		}
	}
	close(e.ready)
	c.mu.Unlock()
	if c.OnEvict != nil {
		for _, k := range evicted {
			c.OnEvict(k)
		}
	}
	return m, false, err
}

// Stats returns the counters and the cached keys, most recent first.
func (c *Cache) Stats() CacheStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stats
	s.Bytes = c.bytes
	for e := c.lru.Front(); e != nil; e = e.Next() {
		s.Models = append(s.Models, e.Value.(*cacheEntry).key.String())
	}
	return s
}
