package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"

	cryptotypes "github.com/cosmos/cosmos-sdk/crypto/types"

	"github.com/cohortchain/cohort/sidecar/serve"
	markettypes "github.com/cohortchain/cohort/x/market/types"
)

// Paying providers.
//
// A Payer pays for one client account's requests: it holds the account's
// key (a gateway the client runs, or trusts with it) and the client's
// inference leases (market jobs leased to providers), and signs a voucher
// (markettypes.VoucherSignBytes) for every request it sends to a provider:
// the cumulative units of the lease with that provider, this request
// included. Providers serve only against a covering voucher and claim on
// chain with the highest (serve/payment.go). A request to a provider the
// client holds no lease with for the model is not sent there; a provider
// that answers 402 (lease paused or out of escrow or units) is passed over
// for the next one, and when none is left the client gets the 402 with its
// message ("out of funds: top up job N").
//
// The cumulative count is kept in Path across restarts (written every
// refresh and at Close); a voucher sent to a provider that then failed
// stays valid, so a client may pay for requests in flight to a provider
// that died (at most MaxTries-1 requests' units per failure).
type Payer struct {
	ChainID string
	Account string
	Key     cryptotypes.PrivKey
	// Leases lists the account's live inference leases (ChainLeases).
	Leases LeaseLister
	Path   string

	mu   sync.Mutex
	cum  map[uint64]uint64
	jobs map[payKey]uint64
}

type payKey struct {
	provider string
	k        serve.Key
}

// LeaseLister lists a client's inference leases.
type LeaseLister interface {
	ClientLeases(ctx context.Context, client string) ([]serve.Lease, error)
}

// StaticLeases is a fixed list of leases (tests, the load script).
type StaticLeases []serve.Lease

// ClientLeases returns the leases of client.
func (s StaticLeases) ClientLeases(_ context.Context, client string) ([]serve.Lease, error) {
	var out []serve.Lease
	for _, l := range s {
		if l.Client == client {
			out = append(out, l)
		}
	}
	return out, nil
}

// ChainLeases lists leases from x/market.
type ChainLeases struct{ Q markettypes.QueryClient }

// ClientLeases returns client's leased (or paused) inference jobs.
func (c ChainLeases) ClientLeases(ctx context.Context, client string) ([]serve.Lease, error) {
	var out []serve.Lease
	for _, st := range []markettypes.JobState{markettypes.JOB_STATE_LEASED, markettypes.JOB_STATE_PAUSED} {
		res, err := c.Q.Jobs(ctx, &markettypes.QueryJobsRequest{Client: client, State: st})
		if err != nil {
			return nil, err
		}
		for _, j := range res.Jobs {
			if l, err := serve.LeaseOf(j); err == nil {
				out = append(out, l)
			}
		}
	}
	return out, nil
}

// errNoLease: the client holds no lease with the provider for the model.
var errNoLease = errors.New("gateway: no lease with this provider")

// Refresh reads the leases again (the newest job per provider and model
// wins) and saves the counts.
func (p *Payer) Refresh(ctx context.Context) error {
	list, err := p.Leases.ClientLeases(ctx, p.Account)
	if err != nil {
		return err
	}
	jobs := map[payKey]uint64{}
	for _, l := range list {
		pk := payKey{l.Provider, l.Model}
		if l.JobID > jobs[pk] {
			jobs[pk] = l.JobID
		}
	}
	p.mu.Lock()
	p.jobs = jobs
	if p.cum == nil {
		p.cum = map[uint64]uint64{}
	}
	// Never below what the chain has claimed already.
	for _, l := range list {
		p.cum[l.JobID] = max(p.cum[l.JobID], l.Settled+l.Pending)
	}
	p.mu.Unlock()
	return p.Save()
}

// Load reads the counts kept in Path.
func (p *Payer) Load() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cum = map[uint64]uint64{}
	if p.Path == "" {
		return nil
	}
	b, err := os.ReadFile(p.Path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	var m map[string]uint64
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	for k, v := range m {
		if id, err := strconv.ParseUint(k, 10, 64); err == nil {
			p.cum[id] = v
		}
	}
	return nil
}

// Save writes the counts to Path.
func (p *Payer) Save() error {
	if p.Path == "" {
		return nil
	}
	p.mu.Lock()
	m := make(map[string]uint64, len(p.cum))
	for id, v := range p.cum {
		m[strconv.FormatUint(id, 10)] = v
	}
	p.mu.Unlock()
	b, _ := json.Marshal(m)
	tmp := p.Path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, p.Path)
}

// Pays says whether the payer has a lease with provider for k.
func (p *Payer) Pays(provider string, k serve.Key) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, ok := p.jobs[payKey{provider, k}]
	return ok
}

// Voucher signs the voucher for a request of units to provider for k:
// the lease's cumulative units, this request included. It returns the
// HeaderVoucher value.
func (p *Payer) Voucher(provider string, k serve.Key, units uint64) (string, error) {
	h, _, err := p.voucher(provider, k, units)
	return h, err
}

// Refused takes back the units of a voucher the provider refused (402:
// it served nothing and kept nothing), when no later voucher of the lease
// was signed since; otherwise they stay counted (the provider may hold a
// later voucher covering them).
func (p *Payer) Refused(job, cumulative, units uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cum[job] == cumulative && cumulative >= units {
		p.cum[job] -= units
	}
}

func (p *Payer) voucher(provider string, k serve.Key, units uint64) (string, serve.VoucherHeader, error) {
	p.mu.Lock()
	job, ok := p.jobs[payKey{provider, k}]
	if !ok {
		p.mu.Unlock()
		return "", serve.VoucherHeader{}, errNoLease
	}
	if p.cum == nil {
		p.cum = map[uint64]uint64{}
	}
	p.cum[job] += units
	c := p.cum[job]
	p.mu.Unlock()
	sig, err := p.Key.Sign(markettypes.VoucherSignBytes(p.ChainID, job, provider, c, nil))
	if err != nil {
		p.Refused(job, c, units)
		return "", serve.VoucherHeader{}, fmt.Errorf("gateway: signing a voucher: %w", err)
	}
	vh := serve.VoucherHeader{JobID: job, CumulativeUnits: c, Signature: sig}
	return vh.Encode(), vh, nil
}
