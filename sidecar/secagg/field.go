package secagg

import "math/bits"

// fieldP is the Mersenne prime 2^61 − 1, the order of the field Shamir
// sharing works in. Elements are uint64 values in [0, fieldP).
const fieldP = 1<<61 - 1

// fReduce maps r < 2·fieldP to [0, fieldP) without a secret-dependent
// branch.
func fReduce(r uint64) uint64 {
	d, borrow := bits.Sub64(r, fieldP, 0)
	mask := -borrow // all ones when r < fieldP
	return r&mask | d&^mask
}

// fAdd is a + b.
func fAdd(a, b uint64) uint64 { return fReduce(a + b) }

// fSub is a − b.
func fSub(a, b uint64) uint64 { return fReduce(a + fieldP - b) }

// fMul is a·b. With 2^61 ≡ 1, the 122-bit product folds into its top and
// bottom 61 bits, whose sum is below 2·fieldP for reduced inputs.
func fMul(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return fReduce((hi<<3 | lo>>61) + (lo & fieldP))
}

// fInv is 1/a for a ≠ 0, as a^(p−2). It branches on the exponent only,
// which is public.
func fInv(a uint64) uint64 {
	r := uint64(1)
	for e := uint64(fieldP - 2); e > 0; e >>= 1 {
		if e&1 == 1 {
			r = fMul(r, a)
		}
		a = fMul(a, a)
	}
	return r
}

// lagrange holds distinct nonzero points x_j and their barycentric
// weights w_j = 1 / Π_{m≠j} (x_j − x_m), from which the basis polynomials
// L_j(x) = w_j · Π_{m≠j} (x − x_m) are evaluated at any x in O(len(xs)).
// The points are public (holders' ids); nothing here touches secrets.
type lagrange struct {
	xs []uint64
	w  []uint64
}

// newLagrange computes the weights in O(k²) multiplications and one
// inversion (the denominators are inverted together).
func newLagrange(xs []uint64) lagrange {
	k := len(xs)
	d := make([]uint64, k)
	for j, xj := range xs {
		p := uint64(1)
		for m, xm := range xs {
			if m != j {
				p = fMul(p, fSub(xj, xm))
			}
		}
		d[j] = p
	}
	return lagrange{xs: xs, w: batchInv(d)}
}

// batchInv inverts nonzero elements with one field inversion.
func batchInv(d []uint64) []uint64 {
	prefix := make([]uint64, len(d))
	acc := uint64(1)
	for i, v := range d {
		prefix[i] = acc
		acc = fMul(acc, v)
	}
	inv := fInv(acc)
	out := make([]uint64, len(d))
	for i := len(d) - 1; i >= 0; i-- {
		out[i] = fMul(inv, prefix[i])
		inv = fMul(inv, d[i])
	}
	return out
}

// at returns L_j(x) for every j, using prefix and suffix products of
// (x − x_m) so that x may be any field element.
func (l lagrange) at(x uint64) []uint64 {
	k := len(l.xs)
	out := make([]uint64, k)
	acc := uint64(1)
	for j := range k {
		out[j] = acc
		acc = fMul(acc, fSub(x, l.xs[j]))
	}
	acc = 1
	for j := k - 1; j >= 0; j-- {
		out[j] = fMul(fMul(out[j], acc), l.w[j])
		acc = fMul(acc, fSub(x, l.xs[j]))
	}
	return out
}
