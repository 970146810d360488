package gateway

import (
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/cohortchain/cohort/sidecar/serve"
)

// The routing rule, in one place.
//
// Each provider serving the model gets a cost, lower is better:
//
//	cost = expected latency × price factor / trust
//	expected latency = (latency EWMA + 0.1 ms) × (1 + requests in flight to it)
//	price factor     = 1 + PriceWeight × price / mean price of the candidates
//	trust            = 0.05 + reputation          (reputation in [0, 1])
//
// The latency EWMA (weight EWMAWeight per answer) starts at the prior: the
// mean of the providers measured within the last LatencyHalfLife (of all
// measured when none was; 1 ms when none is), so a new provider is tried.
// A measurement ages: the longer a provider has not answered, the closer
// its expected latency moves to the prior (halfway every LatencyHalfLife),
// so one slow answer (a cold start, a hiccup) cannot keep a provider out
// of the comparisons for ever, which would also keep it from ever being
// measured again; and its next answer weighs the more, the staler the
// estimate it updates. A request goes to the cheaper of two candidates
// drawn at random ("power of two choices"): load spreads over good providers instead of
// piling onto the single best one, the best still gets the most, and a
// provider far worse than the rest is rarely picked. Providers that failed
// (connection refused, 5xx, per-try timeout) are skipped until their
// back-off ends: BackoffBase doubling per consecutive failure, at most
// BackoffMax. When every candidate is backing off, the one whose back-off
// ends first is tried anyway, so a request never fails without a try.
const (
	EWMAWeight  = 0.2
	PriceWeight = 0.5
	BackoffBase = 250 * time.Millisecond
	BackoffMax  = 10 * time.Second
	// LatencyHalfLife is how fast an unrefreshed latency measurement
	// returns to the mean of the providers measured.
	LatencyHalfLife = 5 * time.Second
)

// provider is a ProviderInfo with what the gateway measured.
type provider struct {
	ProviderInfo
	mu        sync.Mutex
	ewma      float64 // seconds; 0 = not measured
	measured  time.Time
	inflight  int
	fails     int
	downUntil time.Time
	served    uint64
	failed    uint64
}

// ProviderStatus is a provider as GET /v1/providers shows it.
type ProviderStatus struct {
	ProviderInfo
	LatencyMs float64 `json:"latency_ewma_ms"`
	InFlight  int     `json:"in_flight"`
	Healthy   bool    `json:"healthy"`
	Served    uint64  `json:"served"`
	Failed    uint64  `json:"failed"`
}

// table is the routing table.
type table struct {
	mu   sync.RWMutex
	list []*provider
	rng  *rand.Rand
	rmu  sync.Mutex
	now  func() time.Time
}

// set replaces the provider list, keeping measurements of known URLs.
func (t *table) set(infos []ProviderInfo) {
	t.mu.Lock()
	defer t.mu.Unlock()
	old := map[string]*provider{}
	for _, p := range t.list {
		old[p.URL] = p
	}
	list := make([]*provider, 0, len(infos))
	for _, in := range infos {
		if p, ok := old[in.URL]; ok {
			p.mu.Lock()
			p.ProviderInfo = in
			p.mu.Unlock()
			list = append(list, p)
			continue
		}
		list = append(list, &provider{ProviderInfo: in})
	}
	t.list = list
}

// candidates are the providers serving k other than exclude.
func (t *table) candidates(k serve.Key, exclude map[*provider]bool) []*provider {
	t.mu.RLock()
	defer t.mu.RUnlock()
	var out []*provider
	for _, p := range t.list {
		if !exclude[p] && p.Serves(k) {
			out = append(out, p)
		}
	}
	return out
}

