package data

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"testing"
)

// TestGoldenPartition pins a Dirichlet partition to one hash that every
// platform must reproduce: validators and providers must agree on which
// examples each shard holds (the gamma sampler's float64 code rounds each
// product explicitly so that Go cannot fuse it into an FMA on some
// targets).
func TestGoldenPartition(t *testing.T) {
	labels := make([]int, 5000)
	for i := range labels {
		labels[i] = (i * 7) % 10
	}
	shards, err := PartitionDirichlet(labels, 10, 12, 0.3, 99)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	for _, s := range shards {
		_ = binary.Write(h, binary.LittleEndian, uint32(len(s)))
		for _, i := range s {
			_ = binary.Write(h, binary.LittleEndian, uint32(i))
		}
	}
	const want = "3639ca1a8819218a386b6ad43ed351e0a4f8d849c2403c2e7996f3a5657187b6"
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		t.Errorf("the partition changed on this platform: got %s, want %s", got, want)
	}
}
