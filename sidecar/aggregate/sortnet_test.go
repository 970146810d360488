package aggregate

import (
	"math"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cohortchain/cohort/sidecar/engine"
)

// TestSortingNetworkSortsEveryZeroOneInput: by the 0–1 principle a network
// sorts every input iff it sorts every input of zeros and ones, checked
// exhaustively for every n up to 16.
func TestSortingNetworkSortsEveryZeroOneInput(t *testing.T) {
	for n := 1; n <= 16; n++ {
		net := sortingNetwork(n, 0, n)
		rows := make([][]int32, n)
		for i := range rows {
			rows[i] = make([]int32, 1)
		}
		for bits := 0; bits < 1<<n; bits++ {
			for i := range rows {
				rows[i][0] = int32(bits >> i & 1)
			}
			sortColumns(rows, net)
			for i := 1; i < n; i++ {
				require.LessOrEqual(t, rows[i-1][0], rows[i][0], "n=%d input %b", n, bits)
			}
		}
	}
}

// TestPrunedNetworksKeepTheirRanks: a network pruned to ranks [lo, hi)
// still puts the right values there, for random columns of many sizes.
func TestPrunedNetworksKeepTheirRanks(t *testing.T) {
	g := engine.NewRNG(3, 1)
	for n := 1; n <= 40; n++ {
		for _, keep := range [][2]int{{0, n}, {n / 2, n/2 + 1}, {(n - 1) / 2, n/2 + 1}, {n / 5, n - n/5}} {
			if keep[0] >= keep[1] {
				continue
			}
			net := sortingNetwork(n, keep[0], keep[1])
			require.LessOrEqual(t, len(net), len(sortingNetwork(n, 0, n)))
			rows := make([][]int32, n)
			want := make([][]int32, columnBlock)
			for i := range rows {
				rows[i] = make([]int32, columnBlock)
				for c := range rows[i] {
					rows[i][c] = int32(g.Float32()*20) - 10 // many ties
				}
			}
			for c := range want {
				for i := range rows {
					want[c] = append(want[c], rows[i][c])
				}
				slices.Sort(want[c])
			}
			sortColumns(rows, net)
			for c := range want {
				for r := keep[0]; r < keep[1]; r++ {
					require.Equal(t, want[c][r], rows[r][c], "n=%d keep=%v column %d rank %d", n, keep, c, r)
				}
			}
		}
	}
}

func TestOrderedKeysFollowFloatOrder(t *testing.T) {
	vals := []float32{float32(math.Inf(-1)), -math.MaxFloat32, -1.5, -math.SmallestNonzeroFloat32,
		float32(math.Copysign(0, -1)), 0, math.SmallestNonzeroFloat32, 1, 2.5, math.MaxFloat32, float32(math.Inf(1))}
	for i, v := range vals {
		require.Equal(t, math.Float32bits(v), math.Float32bits(fromOrderedKey(orderedKey(v))), "round trip of %v", v)
		if i > 0 {
			require.Less(t, orderedKey(vals[i-1]), orderedKey(v), "%v < %v", vals[i-1], v)
		}
	}
	keys := make([]int32, 4)
	require.False(t, loadKeys(keys, []float32{1, -2, 0, math.MaxFloat32}))
	require.True(t, loadKeys(keys, []float32{1, float32(math.NaN()), 0, 3}))
	require.True(t, loadKeys(keys, []float32{float32(math.Inf(-1))}))
}
