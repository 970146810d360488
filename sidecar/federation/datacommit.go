package federation

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"

	"github.com/cohortchain/cohort/sidecar/engine"
	"github.com/cohortchain/cohort/sidecar/merkle"
	"github.com/cohortchain/cohort/sidecar/tensor"
)

// A participant of a run that verifies updates commits, when it joins, to
// the examples it will train on: DataRoot, the Merkle root (package
// merkle) of one leaf per example in dataset order, and their count.
// Every local step then draws its batch from those examples in the order
// engine.BatchIndices gives, so a committee checking step s asks for just
// that batch (RevealBatch), checks each example against the root
// (CheckBatch) and re-runs the step on it (engine.StepOnBatch): it sees a
// few batches of the participant's data, never the rest.

// ExampleLeaf is an example's leaf: sha256(0x00 ‖ label, uint32
// big-endian ‖ inputs, float32 little-endian).
func ExampleLeaf(label int, inputs []float32) [32]byte {
	return merkle.Leaf(binary.BigEndian.AppendUint32(nil, uint32(label)), tensor.EncodeFloats(inputs))
}

// DataLeaves is ExampleLeaf of every example of ds, in order.
func DataLeaves(ds engine.Dataset) [][32]byte {
	leaves := make([][32]byte, len(ds.Labels))
	for i, l := range ds.Labels {
		leaves[i] = ExampleLeaf(l, ds.Inputs[i*ds.Width:(i+1)*ds.Width])
	}
	return leaves
}

// DataRoot is the commitment to ds a participant joins a run with.
func DataRoot(ds engine.Dataset) [32]byte { return merkle.Root(DataLeaves(ds)) }

// LocalTrainConfig is the engine configuration of a participant's local
// training on n examples with seed (TrainingSeed): what LocalUpdate runs
// and what a verifier re-executes. A shard smaller than the batch trains
// on batches of the whole shard.
func LocalTrainConfig(cfg LocalConfig, n int, seed uint64) engine.TrainConfig {
	return engine.TrainConfig{Steps: cfg.Steps, BatchSize: min(cfg.BatchSize, n),
		LearningRate: cfg.LearningRate, Momentum: Momentum, Seed: seed}
}

// BatchExample is one example of a revealed batch: its index in the
// committed data, label, inputs (little-endian float32) and Merkle proof
// (hex siblings).
type BatchExample struct {
	Index  uint64   `json:"index"`
	Label  int      `json:"label"`
	Inputs []byte   `json:"inputs"`
	Proof  []string `json:"proof"`
}

// Batch is the examples of one local step's batch, in draw order.
type Batch struct {
	Step     uint64         `json:"step"`
	Examples []BatchExample `json:"examples"`
}

// RevealBatch is the batch of step of local training cfg over ds, whose
// leaves (DataLeaves) are given, with proofs against DataRoot(ds).
func RevealBatch(ds engine.Dataset, leaves [][32]byte, cfg engine.TrainConfig, step uint64) (Batch, error) {
	idx, err := engine.BatchIndices(cfg, len(ds.Labels), step)
	if err != nil {
		return Batch{}, err
	}
	b := Batch{Step: step, Examples: make([]BatchExample, len(idx))}
	for k, i := range idx {
		proof, err := merkle.Proof(leaves, i)
		if err != nil {
			return Batch{}, err
		}
		hexes := make([]string, len(proof))
		for j, p := range proof {
			hexes[j] = hex.EncodeToString(p[:])
		}
		b.Examples[k] = BatchExample{Index: uint64(i), Label: ds.Labels[i], Inputs: tensor.EncodeFloats(ds.Inputs[i*ds.Width : (i+1)*ds.Width]), Proof: hexes}
	}
	return b, nil
}

// CheckBatch checks a revealed batch of step against a commitment of n
// examples of width values to root: its examples are those
// engine.BatchIndices names for the step, in order, and each proves
// against root. It returns the batch's inputs and labels, as
// engine.StepOnBatch takes them.
func CheckBatch(b Batch, root [32]byte, n uint64, width int, cfg engine.TrainConfig, step uint64) ([]float32, []int, error) {
	if n == 0 || n > math.MaxInt32 {
		return nil, nil, fmt.Errorf("federation: a commitment of %d examples", n)
	}
	idx, err := engine.BatchIndices(cfg, int(n), step)
	if err != nil {
		return nil, nil, err
	}
	if b.Step != step || len(b.Examples) != len(idx) {
		return nil, nil, fmt.Errorf("federation: batch of step %d with %d examples, want step %d with %d", b.Step, len(b.Examples), step, len(idx))
	}
	x, labels := make([]float32, 0, len(idx)*width), make([]int, 0, len(idx))
	for k, e := range b.Examples {
		if e.Index != uint64(idx[k]) {
			return nil, nil, fmt.Errorf("federation: example %d of the batch is %d, step %d draws %d", k, e.Index, step, idx[k])
		}
		if len(e.Inputs) != 4*width {
			return nil, nil, fmt.Errorf("federation: example %d has %d bytes of inputs, want %d", e.Index, len(e.Inputs), 4*width)
		}
		if e.Label < 0 || e.Label > math.MaxUint32 {
			return nil, nil, fmt.Errorf("federation: example %d has label %d", e.Index, e.Label)
		}
		proof := make([][32]byte, len(e.Proof))
		for j, p := range e.Proof {
			raw, err := hex.DecodeString(p)
			if err != nil || len(raw) != 32 {
				return nil, nil, fmt.Errorf("federation: example %d: proof element %d is not 32 bytes of hex", e.Index, j)
			}
			proof[j] = [32]byte(raw)
		}
		leaf := merkle.Leaf(binary.BigEndian.AppendUint32(nil, uint32(e.Label)), e.Inputs)
		if !merkle.Verify(root, leaf, e.Index, n, proof) {
			return nil, nil, fmt.Errorf("federation: example %d is not in the committed data", e.Index)
		}
		in, err := tensor.DecodeFloats(e.Inputs)
		if err != nil {
			return nil, nil, fmt.Errorf("federation: example %d: %w", e.Index, err)
		}
		x = append(x, in...)
		labels = append(labels, e.Label)
	}
	return x, labels, nil
}
