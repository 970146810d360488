package training

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cohortchain/cohort/sidecar/engine"
	markettypes "github.com/cohortchain/cohort/x/market/types"
	regtypes "github.com/cohortchain/cohort/x/registry/types"
)

var mlp = engine.Spec{Layers: []engine.LayerSpec{
	{Kind: engine.KindDense, Inputs: 8, Outputs: 6}, {Kind: engine.KindReLU}, {Kind: engine.KindDense, Inputs: 6, Outputs: 4},
}}

func fixture(t *testing.T) (markettypes.Job, regtypes.Model, regtypes.Version) {
	sh, err := mlp.SpecHash()
	require.NoError(t, err)
	job := markettypes.Job{Id: 3, Kind: markettypes.JOB_KIND_TRAINING, Units: 50, Spec: markettypes.JobSpec{
		ModelId: "1", ModelVersion: "2", DataRequirement: "synthetic:n=256,classes=4,seed=7",
		Hyperparameters: markettypes.Hyperparameters{LearningRate: "0.05", BatchSize: 16, Optimizer: "adam", Seed: 9},
	}}
	model := regtypes.Model{Id: 1, LatestVersion: 2, Architecture: regtypes.Architecture{SpecHash: sh[:]}}
	version := regtypes.Version{ModelId: 1, Number: 2, WeightsHash: make([]byte, 32), Size_: 100, Format: "safetensors",
		Locations: []string{"http://x/v1/blobs/sha256/00"}, Status: regtypes.VERSION_STATUS_ACTIVE}
	return job, model, version
}

func TestFromMarket(t *testing.T) {
	job, model, version := fixture(t)
	j, err := FromMarket(job, model, version, mlp)
	require.NoError(t, err)
	require.Equal(t, engine.TrainConfig{Steps: 50, BatchSize: 16, LearningRate: 0.05, Optimizer: "adam", Seed: 9}, j.Config)
	require.Equal(t, DataSpec{Kind: DataSynthetic, N: 256, Classes: 4, Seed: 7, Spread: 2}, j.Data)
	d, err := j.Data.Load(mlp.InputWidth(), "")
	require.NoError(t, err)
	require.Len(t, d.Labels, 256)
	require.Equal(t, 8, d.Width)
	again, err := ParseData(j.Data.String())
	require.NoError(t, err)
	require.Equal(t, j.Data, again)

	job.Spec.Hyperparameters.Optimizer = ""
	j, err = FromMarket(job, model, version, mlp)
	require.NoError(t, err)
	require.Equal(t, engine.OptimizerSGD, j.Config.Optimizer)
	require.Equal(t, float32(Momentum), j.Config.Momentum)

	bad := map[string]func(*markettypes.Job, *regtypes.Model, *regtypes.Version){
		"inference job": func(j *markettypes.Job, _ *regtypes.Model, _ *regtypes.Version) {
			j.Kind = markettypes.JOB_KIND_INFERENCE
		},
		"model by name": func(j *markettypes.Job, _ *regtypes.Model, _ *regtypes.Version) { j.Spec.ModelId = "mnist-mlp" },
		"other version": func(j *markettypes.Job, _ *regtypes.Model, _ *regtypes.Version) { j.Spec.ModelVersion = "1" },
		"unknown data":  func(j *markettypes.Job, _ *regtypes.Model, _ *regtypes.Version) { j.Spec.DataRequirement = "imagenet" },
		"data without seed": func(j *markettypes.Job, _ *regtypes.Model, _ *regtypes.Version) {
			j.Spec.DataRequirement = "synthetic:n=256,classes=4"
		},
		"too many classes": func(j *markettypes.Job, _ *regtypes.Model, _ *regtypes.Version) {
			j.Spec.DataRequirement = "synthetic:n=256,classes=5,seed=1"
		},
		"bad learning rate": func(j *markettypes.Job, _ *regtypes.Model, _ *regtypes.Version) {
			j.Spec.Hyperparameters.LearningRate = "fast"
		},
		"zero learning rate": func(j *markettypes.Job, _ *regtypes.Model, _ *regtypes.Version) {
			j.Spec.Hyperparameters.LearningRate = "0"
		},
		"no batch": func(j *markettypes.Job, _ *regtypes.Model, _ *regtypes.Version) { j.Spec.Hyperparameters.BatchSize = 0 },
		"batch over data": func(j *markettypes.Job, _ *regtypes.Model, _ *regtypes.Version) {
			j.Spec.Hyperparameters.BatchSize = 257
		},
		"rmsprop": func(j *markettypes.Job, _ *regtypes.Model, _ *regtypes.Version) {
			j.Spec.Hyperparameters.Optimizer = "rmsprop"
		},
		"epochs":   func(j *markettypes.Job, _ *regtypes.Model, _ *regtypes.Version) { j.Spec.Hyperparameters.Epochs = 2 },
		"no steps": func(j *markettypes.Job, _ *regtypes.Model, _ *regtypes.Version) { j.Units = 0 },
		"spec mismatch": func(_ *markettypes.Job, m *regtypes.Model, _ *regtypes.Version) {
			m.Architecture.SpecHash = make([]byte, 32)
		},
		"yanked": func(_ *markettypes.Job, _ *regtypes.Model, v *regtypes.Version) {
			v.Status = regtypes.VERSION_STATUS_YANKED
		},
		"no weights": func(_ *markettypes.Job, _ *regtypes.Model, v *regtypes.Version) { v.Locations = nil },
	}
	for name, mutate := range bad {
		j, m, v := fixture(t)
		mutate(&j, &m, &v)
		_, err := FromMarket(j, m, v, mlp)
		require.Error(t, err, name)
	}
}

func TestParseData(t *testing.T) {
	d, err := ParseData("fashion-mnist:train")
	require.NoError(t, err)
	require.Equal(t, "fashion-mnist:train", d.String())
	for _, bad := range []string{"fashion-mnist", "fashion-mnist:all", "synthetic:n=10,n=10,classes=2,seed=1", "synthetic:n=0,classes=2,seed=1",
		"synthetic:n=10,classes=2,seed=1,spread=-1", "synthetic:n=10,classes=2,seed=1,colour=red", ""} {
		_, err := ParseData(bad)
		require.Error(t, err, bad)
	}
}
