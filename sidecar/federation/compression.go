package federation

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"github.com/cohortchain/cohort/sidecar/aggregate"
	"github.com/cohortchain/cohort/sidecar/compress"
	"github.com/cohortchain/cohort/sidecar/tensor"
	"github.com/cohortchain/cohort/x/federated/types"

	"github.com/cohortchain/cohort/sidecar/durable"
)

// Compression of updates (RunSpec.compression).
//
// A top-k run (COMPRESSION_MODE_TOPK, topk_fraction f) sends, of each
// update of d values, only the k = ⌈f·d⌉ of largest magnitude, with error
// feedback: the provider adds what it has not sent so far (its residual
// for the run) to the update before choosing, and keeps what it did not
// send for its next round. The blob is compress.Sparse's encoding (about
// five bytes per kept value instead of four per value); validators decode
// it to the dense update, refusing one with more than k values. Everything
// is deterministic, so the replay, which keeps each participant's residual
// in the same way, reproduces every blob.

// TopKOf is the k of a run's updates of dim values: 0 when the run does
// not compress.
func TopKOf(s types.RunSpec, dim int) (int, error) {
	if s.Compression.Mode != types.COMPRESSION_MODE_TOPK {
		return 0, nil
	}
	f, err := parseDec("topk_fraction", s.Compression.TopkFraction)
	if err != nil {
		return 0, err
	}
	if !(f > 0 && f <= 1) {
		return 0, fmt.Errorf("federation: topk_fraction %v outside (0, 1]", f)
	}
	return min(max(int(math.Ceil(f*float64(dim))), 1), dim), nil
}

// Compress turns a local result into what a provider of a top-k run
// sends: the top k of update + residual (residual nil means zero), encoded
// sparse, with res.Update replaced by the dense form of what is sent. It
// returns the residual to keep if the update is committed. Runs that do
// not compress get res and residual back unchanged.
func Compress(s types.RunSpec, res LocalResult, residual []float32) (LocalResult, []float32, error) {
	flat := aggregate.Flatten(res.Update)
	k, err := TopKOf(s, len(flat))
	if err != nil || k == 0 {
		return res, residual, err
	}
	if residual != nil && len(residual) != len(flat) {
		return res, residual, fmt.Errorf("federation: residual of %d values for an update of %d", len(residual), len(flat))
	}
	acc := make([]float32, len(flat))
	for i, v := range flat {
		acc[i] = v
		if residual != nil {
			acc[i] += residual[i]
		}
	}
	sp := compress.TopK(acc, k)
	next := acc
	for _, j := range sp.Indices {
		next[j] = 0
	}
	if res.Update, err = aggregate.Unflatten(sp.Dense(), res.Update); err != nil {
		return res, residual, err
	}
	res.Blob = sp.Encode()
	return res, next, nil
}

// DecodeUpdate reads an update blob of a run against global's layout:
// safetensors for a dense run (DecodeWeights), a sparse top-k encoding of
// at most k values for a top-k run.
func DecodeUpdate(s types.RunSpec, blob []byte, global tensor.Set) (tensor.Set, error) {
	dim := len(aggregate.Flatten(global))
	k, err := TopKOf(s, dim)
	if err != nil {
		return nil, err
	}
	if k == 0 {
		return DecodeWeights(blob, global)
	}
	sp, err := compress.DecodeSparse(blob, dim)
	if err != nil {
		return nil, err
	}
	if len(sp.Indices) > k {
		return nil, fmt.Errorf("federation: %d values sent, the run allows %d", len(sp.Indices), k)
	}
	return aggregate.Unflatten(sp.Dense(), global)
}

// Residuals are a provider's error-feedback memories, one per top-k run,
// kept in a directory so that they survive restarts (the replay keeps its
// own in memory, with no directory). Not safe for concurrent use.
type Residuals struct {
	dir string
	mem map[uint64][]float32
}

// NewResiduals keeps residuals in dir ("" for memory only).
func NewResiduals(dir string) *Residuals { return &Residuals{dir: dir, mem: map[uint64][]float32{}} }

func (r *Residuals) path(run uint64) string {
	return filepath.Join(r.dir, "residual-"+strconv.FormatUint(run, 10)+".f32")
}

// Get returns run's residual, nil before its first compressed update (and
// always for a nil Residuals).
func (r *Residuals) Get(run uint64) ([]float32, error) {
	if r == nil {
		return nil, nil
	}
	if v, ok := r.mem[run]; ok || r.dir == "" {
		return v, nil
	}
	b, err := os.ReadFile(r.path(run))
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	v, err := tensor.DecodeFloats(b)
	if err != nil {
		return nil, fmt.Errorf("federation: residual file: %w", err)
	}
	r.mem[run] = v
	return v, nil
}

// Set keeps run's residual, durably when there is a directory (written to
// a temporary file, synced, then renamed over the old one). A nil
// Residuals keeps nothing and refuses a residual.
func (r *Residuals) Set(run uint64, v []float32) error {
	if r == nil {
		if v != nil {
			return fmt.Errorf("federation: no place to keep the residual of run %d", run)
		}
		return nil
	}
	r.mem[run] = v
	if r.dir == "" || v == nil {
		return nil
	}
	if err := os.MkdirAll(r.dir, 0o755); err != nil {
		return err
	}
	return durable.WriteFile(r.path(run), tensor.EncodeFloats(v), 0o644)
}
