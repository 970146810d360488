package secagg

import (
	"fmt"
	"testing"
)

// benchParams is the size: 10 clients, threshold 6, 1M
// parameters.
const benchN, benchT, benchD = 10, 6, 1_000_000

// BenchmarkClientMaskedInput is one client's round 2 for a 1M-parameter
// vector among 10 clients: decrypting 9 peers' shares, 9 ECDHs, and
// expanding and adding 10 PRG streams (its self mask and 9 pairwise
// masks). Rounds 0 and 1 are set up outside the timer.
func BenchmarkClientMaskedInput(b *testing.B) {
	x := randomVector(benchD, 1)
	b.SetBytes(8 * benchD)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		s := newSession(b, benchN, benchT, benchD, uint64(i))
		b.StartTimer()
		if _, err := s.clients[0].MaskedInput(s.shares, x); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkServerAggregate is the server's last step for 10 clients of 1M
// parameters: summing the masked inputs, reconstructing the secrets and
// removing the masks. With dropouts after round 1, each dropped client
// costs one pairwise stream per survivor on top of the survivors' self
// masks.
func BenchmarkServerAggregate(b *testing.B) {
	for _, drop := range [][]int{nil, {1, 4}, {0, 3, 7, 9}} {
		b.Run(fmt.Sprintf("dropped=%d", len(drop)), func(b *testing.B) {
			tr := execute(b, scenario{n: benchN, t: benchT, d: benchD, seed: 300, drop1: drop})
			b.SetBytes(8 * benchD)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := tr.aggregate(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPRG is the expansion and addition of one mask stream
// (AES-256-CTR) over 1M coordinates.
func BenchmarkPRG(b *testing.B) {
	y := make([]uint64, benchD)
	m := []mask{{key: [32]byte{1}}}
	b.SetBytes(8 * benchD)
	for i := 0; i < b.N; i++ {
		if err := applyMasks(y, m); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCodec encodes and decodes 1M float32 values.
func BenchmarkCodec(b *testing.B) {
	x := make([]float32, benchD)
	for i := range x {
		x[i] = float32(i%2001-1000) / 997
	}
	enc := make([]uint64, benchD)
	dec := make([]float32, benchD)
	b.Run("encode", func(b *testing.B) {
		b.SetBytes(4 * benchD)
		for i := 0; i < b.N; i++ {
			if _, _, err := DefaultCodec.Encode(enc, x); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode", func(b *testing.B) {
		b.SetBytes(4 * benchD)
		for i := 0; i < b.N; i++ {
			if _, err := DefaultCodec.Decode(dec, enc, benchN); err != nil {
				b.Fatal(err)
			}
		}
	})
}
