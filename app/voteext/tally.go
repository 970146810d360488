package voteext

import (
	"fmt"
	"sort"
	"strconv"

	abci "github.com/cometbft/cometbft/abci/types"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/cohortchain/cohort/app/voteext/types"
)

// Event types and attributes emitted by the PreBlocker.
const (
	EventTypeTally     = "vote_extension_tally"
	EventTypeAgreement = "attestation_agreed"
	AttrHeight         = "height"
	AttrVotes          = "votes"
	AttrExtended       = "extended_votes"
	AttrTotalPower     = "total_power"
	AttrAgreements     = "agreements"
	AttrKind           = "kind"
	AttrSubject        = "subject"
	AttrResultHash     = "result_hash"
	AttrPower          = "power"
	AttrHandlerError   = "handler_error"
)

// Agreement is a result that more than 2/3 of the voting power attested:
// of the subject's committee when its handler names one (Committees), else
// of the whole validator set that voted on the block.
type Agreement struct {
	Kind       string
	Subject    []byte
	ResultHash []byte
	// Power is the voting power behind ResultHash; TotalPower is the power
	// of the committee, or of the whole validator set that voted on the
	// block.
	Power, TotalPower int64
	// Voters are the consensus addresses that attested ResultHash, in the
	// order of the commit (by power, then address).
	Voters []sdk.ConsAddress
	// Dissenters attested another result for the same subject.
	Dissenters []sdk.ConsAddress
	// Absent are the committee members that attested nothing for the
	// subject (empty when the whole validator set decides).
	Absent []sdk.ConsAddress
}

// Handler is what a module registers to act on agreements of its kind (the
// federated module finalises rounds, the verify module records verdicts).
// An error discards the handler's state changes and is reported in an event;
// it never halts the chain.
type Handler interface {
	OnAgreement(ctx sdk.Context, a Agreement) error
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx sdk.Context, a Agreement) error

// OnAgreement calls f.
func (f HandlerFunc) OnAgreement(ctx sdk.Context, a Agreement) error { return f(ctx, a) }

// Router maps attestation kinds to handlers.
type Router struct {
	handlers map[string]Handler
}

// NewRouter returns an empty router.
func NewRouter() *Router { return &Router{handlers: map[string]Handler{}} }

// Register routes kind to h. It panics on an invalid or repeated kind:
// routes are wired once, at start-up.
func (r *Router) Register(kind string, h Handler) {
	if err := types.ValidateKind(kind); err != nil {
		panic(err)
	}
	if _, dup := r.handlers[kind]; dup {
		panic(fmt.Sprintf("vote extension kind %q registered twice", kind))
	}
	r.handlers[kind] = h
}

