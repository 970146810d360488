package federation

import (
	"crypto/rand"
	"fmt"
	"math"
	mrand "math/rand/v2"

	"github.com/cohortchain/cohort/sidecar/aggregate"
	"github.com/cohortchain/cohort/sidecar/privacy"
	"github.com/cohortchain/cohort/sidecar/tensor"
	"github.com/cohortchain/cohort/x/federated/types"
)

// Client-level differential privacy (PRIVACY_MODE_CLIENT_DP) as the
// off-chain parties run it.
//
// Provider (PrivatizeUpdate): after LocalUpdate, the update (new weights −
// global weights) is clipped to L2 norm at most C = clip_norm
// (privacy.ClipUpdate), then N(0, (σC)²), σ = noise_multiplier, is added
// to every coordinate, drawn from private randomness (crypto/rand seeds a
// ChaCha8 generator per update; nothing public determines the noise, so
// nobody can subtract it). The blob the provider commits to and serves is
// the clipped and noised update; its checkpoint root stays that of the
// deterministic, un-noised local training, which verifiers can still
// re-execute.
//
// Why every update carries the whole σC. The chain's accountant
// (x/federated/types/privacy_budget.go) charges each finalised round as
// one Gaussian release of noise multiplier σ about every client. The
// update blobs are public: their locations are on-chain and any provider
// serves its blobs by hash to whoever asks (validators, the replay,
// anyone). Each blob is therefore itself a release about its client, of
// sensitivity C, and only noise of standard deviation σC on that blob
// makes the chain's ε hold for it. Splitting the noise across the r
// updates of a round (σC/√r each, which sums to σC) would be enough for
// the aggregate alone, but would leave each public blob with noise
// multiplier σ/√r, an r-fold larger Rényi divergence than the one
// accounted; that scheme is only sound when nobody sees individual
// updates, i.e. under secure aggregation. With the whole σC per update the
// guarantee is local: it holds for an honest client whatever the other
// providers, the validators or the observers do, and it does not depend
// on how many updates a round accepts. The aggregate, a mean of such
// updates, is post-processing and costs no further ε. The price is
// utility: the mean of n updates carries noise σC/√n per coordinate
// instead of σC/n.
//
// Neighbouring datasets are those that differ in one client's whole
// contribution (its update replaced by nothing), for which clipping gives
// sensitivity C. Which providers took part is public on-chain anyway.
//
// Validators (Aggregate with a CLIENT_DP spec): the rule must be fedavg;
// every valid update gets weight 1 (the unweighted mean), not its sample
// count, which no one bounds and which would change the sensitivity. Updates
// that are invalid as in any run (unavailable, not matching their
// commitment, wrong layout, NaN or ±Inf) are rejected, and so is one
// whose L2 norm exceeds DPParams.NormBound, a sanity bound that a clipped
// and noised update breaks with probability below 10⁻⁸. It catches
// boosted or un-clipped updates that are far out; it is not a proof of
// clipping (a dishonest provider can send any vector inside the bound, or
// skip its noise, which only hurts its own privacy).

// DPParams are a client-dp run's clipping bound C and noise multiplier σ.
type DPParams struct {
	Clip            float64
	NoiseMultiplier float64
}

// DPParamsOf reads the client-dp settings of a run's privacy; ok is false
// when the run's mode is not client-dp.
func DPParamsOf(p types.Privacy) (params DPParams, ok bool, err error) {
	if p.Mode != types.PRIVACY_MODE_CLIENT_DP {
		return DPParams{}, false, nil
	}
	c, err := parseDec("privacy.clip_norm", p.ClipNorm)
	if err != nil {
		return DPParams{}, false, err
	}
	s, err := parseDec("privacy.noise_multiplier", p.NoiseMultiplier)
	if err != nil {
		return DPParams{}, false, err
	}
	params = DPParams{Clip: c, NoiseMultiplier: s}
	if err := params.validate(); err != nil {
		return DPParams{}, false, err
	}
	return params, true, nil
}

func (p DPParams) validate() error {
	if !(p.Clip > 0) || math.IsInf(p.Clip, 0) || !(p.NoiseMultiplier > 0) || math.IsInf(p.NoiseMultiplier, 0) {
		return fmt.Errorf("federation: client-dp needs a positive finite clip norm and noise multiplier, got %v and %v", p.Clip, p.NoiseMultiplier)
	}
	return nil
}

