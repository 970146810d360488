// Package training says what it means to execute a market TRAINING job,
// so that a provider that runs it and a validator that re-executes a few
// of its steps compute the same bits: the model (a registry version's
// weights and its engine spec), the data (a dataset anyone can rebuild
// from the job's data_requirement), the hyperparameters and the number of
// steps (the job's units). Everything here is a pure function of the
// on-chain job, the registry records and the public datasets.
package training

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/cohortchain/cohort/sidecar/data"
	"github.com/cohortchain/cohort/sidecar/engine"
	markettypes "github.com/cohortchain/cohort/x/market/types"
	regtypes "github.com/cohortchain/cohort/x/registry/types"
)

// Limits on what a job may ask for.
const (
	// MaxSteps bounds a job's units (steps).
	MaxSteps = 1 << 24
	// MaxSyntheticExamples bounds a synthetic dataset.
	MaxSyntheticExamples = 1 << 20
	// Momentum is the heavy-ball momentum of a job's SGD ("sgd" or no
	// optimizer named); the job spec has no field for it.
	Momentum = 0.9
	// DefaultFashionMNISTDir is where Debian's dataset-fashion-mnist
	// installs the IDX files.
	DefaultFashionMNISTDir = "/usr/share/datasets/fashion-mnist"
)

// Data kinds of a DataSpec.
const (
	DataSynthetic    = "synthetic"
	DataFashionMNIST = "fashion-mnist"
)

// DataSpec is a parsed data_requirement: a dataset every party can
// reconstruct bit for bit.
//
//	synthetic:n=2048,classes=10,seed=7[,spread=2]
//	    data.Clusters(n, the model's input width, classes, spread, seed)
//	fashion-mnist:train   (or fashion-mnist:test)
//	    the Fashion-MNIST IDX files, pixels scaled to [0, 1]
type DataSpec struct {
	Kind string
	// Synthetic.
	N, Classes int
	Seed       uint64
	Spread     float32
	// Fashion-MNIST: "train" or "test".
	Split string
}

// String is the canonical data_requirement of d.
func (d DataSpec) String() string {
	if d.Kind == DataFashionMNIST {
		return DataFashionMNIST + ":" + d.Split
	}
	return fmt.Sprintf("%s:n=%d,classes=%d,seed=%d,spread=%s", DataSynthetic, d.N, d.Classes, d.Seed,
		strconv.FormatFloat(float64(d.Spread), 'g', -1, 32))
}

// ParseData reads a data_requirement.
func ParseData(req string) (DataSpec, error) {
	kind, args, _ := strings.Cut(strings.TrimSpace(req), ":")
	switch kind {
	case DataFashionMNIST:
		if args != "train" && args != "test" {
			return DataSpec{}, fmt.Errorf("training: data %q: fashion-mnist needs :train or :test", req)
		}
		return DataSpec{Kind: DataFashionMNIST, Split: args}, nil
	case DataSynthetic:
		d := DataSpec{Kind: DataSynthetic, Spread: 2}
		seen := map[string]bool{}
		for _, kv := range strings.Split(args, ",") {
			k, v, ok := strings.Cut(kv, "=")
			if !ok || seen[k] {
				return DataSpec{}, fmt.Errorf("training: data %q: %q is not a new key=value", req, kv)
			}
			seen[k] = true
			var err error
			switch k {
			case "n":
				d.N, err = strconv.Atoi(v)
			case "classes":
				d.Classes, err = strconv.Atoi(v)
			case "seed":
				d.Seed, err = strconv.ParseUint(v, 10, 64)
			case "spread":
				var f float64
				f, err = strconv.ParseFloat(v, 32)
				d.Spread = float32(f)
				if err == nil && !(f > 0 && f < 1e6) {
					err = errors.New("spread must be in (0, 1e6)")
				}
			default:
				err = errors.New("unknown key")
			}
			if err != nil {
				return DataSpec{}, fmt.Errorf("training: data %q: %s: %w", req, k, err)
			}
		}
		if !seen["n"] || !seen["classes"] || !seen["seed"] {
			return DataSpec{}, fmt.Errorf("training: data %q: synthetic needs n, classes and seed", req)
		}
		if d.N <= 0 || d.N > MaxSyntheticExamples || d.Classes < 2 || d.Classes > d.N {
			return DataSpec{}, fmt.Errorf("training: data %q: need 0 < n ≤ %d and 2 ≤ classes ≤ n", req, MaxSyntheticExamples)
		}
		return d, nil
	}
	return DataSpec{}, fmt.Errorf("training: data %q: unknown dataset (synthetic:n=…,classes=…,seed=… or fashion-mnist:train)", req)
}

