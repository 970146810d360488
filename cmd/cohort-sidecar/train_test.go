package main

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cohortchain/cohort/sidecar/safetensors"
)

// writeIDX writes a gzipped unsigned-byte IDX file.
func writeIDX(t *testing.T, path string, dims []int, payload []byte) {
	b := []byte{0, 0, 0x08, byte(len(dims))}
	for _, d := range dims {
		b = binary.BigEndian.AppendUint32(b, uint32(d))
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(append(b, payload...))
	require.NoError(t, zw.Close())
	require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o600))
}

// syntheticFashion writes a tiny Fashion-MNIST-shaped dataset to a new
// directory: 400 4 × 4 images of two classes, bright left or bright right.
func syntheticFashion(t *testing.T) string {
	dir := t.TempDir()
	const n, side = 400, 4
	pixels, labels := make([]byte, n*side*side), make([]byte, n)
	for i := 0; i < n; i++ {
		labels[i] = byte(i % 2)
		for p := 0; p < side*side; p++ {
			if (p%side < side/2) == (i%2 == 0) {
				pixels[i*side*side+p] = 200
			}
		}
	}
	for _, set := range []string{"train", "t10k"} {
		writeIDX(t, filepath.Join(dir, set+"-images-idx3-ubyte.gz"), []int{n, side, side}, pixels)
		writeIDX(t, filepath.Join(dir, set+"-labels-idx1-ubyte.gz"), []int{n}, labels)
	}
	return dir
}

// TestTrainCommand runs `cohort-sidecar train` on the synthetic dataset.
func TestTrainCommand(t *testing.T) {
	dir := syntheticFashion(t)
	out := filepath.Join(dir, "w.safetensors")
	cmd := trainCmd()
	var stdout bytes.Buffer
	cmd.SetOut(&stdout)
	cmd.SetArgs([]string{"--data-dir", dir, "--epochs", "2", "--hidden", "8", "--lr", "0.01", "--out", out})
	require.NoError(t, cmd.Execute())
	require.Contains(t, stdout.String(), "test accuracy 100.00%")
	require.True(t, strings.Contains(stdout.String(), "weights hash "))
	bz, err := os.ReadFile(out)
	require.NoError(t, err)
	f, err := safetensors.Decode(bz)
	require.NoError(t, err)
	require.Len(t, f.Tensors, 4)

	// The CNN learns it too (4 × 4 images: two pools down to 1 × 1).
	stdout.Reset()
	cmd = trainCmd()
	cmd.SetOut(&stdout)
	cmd.SetArgs([]string{"--data-dir", dir, "--model", "cnn", "--epochs", "3", "--hidden", "8", "--lr", "0.01"})
	require.NoError(t, cmd.Execute())
	require.Contains(t, stdout.String(), "training cnn (5154 weights)")
	require.Contains(t, stdout.String(), "test accuracy 100.00%")

	cmd = trainCmd()
	cmd.SetOut(&stdout)
	cmd.SetArgs([]string{"--data-dir", dir, "--model", "rnn"})
	require.ErrorContains(t, cmd.Execute(), "unknown model")
	_, err = modelSpec("cnn", 30, 8)
	require.ErrorContains(t, err, "square images")

	cmd = trainCmd()
	cmd.SetOut(&stdout)
	cmd.SetArgs([]string{"--data-dir", filepath.Join(dir, "missing")})
	require.ErrorContains(t, cmd.Execute(), "dataset-fashion-mnist")
}

// TestDPTrainCommand runs `cohort-sidecar dp-train` on the synthetic
// dataset: it learns under a budget, reports the ε it spent, never more
// than the budget, and refuses bad settings.
func TestDPTrainCommand(t *testing.T) {
	dir := syntheticFashion(t)
	run := func(args ...string) (string, error) {
		cmd := dpTrainCmd()
		var stdout bytes.Buffer
		cmd.SetOut(&stdout)
		cmd.SetErr(&stdout)
		cmd.SetArgs(append([]string{"--data-dir", dir, "--hidden", "8"}, args...))
		err := cmd.Execute()
		return stdout.String(), err
	}
	out, err := run("--epochs", "3", "--epsilon", "8", "--batch", "40", "--lr", "0.05", "--optimizer", "adam")
	require.NoError(t, err, out)
	require.Contains(t, out, "weights hash ")
	require.Regexp(t, `spent ε [0-7]\.\d+|spent ε 8 `, out)
	require.Regexp(t, `test accuracy (9\d|100)\.\d\d%`, out)

	again, err := run("--epochs", "3", "--epsilon", "8", "--batch", "40", "--lr", "0.05", "--optimizer", "adam")
	require.NoError(t, err)
	hash := func(s string) string { return s[strings.Index(s, "weights hash "):] }
	require.Equal(t, hash(out), hash(again), "deterministic")

	_, err = run("--epsilon", "-1")
	require.Error(t, err)
	_, err = run("--delta", "2")
	require.Error(t, err)
	_, err = run("--clip", "0")
	require.Error(t, err)
}
