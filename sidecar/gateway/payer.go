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

	"github.com/cohortchain/cohort/sidecar/durable"
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
// Credit is how far ahead of the units used a voucher is signed: with
// Credit 0 every request carries a new voucher for exactly the units sent
// so far; with Credit c a voucher covers c units more, and the requests
// it covers carry it again (no new signature, and the provider checks a
// voucher only when it is higher than the best it holds), so signing and
// checking cost once per c+1 units. What the client risks is the credit:
// a provider may claim up to Credit units it did not serve, per lease.
//
// The signed count is kept in Path across restarts (written every
// refresh); a voucher sent to a provider that then failed stays valid, so
// a client may pay for requests in flight to a provider that died. A
// request a provider refused (402) does not count.
type Payer struct {
	ChainID string
	Account string
	Key     cryptotypes.PrivKey
	// Leases lists the account's live inference leases (ChainLeases).
	Leases LeaseLister
	Path   string
	Credit uint64

	mu   sync.Mutex
	cum  map[uint64]*payJob
	jobs map[payKey]uint64
}

// payJob is what a payer has sent on one lease: units used by requests,
// the highest voucher signed, and its header.
type payJob struct {
	used, signed uint64
	header       string
}

func (p *Payer) job(id uint64) *payJob {
	if p.cum == nil {
		p.cum = map[uint64]*payJob{}
	}
	j := p.cum[id]
	if j == nil {
		j = &payJob{}
		p.cum[id] = j
	}
	return j
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
	// Never below what the chain has claimed already.
	for _, l := range list {
		j := p.job(l.JobID)
		if c := l.Settled + l.Pending; c > j.signed {
			j.used, j.signed, j.header = c, c, ""
		}
	}
	p.mu.Unlock()
	return p.Save()
}

// Load reads the counts kept in Path.
func (p *Payer) Load() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cum = map[uint64]*payJob{}
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
			p.cum[id] = &payJob{used: v, signed: v}
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
	for id, j := range p.cum {
		m[strconv.FormatUint(id, 10)] = j.signed
	}
	p.mu.Unlock()
	b, _ := json.Marshal(m)
	return durable.WriteFile(p.Path, b, 0o600)
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

// Refused takes back the units of a request a provider refused (402: it
// served nothing). The voucher signed stays the highest; the next
// requests are covered by it until they use it up.
func (p *Payer) Refused(job, units uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if j := p.cum[job]; j != nil && j.used >= units {
		j.used -= units
	}
}

// voucher counts units on provider's lease for k and returns the header of
// a voucher covering them: the last one signed when it does, else a new
// one for the units used plus Credit (signed under the lock, so that a
// request never carries a voucher lower than one signed before it).
func (p *Payer) voucher(provider string, k serve.Key, units uint64) (string, serve.VoucherHeader, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	id, ok := p.jobs[payKey{provider, k}]
	if !ok {
		return "", serve.VoucherHeader{}, errNoLease
	}
	j := p.job(id)
	j.used += units
	if j.used <= j.signed && j.header != "" {
		return j.header, serve.VoucherHeader{JobID: id, CumulativeUnits: j.signed}, nil
	}
	c := j.used + p.Credit
	sig, err := p.Key.Sign(markettypes.VoucherSignBytes(p.ChainID, id, provider, c, nil))
	if err != nil {
		j.used -= units
		return "", serve.VoucherHeader{}, fmt.Errorf("gateway: signing a voucher: %w", err)
	}
	vh := serve.VoucherHeader{JobID: id, CumulativeUnits: c, Signature: sig}
	j.signed, j.header = c, vh.Encode()
	return j.header, vh, nil
}