// Load builds the dataset for a model of input width; Fashion-MNIST is read
// from dir (DefaultFashionMNISTDir when empty).
func (d DataSpec) Load(width int, dir string) (engine.Dataset, error) {
	switch d.Kind {
	case DataSynthetic:
		if width <= 0 || int64(d.N)*int64(width) > 1<<28 {
			return engine.Dataset{}, fmt.Errorf("training: %d synthetic examples of width %d are too many", d.N, width)
		}
		return data.Clusters(d.N, width, d.Classes, d.Spread, d.Seed), nil
	case DataFashionMNIST:
		if dir == "" {
			dir = DefaultFashionMNISTDir
		}
		prefix := "train"
		if d.Split == "test" {
			prefix = "t10k"
		}
		ds, err := data.LoadImages(filepath.Join(dir, prefix+"-images-idx3-ubyte.gz"), filepath.Join(dir, prefix+"-labels-idx1-ubyte.gz"))
		if err != nil {
			return engine.Dataset{}, fmt.Errorf("training: %w (install Debian's dataset-fashion-mnist)", err)
		}
		if ds.Width != width {
			return engine.Dataset{}, fmt.Errorf("training: fashion-mnist examples have width %d, the model takes %d", ds.Width, width)
		}
		return ds, nil
	}
	return engine.Dataset{}, fmt.Errorf("training: data kind %q", d.Kind)
}

// Job is a market training job, made executable.
type Job struct {
	ID uint64
	// Model and Version name the registry version trained from.
	Model, Version uint64
	Spec           engine.Spec
	// WeightsHash and WeightsSize are the version's initial weights
	// (safetensors); WeightsLocations where they are served.
	WeightsHash      [32]byte
	WeightsSize      uint64
	WeightsLocations []string
	Data             DataSpec
	// Config is the engine's training configuration: batch size, learning
	// rate, optimizer, momentum, seed, and Steps = the job's units.
	Config engine.TrainConfig
}

// Steps is the number of training steps: the job's units.
func (j Job) Steps() uint64 { return uint64(j.Config.Steps) }

// ModelRef reads a job's model_id and model_version: registry numbers (an
// empty version means the model's latest).
func ModelRef(spec markettypes.JobSpec) (model, version uint64, err error) {
	model, err = strconv.ParseUint(spec.ModelId, 10, 64)
	if err != nil || model == 0 {
		return 0, 0, fmt.Errorf("training: model_id %q is not a registry model number", spec.ModelId)
	}
	if spec.ModelVersion != "" {
		version, err = strconv.ParseUint(spec.ModelVersion, 10, 64)
		if err != nil || version == 0 {
			return 0, 0, fmt.Errorf("training: model_version %q is not a version number", spec.ModelVersion)
		}
	}
	return model, version, nil
}

