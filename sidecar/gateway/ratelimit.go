package gateway

import (
	"sync"
	"time"
)

// RateLimiter is a token bucket per client: Rate requests a second on
// average, bursts of up to Burst. Each request takes one token.
type RateLimiter struct {
	Rate  float64
	Burst float64
	Now   func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

// Allow takes a token from client's bucket, or reports that it is empty.
func (l *RateLimiter) Allow(client string) bool {
	if l == nil || l.Rate <= 0 {
		return true
	}
	now := l.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buckets == nil {
		l.buckets = map[string]*bucket{}
	}
	b, ok := l.buckets[client]
	if !ok {
		b = &bucket{tokens: l.Burst, at: now}
		l.buckets[client] = b
	}
	if el := now.Sub(b.at).Seconds(); el > 0 {
		b.tokens = min(l.Burst, b.tokens+el*l.Rate)
		b.at = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
