package aggregate

import (
	"math"
	"sync"
)

// comparator is one compare-exchange of a sorting network: after it, wire
// I holds the smaller and wire J the larger of the two values (I < J).
type comparator struct{ I, J int }

// sortingNetwork returns a network that sorts n wires ascending, pruned to
// the comparators that can change what ends on wires [keepLo, keepHi).
// It is Batcher's odd–even merge sort on the next power of two with the
// comparators that touch padding wires dropped: padding stands for +∞,
// which such a comparator never moves. Sorting networks compare the same
// pairs whatever the data, so the result of a column is a function of the
// column alone — never of thread count or memory order.
func sortingNetwork(n, keepLo, keepHi int) []comparator {
	key := [3]int{n, keepLo, keepHi}
	if net, ok := networks.Load(key); ok {
		return net.([]comparator)
	}
	p := 1
	for p < n {
		p <<= 1
	}
	var full []comparator
	for size := 1; size < p; size <<= 1 {
		for k := size; k >= 1; k >>= 1 {
			for j := k % size; j+k < p; j += 2 * k {
				for i := 0; i < k && i+j+k < p; i++ {
					if (i+j)/(2*size) == (i+j+k)/(2*size) && i+j+k < n {
						full = append(full, comparator{i + j, i + j + k})
					}
				}
			}
		}
	}
	// Walk backwards keeping a comparator only if one of its outputs is
	// needed later; its inputs then are.
	needed := make([]bool, n)
	for w := keepLo; w < keepHi; w++ {
		needed[w] = true
	}
	var kept []comparator
	for c := len(full) - 1; c >= 0; c-- {
		if cp := full[c]; needed[cp.I] || needed[cp.J] {
			needed[cp.I], needed[cp.J] = true, true
			kept = append(kept, cp)
		}
	}
	for a, b := 0, len(kept)-1; a < b; a, b = a+1, b-1 {
		kept[a], kept[b] = kept[b], kept[a]
	}
	networks.Store(key, kept)
	return kept
}

var networks sync.Map // [3]int → []comparator

// orderedKey maps a float32 to an int32 whose integer order is the float's
// total order (−0 before +0). It is its own inverse on the bit pattern:
// fromOrderedKey(orderedKey(v)) == v bit for bit.
func orderedKey(v float32) int32 {
	k := int32(math.Float32bits(v))
	return k ^ (k >> 31 & 0x7FFFFFFF)
}

// fromOrderedKey is the inverse of orderedKey.
func fromOrderedKey(k int32) float32 {
	return math.Float32frombits(uint32(k ^ (k >> 31 & 0x7FFFFFFF)))
}

// columnBlock is how many coordinates sortColumns sorts at once: n rows of
// this many int32 keys stay in the first-level cache.
const columnBlock = 8192

// sortColumns sorts, for every coordinate of one block, the clients' values
// (as orderedKeys): rows[i][c] is client i's value at coordinate c on entry
// and the i-th smallest on return. It applies each comparator to the whole
// block before the next, so the inner loop is branch-free min/max over
// contiguous memory.
func sortColumns(rows [][]int32, net []comparator) {
	for _, cp := range net {
		minMax(rows[cp.I], rows[cp.J])
	}
}