// FromMarket makes job executable with the registry's model and version
// records and the model's engine spec (whose hash must be the model's
// spec_hash). Anything that does not define one computation is refused.
func FromMarket(job markettypes.Job, model regtypes.Model, version regtypes.Version, spec engine.Spec) (Job, error) {
	fail := func(format string, a ...any) (Job, error) {
		return Job{}, fmt.Errorf("training: job %d: %s", job.Id, fmt.Sprintf(format, a...))
	}
	if job.Kind != markettypes.JOB_KIND_TRAINING {
		return fail("is a %s job, not training", job.Kind)
	}
	mid, vnum, err := ModelRef(job.Spec)
	if err != nil {
		return fail("%v", err)
	}
	if vnum == 0 {
		vnum = model.LatestVersion
	}
	if model.Id != mid || version.ModelId != mid || version.Number != vnum {
		return fail("names model %d version %d, got model %d version %d", mid, vnum, version.ModelId, version.Number)
	}
	if model.Frozen {
		return fail("model %d is frozen", mid)
	}
	if version.Status == regtypes.VERSION_STATUS_YANKED {
		return fail("model %d version %d is yanked", mid, vnum)
	}
	if version.Format != "safetensors" || len(version.WeightsHash) != 32 || len(version.Locations) == 0 {
		return fail("version %d/%d has no safetensors weights to fetch", mid, vnum)
	}
	if err := spec.Validate(); err != nil {
		return fail("spec: %v", err)
	}
	sh, err := spec.SpecHash()
	if err != nil {
		return fail("spec: %v", err)
	}
	if !bytes.Equal(sh[:], model.Architecture.SpecHash) {
		return fail("spec hash %X is not model %d's %X", sh, mid, model.Architecture.SpecHash)
	}
	d, err := ParseData(job.Spec.DataRequirement)
	if err != nil {
		return fail("%v", err)
	}
	if d.Kind == DataSynthetic && d.Classes > classes(spec) {
		return fail("data has %d classes, the model outputs %d", d.Classes, classes(spec))
	}
	hp := job.Spec.Hyperparameters
	lr, err := strconv.ParseFloat(hp.LearningRate, 64)
	if err != nil || !(lr > 0) || lr > 10 || math.IsInf(lr, 0) {
		return fail("learning_rate %q must be a number in (0, 10]", hp.LearningRate)
	}
	if hp.BatchSize == 0 || hp.BatchSize > 1<<16 {
		return fail("batch_size %d must be in [1, 65536]", hp.BatchSize)
	}
	if d.Kind == DataSynthetic && int(hp.BatchSize) > d.N {
		return fail("batch_size %d exceeds the %d examples", hp.BatchSize, d.N)
	}
	opt := strings.ToLower(hp.Optimizer)
	switch opt {
	case "", engine.OptimizerSGD:
		opt = engine.OptimizerSGD
	case engine.OptimizerAdam:
	default:
		return fail("optimizer %q is neither sgd nor adam", hp.Optimizer)
	}
	if hp.Epochs != 0 {
		return fail("epochs are not supported: the job's units are its steps")
	}
	if hp.LocalSteps != 0 && uint64(hp.LocalSteps) != job.Units {
		return fail("local_steps %d differs from the job's %d units (steps)", hp.LocalSteps, job.Units)
	}
	if job.Units == 0 || job.Units > MaxSteps {
		return fail("%d units (steps) outside [1, %d]", job.Units, MaxSteps)
	}
	cfg := engine.TrainConfig{Steps: int(job.Units), BatchSize: int(hp.BatchSize), LearningRate: float32(lr),
		Optimizer: opt, Seed: hp.Seed}
	if opt == engine.OptimizerSGD {
		cfg.Momentum = Momentum
	}
	return Job{ID: job.Id, Model: mid, Version: vnum, Spec: spec, WeightsHash: [32]byte(version.WeightsHash),
		WeightsSize: version.Size_, WeightsLocations: version.Locations, Data: d, Config: cfg}, nil
}

// classes is the width of the model's last dense layer (its logits).
func classes(s engine.Spec) int {
	for i := len(s.Layers) - 1; i >= 0; i-- {
		if s.Layers[i].Kind == engine.KindDense {
			return s.Layers[i].Outputs
		}
	}
	return 0
}