// NoiseStd is the standard deviation of the noise every provider adds to
// each coordinate of its clipped update: σC (see the package's client-dp
// notes for why not less).
func (p DPParams) NoiseStd() float64 { return p.NoiseMultiplier * p.Clip }

// NormBound is the largest L2 norm validators accept from a clipped and
// noised update of d coordinates: C + σC·(√d + 6), plus 10⁻⁵ relative
// for float32 rounding. The noise vector is σC·z with z standard normal
// in d dimensions; ‖z‖ is 1-Lipschitz in z and E‖z‖ ≤ √d, so by Gaussian
// concentration P(‖z‖ > √d + t) ≤ exp(−t²/2), below 1.6·10⁻⁸ for t = 6,
// and the clipped part adds at most C. A sanity bound, not a proof of
// clipping.
func (p DPParams) NormBound(d int) float64 {
	return (p.Clip + p.NoiseStd()*(math.Sqrt(float64(d))+6)) * (1 + 1e-5)
}

// PrivatizeUpdate clips res.Update to L2 norm at most p.Clip and adds
// N(0, (σC)²) to every coordinate from private randomness (crypto/rand),
// in place, and re-encodes res.Blob. Samples, CheckpointRoot and Losses
// are those of the local training, unchanged. Two calls never give the
// same noise.
func PrivatizeUpdate(res LocalResult, p DPParams) (LocalResult, error) {
	var seed [32]byte
	if _, err := rand.Read(seed[:]); err != nil {
		return res, fmt.Errorf("federation: private randomness: %w", err)
	}
	return privatize(res, p, mrand.New(mrand.NewChaCha8(seed)))
}

// privatize is PrivatizeUpdate with the noise drawn from g.
func privatize(res LocalResult, p DPParams, g *mrand.Rand) (LocalResult, error) {
	if err := p.validate(); err != nil {
		return res, err
	}
	if _, _, err := privacy.ClipUpdate(res.Update, p.Clip); err != nil {
		return res, err
	}
	std := p.NoiseStd()
	for _, name := range res.Update.Names() {
		v := res.Update[name].Data
		for i, x := range v {
			v[i] = float32(float64(x) + std*g.NormFloat64())
		}
	}
	blob, err := EncodeWeights(res.Update)
	if err != nil {
		return res, err
	}
	res.Blob = blob
	return res, nil
}

// numParams is the number of coordinates of a set.
func numParams(s tensor.Set) int {
	n := 0
	for _, t := range s {
		n += len(t.Data)
	}
	return n
}

// aggregateClientDP is Aggregate for a client-dp run (see the package's
// client-dp notes): ups are sorted by hash; the valid ones whose norm is
// within p.NormBound are averaged with weight 1 each, in that order.
func aggregateClientDP(rule types.AggregationRule, p DPParams, global tensor.Set, ups []Submitted) (Outcome, error) {
	if rule.Name != types.RuleFedAvg {
		return Outcome{}, fmt.Errorf("federation: client-dp runs aggregate with %s, not %q", types.RuleFedAvg, rule.Name)
	}
	out := Outcome{Reasons: map[string]string{}}
	reject := func(h []byte, why string) {
		out.Rejected = append(out.Rejected, h)
		out.Reasons[string(h)] = why
	}
	bound := p.NormBound(numParams(global))
	var vecs []aggregate.Update
	for _, u := range ups {
		switch {
		case u.Invalid != "":
			reject(u.Hash, u.Invalid)
		case u.Samples == 0:
			reject(u.Hash, "no samples")
		case u.Update == nil:
			reject(u.Hash, "no update")
		default:
			if err := u.Update.SameLayout(global); err != nil {
				reject(u.Hash, err.Error())
				continue
			}
			n, err := privacy.Norm(u.Update)
			if err != nil {
				reject(u.Hash, err.Error())
				continue
			}
			if n > bound {
				reject(u.Hash, fmt.Sprintf("L2 norm %.6g above the client-dp bound %.6g", n, bound))
				continue
			}
			out.Accepted = append(out.Accepted, u.Hash)
			vecs = append(vecs, aggregate.Update{Vector: aggregate.Flatten(u.Update), Samples: 1})
		}
	}
	if len(vecs) == 0 {
		return Outcome{}, ErrNothingToAggregate
	}
	delta, err := aggregate.FedAvg{}.Aggregate(nil, vecs)
	if err != nil {
		return Outcome{}, err
	}
	return finish(out, global, delta)
}