// Kinds lists the registered kinds in sorted order.
func (r *Router) Kinds() []string {
	kinds := make([]string, 0, len(r.handlers))
	for k := range r.handlers {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	return kinds
}

// ballot is what one (kind, subject) received: the voters of each result
// hash, in commit order.
type ballot struct {
	kind    string
	subject []byte
	byHash  map[string][]Member
}

// collect gathers the attestations of an extended commit into ballots, in
// a deterministic order (kind, subject). Votes that are not commit votes,
// and extensions that do not decode for height, attest nothing; total is
// the power of every vote in the commit, so silence never helps a result
// reach quorum.
func collect(info abci.ExtendedCommitInfo, height int64) (ballots []*ballot, extended int, total int64) {
	byKey := map[string]*ballot{}
	for _, v := range info.Votes {
		total += v.Validator.Power
		if v.BlockIdFlag != cmtproto.BlockIDFlagCommit || len(v.VoteExtension) == 0 {
			continue
		}
		ve, err := types.Decode(v.VoteExtension, height)
		if err != nil {
			continue
		}
		extended++
		voter := Member{Address: sdk.ConsAddress(v.Validator.Address), Power: v.Validator.Power}
		for _, a := range ve.Attestations {
			key := a.Key()
			b := byKey[key]
			if b == nil {
				b = &ballot{kind: a.Kind, subject: a.Subject, byHash: map[string][]Member{}}
				byKey[key] = b
			}
			h := string(a.ResultHash)
			b.byHash[h] = append(b.byHash[h], voter)
		}
	}
	keys := make([]string, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		ballots = append(ballots, byKey[k])
	}
	return ballots, extended, total
}

// decide returns the result that more than 2/3 of the electorate's power
// attested, if any. With a committee, only its members' attestations count,
// each with the power the member was sampled with, against the committee's
// total power; Absent lists the members that attested nothing for the
// subject. Without one (nil), every voter counts with its commit power
// against total, the power of the whole commit.
func (b *ballot) decide(committee []Member, total int64) (Agreement, bool) {
	var power map[string]int64
	if len(committee) > 0 {
		power = make(map[string]int64, len(committee))
		for _, m := range committee {
			power[string(m.Address)] = m.Power
		}
		total = CommitteePower(committee)
	}
	counted := func(voters []Member) (sum int64, kept []sdk.ConsAddress) {
		for _, v := range voters {
			p := v.Power
			if power != nil {
				var member bool
				if p, member = power[string(v.Address)]; !member {
					continue
				}
			}
			sum += p
			kept = append(kept, v.Address)
		}
		return sum, kept
	}
	hashes := make([]string, 0, len(b.byHash))
	for h := range b.byHash {
		hashes = append(hashes, h)
	}
	sort.Strings(hashes)
	for _, h := range hashes {
		p, voters := counted(b.byHash[h])
		if !HasQuorum(p, total) {
			continue
		}
		a := Agreement{Kind: b.kind, Subject: b.subject, ResultHash: []byte(h), Power: p, TotalPower: total, Voters: voters}
		attested := map[string]bool{}
		for _, oh := range hashes {
			_, others := counted(b.byHash[oh])
			for _, v := range others {
				attested[string(v)] = true
			}
			if oh != h {
				a.Dissenters = append(a.Dissenters, others...)
			}
		}
		for _, m := range committee {
			if !attested[string(m.Address)] {
				a.Absent = append(a.Absent, m.Address)
			}
		}
		return a, true // at most one result can hold more than 2/3
	}
	return Agreement{}, false
}

// Tally counts the attestations in an extended commit by voting power and
// returns every (kind, subject) whose leading result has more than 2/3 of
// the total power of the commit, in a deterministic order (kind, subject).
// Votes that are not commit votes, and extensions that do not decode for
// height, count for nothing; their power still counts in the total, so
// silence never helps a result reach quorum. Committees are the router's
// business (PreBlock); Tally counts the whole set.
func Tally(info abci.ExtendedCommitInfo, height int64) (agreements []Agreement, extended int, total int64) {
	ballots, extended, total := collect(info, height)
	for _, b := range ballots {
		if a, ok := b.decide(nil, total); ok {
			agreements = append(agreements, a)
		}
	}
	return agreements, extended, total
}

// HasQuorum reports whether power is more than 2/3 of total.
func HasQuorum(power, total int64) bool {
	return total > 0 && 3*power > 2*total
}

// PreBlock tallies the extended commit carried by the block, if one is due,
// and hands each agreement to the handler of its kind. It records what it
// did in events; it returns an error only for a block that should never
// have passed ProcessProposal.
func (r *Router) PreBlock(ctx sdk.Context, req *abci.RequestFinalizeBlock) error {
	if !ExtensionsInBlock(ctx, req.Height) {
		return nil
	}
	if len(req.Txs) == 0 {
		return fmt.Errorf("block %d carries no extended commit", req.Height)
	}
	info, err := DecodeInjectedTx(req.Txs[0])
	if err != nil {
		return fmt.Errorf("block %d: %w", req.Height, err)
	}
	ballots, extended, total := collect(info, req.Height-1)
	var agreements []Agreement
	var failures []sdk.Event
	for _, b := range ballots {
		committee, err := r.committee(ctx, b)
		if err != nil {
			failures = append(failures, sdk.NewEvent(EventTypeAgreement,
				sdk.NewAttribute(AttrKind, b.kind),
				sdk.NewAttribute(AttrSubject, fmt.Sprintf("%X", b.subject)),
				sdk.NewAttribute(AttrHandlerError, "committee: "+err.Error())))
			continue
		}
		if a, ok := b.decide(committee, total); ok {
			agreements = append(agreements, a)
		}
	}
	em := ctx.EventManager()
	em.EmitEvent(sdk.NewEvent(EventTypeTally,
		sdk.NewAttribute(AttrHeight, strconv.FormatInt(req.Height-1, 10)),
		sdk.NewAttribute(AttrVotes, strconv.Itoa(len(info.Votes))),
		sdk.NewAttribute(AttrExtended, strconv.Itoa(extended)),
		sdk.NewAttribute(AttrTotalPower, strconv.FormatInt(total, 10)),
		sdk.NewAttribute(AttrAgreements, strconv.Itoa(len(agreements))),
	))
	em.EmitEvents(failures)
	for _, a := range agreements {
		attrs := []sdk.Attribute{
			sdk.NewAttribute(AttrKind, a.Kind),
			sdk.NewAttribute(AttrSubject, fmt.Sprintf("%X", a.Subject)),
			sdk.NewAttribute(AttrResultHash, fmt.Sprintf("%X", a.ResultHash)),
			sdk.NewAttribute(AttrPower, strconv.FormatInt(a.Power, 10)),
		}
		h, ok := r.handlers[a.Kind]
		if !ok {
			attrs = append(attrs, sdk.NewAttribute(AttrHandlerError, "no handler for kind"))
			em.EmitEvent(sdk.NewEvent(EventTypeAgreement, attrs...))
			continue
		}
		cacheCtx, write := ctx.CacheContext()
		if err := h.OnAgreement(cacheCtx, a); err != nil {
			ctx.Logger().Error("attestation handler failed", "kind", a.Kind, "subject", fmt.Sprintf("%X", a.Subject), "err", err)
			attrs = append(attrs, sdk.NewAttribute(AttrHandlerError, err.Error()))
		} else {
			write()
		}
		em.EmitEvent(sdk.NewEvent(EventTypeAgreement, attrs...))
	}
	return nil
}

// committee is the committee that decides b's subject: the one its handler
// names when the handler implements Committees, else none (the whole set).
// The handler is asked in a cache context whose writes are dropped.
func (r *Router) committee(ctx sdk.Context, b *ballot) ([]Member, error) {
	h, ok := r.handlers[b.kind]
	if !ok {
		return nil, nil
	}
	c, ok := h.(Committees)
	if !ok {
		return nil, nil
	}
	cacheCtx, _ := ctx.CacheContext()
	return c.Committee(cacheCtx, b.subject)
}
