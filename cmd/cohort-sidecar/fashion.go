package main

import (
	"fmt"
	"path/filepath"

	"github.com/cohortchain/cohort/sidecar/data"
	"github.com/cohortchain/cohort/sidecar/engine"
)

// DefaultDataDir is where Debian's dataset-fashion-mnist installs the files.
const DefaultDataDir = "/usr/share/datasets/fashion-mnist"

// loadFashionMNIST reads the training and test sets from dir, keeping only
// the first limit training images when limit is positive.
func loadFashionMNIST(dir string, limit int) (train, test engine.Dataset, err error) {
	train, err = data.LoadImages(filepath.Join(dir, "train-images-idx3-ubyte.gz"), filepath.Join(dir, "train-labels-idx1-ubyte.gz"))
	if err != nil {
		return train, test, fmt.Errorf("%w (install Debian's dataset-fashion-mnist, or pass --data-dir)", err)
	}
	test, err = data.LoadImages(filepath.Join(dir, "t10k-images-idx3-ubyte.gz"), filepath.Join(dir, "t10k-labels-idx1-ubyte.gz"))
	if err != nil {
		return train, test, err
	}
	if limit > 0 && limit < len(train.Labels) {
		train = engine.Dataset{Inputs: train.Inputs[:limit*train.Width], Labels: train.Labels[:limit], Width: train.Width}
	}
	return train, test, nil
}

// mlpSpec is the width → hidden → 10 classifier both commands train.
func mlpSpec(width, hidden int) engine.Spec {
	return engine.Spec{Layers: []engine.LayerSpec{
		{Kind: "dense", Inputs: width, Outputs: hidden}, {Kind: "relu"}, {Kind: "dense", Inputs: hidden, Outputs: 10},
	}}
}
