package daemon

import (
	"slices"

	"github.com/cohortchain/cohort/sidecar/aggregate"
	"github.com/cohortchain/cohort/sidecar/federation"
)

// Byzantine behaviours a sidecar can be told to show (Config.Attack), to
// test and demonstrate that the protocol withstands them. A provider:
//
//	sign-flip       sends −4 × its honest update
//	gaussian        sends Gaussian noise (σ = 1) of the update's size
//	label-flip      trains honestly on labels mapped y → classes−1−y
//	                (data.FlipLabels, applied when the data is loaded)
//	corrupt-blob    commits to a size its blob does not have, so the bytes
//	                served never match the commitment
//	silent          joins runs but never submits an update
//	drop-after-sharing
//	                in a secure-aggregation round, advertises and shares
//	                its keys, then sends nothing (the drop-out the
//	                protocol's recovery is for); elsewhere, silent
//
// and in a market training lease (lease.go):
//
//	skip-steps      replaces a quarter of the steps (drawn from the job's
//	                seed) by plausible random weights (the previous ones
//	                plus small noise) instead of computing them; its leaves
//	                commit to what it returns
//	wrong-data      trains honestly on other data than the job names (the
//	                synthetic set of another seed, or flipped labels)
//	stale-checkpoint
//	                stops working after three quarters of the steps and
//	                returns that old checkpoint as every later step's
//	                result (and as the delivered weights)
//
// A validator:
//
//	wrong-aggregate attests (and would reveal) weights with one value
//	                changed, as a faulty or lying aggregator would
//	wrong-verdict   attests the opposite of its re-execution on every
//	                verification task: FAIL (at the first sampled step)
//	                for an honest provider, PASS for a cheating one
const (
	AttackSignFlip       = "sign-flip"
	AttackGaussian       = "gaussian"
	AttackLabelFlip      = "label-flip"
	AttackCorruptBlob    = "corrupt-blob"
	AttackSilent         = "silent"
	AttackDropAfterShare = "drop-after-sharing"
	AttackWrongAggregate = "wrong-aggregate"
	AttackSkipSteps      = "skip-steps"
	AttackWrongData      = "wrong-data"
	AttackStale          = "stale-checkpoint"
	AttackWrongVerdict   = "wrong-verdict"
)

// Attacks lists the providers' attacks; ValidatorAttacks the validators'.
var (
	Attacks          = []string{AttackSignFlip, AttackGaussian, AttackLabelFlip, AttackCorruptBlob, AttackSilent, AttackDropAfterShare, AttackSkipSteps, AttackWrongData, AttackStale}
	ValidatorAttacks = []string{AttackWrongAggregate, AttackWrongVerdict}
)

func validAttack(role, a string) bool {
	if role == RoleValidator {
		return slices.Contains(ValidatorAttacks, a)
	}
	return slices.Contains(Attacks, a)
}

// Attack replaces an honest update with the named attack's (label-flip
// acts on the data instead; see FlipLabels). The replay of a run calls it
// too, to reproduce a Byzantine provider's update.
func Attack(name string, res federation.LocalResult, roundSeed []byte) (federation.LocalResult, error) {
	var vec []float32
	switch name {
	case AttackSignFlip:
		vec = aggregate.SignFlip(aggregate.Flatten(res.Update), 4)
	case AttackGaussian:
		vec = aggregate.GaussianNoise(len(aggregate.Flatten(res.Update)), 1, federation.TrainingSeed(roundSeed, "attack/gaussian"))
	default:
		return res, nil
	}
	u, err := aggregate.Unflatten(vec, res.Update)
	if err != nil {
		return res, err
	}
	blob, err := federation.EncodeWeights(u)
	if err != nil {
		return res, err
	}
	res.Update, res.Blob = u, blob
	return res, nil
}
