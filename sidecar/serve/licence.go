package serve

import (
	"context"
	"sync"
	"time"

	regtypes "github.com/cohortchain/cohort/x/registry/types"
)

// Licences answers whether a client may use a model version (x/registry's
// CanUse), caching answers for TTL (default 10 s), so that a licence
// revoked or a model frozen after a lease was opened is refused within
// TTL. It is safe for concurrent use; providers and gateways share it.
type Licences struct {
	Q   regtypes.QueryClient
	TTL time.Duration

	mu    sync.Mutex
	cache map[licenceKey]licenceAnswer
}

type licenceKey struct {
	k      Key
	client string
}

type licenceAnswer struct {
	ok     bool
	reason string
	at     time.Time
}

// Allowed says whether client may use k, and why not.
func (l *Licences) Allowed(ctx context.Context, k Key, client string) (bool, string, error) {
	ttl := l.TTL
	if ttl <= 0 {
		ttl = 10 * time.Second
	}
	key := licenceKey{k, client}
	l.mu.Lock()
	a, ok := l.cache[key]
	l.mu.Unlock()
	if ok && time.Since(a.at) < ttl {
		return a.ok, a.reason, nil
	}
	res, err := l.Q.CanUse(ctx, &regtypes.QueryCanUseRequest{ModelId: k.Model, Number: k.Version, Account: client})
	if err != nil {
		return false, "", err
	}
	l.mu.Lock()
	if l.cache == nil {
		l.cache = map[licenceKey]licenceAnswer{}
	}
	l.cache[key] = licenceAnswer{res.Allowed, res.Reason, time.Now()}
	l.mu.Unlock()
	return res.Allowed, res.Reason, nil
}
