package engine

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestGoldenBits pins the engine's results to fixed hashes, so that every
// platform (amd64 with or without AVX2, arm64, whatever GOAMD64) must
// compute the very same bits: Go may fuse a multiply and an add into an
// FMA on some targets, and the engine's float64 code rounds each product
// explicitly to stop it. A change of these hashes on one platform is a
// determinism bug there; a deliberate change of the engine's arithmetic
// updates them (the failure prints the new value).
func TestGoldenBits(t *testing.T) {
	h := sha256.New()
	put := func(v float32) { _ = binary.Write(h, binary.LittleEndian, math.Float32bits(v)) }
	for x := float32(-104); x < 89; x += 0.0137 {
		put(Exp(x))
	}
	for x := float32(1e-30); x < 3e38; x *= 1.37 {
		put(Log(x))
	}
	g := NewRNG(42, 7)
	for i := 0; i < 10000; i++ {
		put(g.Normal())
		put(g.Float32())
	}
	requireGolden(t, "exp, log, normal", h.Sum(nil), "6d99bde02b02a4da2d4b566360f204dfdbe342ce0793dd34d7dba2f9b15b420d")

	data := images(64, smallCNN.Input, 3, 4)
	w, err := Init(smallCNN, 9)
	require.NoError(t, err)
	res, err := Train(smallCNN, w, data, TrainConfig{Steps: 5, BatchSize: 16, LearningRate: 0.01, Optimizer: "adam", Seed: 2})
	require.NoError(t, err)
	wh, err := res.Weights.Hash()
	require.NoError(t, err)
	requireGolden(t, "CNN with dropout, Adam", wh[:], "133f56013c062800a897144698514d5936c4ae146531f7a3ee8b6644bdf1e8cc")

	mdata := clusters(256, 100, 5, 3)
	mw, err := Init(mlp, 5)
	require.NoError(t, err)
	mres, err := Train(mlp, mw, mdata, TrainConfig{Steps: 5, BatchSize: 64, LearningRate: 0.05, Momentum: 0.9, Seed: 4})
	require.NoError(t, err)
	mwh, err := mres.Weights.Hash()
	require.NoError(t, err)
	requireGolden(t, "MLP, SGD with momentum", mwh[:], "dbcb5f9d7ee33f14dd5e830945ea7d62253bbccfd967efb5dbd7d86b01337af6")
	// The verification leaves: checkpoints (weights, optimizer state, step).
	requireGolden(t, "CNN with dropout, Adam, leaf 4", res.Checkpoints[4][:], "06714a0c47e68412f871165f527649c3baed5bf9d0da32734774e181267ecee0")
	requireGolden(t, "MLP, SGD with momentum, leaf 4", mres.Checkpoints[4][:], "1e07db9a6e3387e0fe2419db18045ae0e98dfa5970a3f2fd9719f9c6b3b5557c")
}

func requireGolden(t *testing.T, what string, got []byte, want string) {
	t.Helper()
	if hex.EncodeToString(got) != want {
		t.Errorf("%s: the bits changed on this platform: got %x, want %s", what, got, want)
	}
}