// pick applies the routing rule to the candidates; nil when there are none.
func (t *table) pick(cands []*provider) *provider {
	if len(cands) == 0 {
		return nil
	}
	now := t.now()
	var healthy []*provider
	var soonest *provider
	var soonestAt time.Time
	priceSum, measured, latSum, fresh, freshSum := 0.0, 0, 0.0, 0, 0.0
	for _, p := range cands {
		p.mu.Lock()
		down, until := now.Before(p.downUntil), p.downUntil
		priceSum += p.Price
		if p.ewma > 0 {
			measured++
			latSum += p.ewma
			if now.Sub(p.measured) < LatencyHalfLife {
				fresh++
				freshSum += p.ewma
			}
		}
		p.mu.Unlock()
		if !down {
			healthy = append(healthy, p)
		} else if soonest == nil || until.Before(soonestAt) {
			soonest, soonestAt = p, until
		}
	}
	if len(healthy) == 0 {
		return soonest
	}
	prior := 1e-3
	switch {
	case fresh > 0:
		prior = freshSum / float64(fresh)
	case measured > 0:
		prior = latSum / float64(measured)
	}
	meanPrice := priceSum / float64(len(cands))
	if len(healthy) == 1 {
		return healthy[0]
	}
	t.rmu.Lock()
	i := t.rng.IntN(len(healthy))
	j := t.rng.IntN(len(healthy) - 1)
	t.rmu.Unlock()
	if j >= i {
		j++
	}
	a, b := healthy[i], healthy[j]
	if cost(b, prior, meanPrice, now) < cost(a, prior, meanPrice, now) {
		return b
	}
	return a
}

// pickAny picks one of the healthy candidates uniformly at random (the
// one back soonest when all are backing off); nil when there are none.
// Redundancy checks choose with it, not by the routing rule: a provider
// must not escape checks by being slow or dear.
func (t *table) pickAny(cands []*provider) *provider {
	now := t.now()
	var healthy []*provider
	var soonest *provider
	var soonestAt time.Time
	for _, p := range cands {
		p.mu.Lock()
		down, until := now.Before(p.downUntil), p.downUntil
		p.mu.Unlock()
		if !down {
			healthy = append(healthy, p)
		} else if soonest == nil || until.Before(soonestAt) {
			soonest, soonestAt = p, until
		}
	}
	if len(healthy) == 0 {
		return soonest
	}
	t.rmu.Lock()
	defer t.rmu.Unlock()
	return healthy[t.rng.IntN(len(healthy))]
}

// cost is the routing rule's cost of p (see the top of this file).
func cost(p *provider, prior, meanPrice float64, now time.Time) float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	lat := prior
	if p.ewma > 0 {
		age := now.Sub(p.measured).Seconds() / LatencyHalfLife.Seconds()
		lat = prior + (p.ewma-prior)*math.Exp2(-math.Max(0, age))
	}
	expected := (lat + 1e-4) * float64(1+p.inflight)
	priceFactor := 1.0
	if meanPrice > 0 {
		priceFactor += PriceWeight * p.Price / meanPrice
	}
	return expected * priceFactor / (0.05 + math.Max(0, math.Min(1, p.Reputation)))
}

// start counts a request in flight to p.
func (p *provider) start() {
	p.mu.Lock()
	p.inflight++
	p.mu.Unlock()
}

// Outcomes of a provider request, for done.
const (
	outcomeOK      = iota // answered: its latency is measured
	outcomeNeutral        // refused the request for a reason not its health (client error, model not served)
	outcomeFail           // down, failing or too slow: back off
)

// done records the outcome of a request to p that took d.
func (p *provider) done(outcome int, d time.Duration, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.inflight--
	if outcome == outcomeNeutral {
		return
	}
	if outcome == outcomeOK {
		s := d.Seconds()
		if p.ewma == 0 {
			p.ewma = s
		} else {
			// The old estimate weighs less the staler it is.
			keep := (1 - EWMAWeight) * math.Exp2(-math.Max(0, now.Sub(p.measured).Seconds())/LatencyHalfLife.Seconds())
			p.ewma = keep*p.ewma + (1-keep)*s
		}
		p.measured = now
		p.fails = 0
		p.downUntil = time.Time{}
		p.served++
		return
	}
	p.failed++
	p.fails++
	back := BackoffBase << min(p.fails-1, 10)
	p.downUntil = now.Add(min(back, BackoffMax))
}

func (t *table) status() []ProviderStatus {
	t.mu.RLock()
	defer t.mu.RUnlock()
	now := t.now()
	out := make([]ProviderStatus, 0, len(t.list))
	for _, p := range t.list {
		p.mu.Lock()
		out = append(out, ProviderStatus{ProviderInfo: p.ProviderInfo, LatencyMs: p.ewma * 1e3, InFlight: p.inflight,
			Healthy: !now.Before(p.downUntil), Served: p.served, Failed: p.failed})
		p.mu.Unlock()
	}
	return out
}
