package data

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func idx(dims []int, payload []byte) []byte {
	b := []byte{0, 0, 0x08, byte(len(dims))}
	for _, d := range dims {
		b = binary.BigEndian.AppendUint32(b, uint32(d))
	}
	return append(b, payload...)
}

func TestIDXPlainAndGzip(t *testing.T) {
	pixels := []byte{0, 255, 128, 1, 2, 3, 4, 5}
	raw := idx([]int{2, 2, 2}, pixels)
	dims, got, err := ReadIDX(bytes.NewReader(raw))
	require.NoError(t, err)
	require.Equal(t, []int{2, 2, 2}, dims)
	require.Equal(t, pixels, got)

	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	_, _ = w.Write(raw)
	require.NoError(t, w.Close())
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "images.gz"), gz.Bytes(), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "labels"), idx([]int{2}, []byte{7, 3}), 0o600))
	d, err := LoadImages(filepath.Join(dir, "images.gz"), filepath.Join(dir, "labels"))
	require.NoError(t, err)
	require.Equal(t, 4, d.Width)
	require.Equal(t, []int{7, 3}, d.Labels)
	require.Equal(t, float32(1), d.Inputs[1])
}

func TestIDXMalformed(t *testing.T) {
	for name, b := range map[string][]byte{
		"empty":          {},
		"bad magic":      {1, 2, 3, 4, 0, 0, 0, 1, 9},
		"float type":     {0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0},
		"zero dimension": idx([]int{0}, nil),
		"short data":     idx([]int{4}, []byte{1, 2}),
		"trailing bytes": idx([]int{1}, []byte{1, 2}),
		"too large":      idx([]int{1 << 20, 1 << 20}, nil),
	} {
		_, _, err := ReadIDX(bytes.NewReader(b))
		require.Error(t, err, name)
	}
	_, err := FromIDX([]int{2, 2, 2}, make([]byte, 8), []int{3}, make([]byte, 3))
	require.Error(t, err, "counts differ")
}

func TestPartitions(t *testing.T) {
	labels := make([]int, 2000)
	for i := range labels {
		labels[i] = i % 10
	}
	check := func(shards [][]int) {
		seen := map[int]bool{}
		for _, s := range shards {
			for _, i := range s {
				require.False(t, seen[i], "index %d twice", i)
				seen[i] = true
			}
		}
		require.Len(t, seen, len(labels), "every example in exactly one shard")
	}
	iid, err := PartitionIID(len(labels), 10, 1)
	require.NoError(t, err)
	check(iid)
	for _, s := range iid {
		require.InDelta(t, 200, len(s), 1)
	}
	again, _ := PartitionIID(len(labels), 10, 1)
	require.Equal(t, iid, again, "seeded")

	skewed, err := PartitionDirichlet(labels, 10, 10, 0.5, 7)
	require.NoError(t, err)
	check(skewed)
	again, _ = PartitionDirichlet(labels, 10, 10, 0.5, 7)
	require.Equal(t, skewed, again, "seeded")
	// With alpha 0.5 some shard is dominated by few classes; IID shards are not.
	maxShare := func(shards [][]int) float64 {
		worst := 0.0
		for _, s := range shards {
			counts := make([]int, 10)
			for _, i := range s {
				counts[labels[i]]++
			}
			for _, c := range counts {
				if len(s) > 0 && float64(c)/float64(len(s)) > worst {
					worst = float64(c) / float64(len(s))
				}
			}
		}
		return worst
	}
	require.Less(t, maxShare(iid), 0.2)
	require.Greater(t, maxShare(skewed), 0.35)

	_, err = PartitionIID(3, 5, 1)
	require.Error(t, err)
	_, err = PartitionDirichlet([]int{0, 11}, 10, 2, 0.5, 1)
	require.Error(t, err)
}
