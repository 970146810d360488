package privacy

import (
	"errors"
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestGaussianRDPClosedForm(t *testing.T) {
	for _, sigma := range []float64{0.5, 1, 2.71828, 10} {
		for _, alpha := range []int{2, 3, 17, 256, 1024} {
			r, err := SampledGaussianRDP(1, sigma, alpha)
			require.NoError(t, err)
			require.InEpsilon(t, float64(alpha)/(2*sigma*sigma), r, 1e-15)
		}
	}
	// q = 1 over T steps: ε is the minimum of the conversion over orders.
	const sigma, steps, delta = 4.0, 10, 1e-6
	want := math.Inf(1)
	for _, alpha := range DefaultOrders() {
		a := float64(alpha)
		want = min(want, steps*a/(2*sigma*sigma)+math.Log1p(-1/a)-(math.Log(delta)+math.Log(a))/(a-1))
	}
	eps, _, err := Epsilon(1, sigma, steps, delta)
	require.NoError(t, err)
	require.InEpsilon(t, want, eps, 1e-12)
}

// TestSampledGaussianRDPKnownValues checks values that Google's
// dp_accounting (rdp_privacy_accountant_test.py) computes for q = 0.01,
// σ = 2.5, 50 steps.
func TestSampledGaussianRDPKnownValues(t *testing.T) {
	a, err := NewAccountant(5, 50, 100)
	require.NoError(t, err)
	require.NoError(t, a.Compose(0.01, 2.5, 50))
	want := []float64{2.18075656e-03, 2.38460375e-02, 1.67416308e02}
	for i, r := range a.RDP() {
		require.InEpsilon(t, want[i], r, 1e-4, "order %d", a.Orders()[i])
	}
}

// TestSmallSamplingRateLimit checks the leading term for tiny q:
// log A_α ≈ C(α, 2)·q²·(e^(1/σ²) − 1).
func TestSmallSamplingRateLimit(t *testing.T) {
	const q, sigma, alpha = 1e-6, 2.0, 10
	r, err := SampledGaussianRDP(q, sigma, alpha)
	require.NoError(t, err)
	want := 45 * q * q * math.Expm1(1/(sigma*sigma)) / (alpha - 1)
	require.InEpsilon(t, want, r, 1e-3)
	require.Greater(t, r, 0.0)
}

func TestRDPStableAtExtremes(t *testing.T) {
	for _, q := range []float64{1e-9, 1e-3, 0.5, 0.999999, 1} {
		for _, sigma := range []float64{1e-3, 0.1, 1, 1e3} {
			for _, alpha := range []int{2, 64, 1024, MaxOrder} {
				r, err := SampledGaussianRDP(q, sigma, alpha)
				require.NoError(t, err)
				require.False(t, math.IsNaN(r), "q %g σ %g α %d", q, sigma, alpha)
				require.GreaterOrEqual(t, r, 0.0)
			}
		}
	}
	r, err := SampledGaussianRDP(0.01, 1e-160, 4) // (i²−i)/(2σ²) overflows
	require.NoError(t, err)
	require.True(t, math.IsInf(r, 1))
	eps, _, err := Epsilon(0.01, 1e-160, 10, 1e-5)
	require.NoError(t, err)
	require.True(t, math.IsInf(eps, 1))
}

// TestEpsilonFromRDPPureDP is dp_accounting's test_compute_epsilon_delta_pure_dp.
func TestEpsilonFromRDPPureDP(t *testing.T) {
	var orders []int
	var rdp []float64
	for a := 2; a <= 32; a++ {
		orders, rdp = append(orders, a), append(rdp, 1.1)
	}
	eps, order, err := EpsilonFromRDP(orders, rdp, 1e-5)
	require.NoError(t, err)
	require.InDelta(t, 1.32783806176, eps, 1e-9)
	require.Equal(t, 32, order)

	// Tiny RDP: the KL bound gives ε = 0.
	eps, _, err = EpsilonFromRDP([]int{2}, []float64{1e-12}, 1e-5)
	require.NoError(t, err)
	require.Zero(t, eps)
}

// TestMNISTSetting is the well-known DP-SGD MNIST setting of TensorFlow
// Privacy's tutorial: N = 60000, batch 256, σ = 1.1, 60 epochs, δ = 1e-5.
// Its compute_dp_sgd_privacy reported ε = 3.01 with the classic
// conversion ε = RDP(α) − log δ/(α−1); the integer orders give 3.009
// (order 9). The improved conversion used here gives 2.597 (order 8).
func TestMNISTSetting(t *testing.T) {
	q, steps := 256.0/60000, 60*60000/256+1 // 14063, as tf-privacy counts
	a, err := NewAccountant()
	require.NoError(t, err)
	require.NoError(t, a.Compose(q, 1.1, steps))
	classic, classicOrder := math.Inf(1), 0
	for i, r := range a.RDP() {
		alpha := float64(a.Orders()[i])
		if e := r - math.Log(1e-5)/(alpha-1); e < classic {
			classic, classicOrder = e, a.Orders()[i]
		}
	}
	require.InDelta(t, 3.01, classic, 0.01)
	require.Equal(t, 9, classicOrder)

	eps, order, err := a.Epsilon(1e-5)
	require.NoError(t, err)
	require.InDelta(t, 2.597, eps, 0.001)
	require.Equal(t, 8, order)
}

func TestEpsilonMonotone(t *testing.T) {
	const delta = 1e-5
	eps := func(q, sigma float64, steps int) float64 {
		e, _, err := Epsilon(q, sigma, steps, delta)
		require.NoError(t, err)
		return e
	}
	prev := 0.0
	for _, steps := range []int{1, 10, 100, 1000, 10000} {
		e := eps(0.01, 1, steps)
		require.Greater(t, e, prev, "more steps, more ε")
		prev = e
	}
	prev = math.Inf(1)
	for _, sigma := range []float64{0.5, 0.8, 1, 2, 5} {
		e := eps(0.01, sigma, 1000)
		require.Less(t, e, prev, "more noise, less ε")
		prev = e
	}
	prev = 0
	for _, q := range []float64{0.001, 0.01, 0.1, 1} {
		e := eps(q, 1, 100)
		require.Greater(t, e, prev, "more sampling, more ε")
		prev = e
	}
	prev = math.Inf(1)
	for _, d := range []float64{1e-9, 1e-7, 1e-5, 1e-3} {
		e, _, err := Epsilon(0.01, 1, 1000, d)
		require.NoError(t, err)
		require.Less(t, e, prev, "larger δ, less ε")
		prev = e
	}
}

func TestAccountantComposition(t *testing.T) {
	one, err := NewAccountant()
	require.NoError(t, err)
	for i := 0; i < 500; i++ {
		require.NoError(t, one.Compose(0.02, 0.9, 1))
	}
	all, err := NewAccountant()
	require.NoError(t, err)
	require.NoError(t, all.Compose(0.02, 0.9, 500))
	require.Equal(t, all.RDP(), one.RDP(), "500 single steps are exactly 500 steps")
	require.Equal(t, 500, one.Steps())

	// Heterogeneous steps add their RDP.
	mixed, err := NewAccountant(2, 8, 32)
	require.NoError(t, err)
	require.NoError(t, mixed.Compose(0.02, 0.9, 10))
	require.NoError(t, mixed.Compose(0.05, 2, 20))
	require.NoError(t, mixed.Compose(0.02, 0.9, 5))
	require.NoError(t, mixed.Compose(0.02, 0.9, 0))
	for i, alpha := range mixed.Orders() {
		r1, _ := SampledGaussianRDP(0.02, 0.9, alpha)
		r2, _ := SampledGaussianRDP(0.05, 2, alpha)
		require.InEpsilon(t, 15*r1+20*r2, mixed.RDP()[i], 1e-12)
	}
	require.Equal(t, 35, mixed.Steps())

	// Alternating mechanisms keep one count each.
	alt, err := NewAccountant(2, 8, 32)
	require.NoError(t, err)
	for i := 0; i < 1000; i++ {
		require.NoError(t, alt.Compose(0.02, 0.9, 1))
		require.NoError(t, alt.Compose(0.05, 2, 1))
	}
	require.Len(t, alt.terms, 2)
	for i, alpha := range alt.Orders() {
		r1, _ := SampledGaussianRDP(0.02, 0.9, alpha)
		r2, _ := SampledGaussianRDP(0.05, 2, alpha)
		require.InEpsilon(t, 1000*r1+1000*r2, alt.RDP()[i], 1e-12)
	}

	// EpsilonAfter composes nothing.
	before, _, err := mixed.Epsilon(1e-5)
	require.NoError(t, err)
	after, err := mixed.EpsilonAfter(0.05, 2, 100, 1e-5)
	require.NoError(t, err)
	require.Greater(t, after, before)
	again, _, err := mixed.Epsilon(1e-5)
	require.NoError(t, err)
	require.Equal(t, before, again)

	fresh, err := NewAccountant()
	require.NoError(t, err)
	eps, _, err := fresh.Epsilon(1e-5)
	require.NoError(t, err)
	require.Zero(t, eps)

	dup, err := NewAccountant(8, 2, 8)
	require.NoError(t, err)
	require.Equal(t, []int{2, 8}, dup.Orders())
}

func TestNoiseMultiplier(t *testing.T) {
	for _, c := range []struct {
		eps, q float64
		steps  int
	}{{8, 256.0 / 60000, 2340}, {1, 0.01, 1000}, {3, 0.1, 50}, {0.5, 1, 1}, {50, 0.001, 10}} {
		sigma, err := NoiseMultiplier(c.eps, 1e-5, c.q, c.steps)
		require.NoError(t, err)
		got, _, err := Epsilon(c.q, sigma, c.steps, 1e-5)
		require.NoError(t, err)
		require.LessOrEqual(t, got, c.eps, "σ %v must meet the target", sigma)
		less, _, err := Epsilon(c.q, sigma*(1-2e-5), c.steps, 1e-5)
		require.NoError(t, err)
		require.Greater(t, less, c.eps, "σ %v must be (nearly) the smallest", sigma)
		require.Equal(t, sigma, roundUp6(sigma), "six significant digits")
	}
	sigma, err := NoiseMultiplier(2.597, 1e-5, 256.0/60000, 14063)
	require.NoError(t, err)
	require.InDelta(t, 1.1, sigma, 0.001, "the MNIST setting's σ for its own ε")

	_, err = NoiseMultiplier(1e-6, 1e-5, 1, 1000000)
	require.ErrorContains(t, err, "even noise multiplier")
	sigma, err = NoiseMultiplier(1e7, 1e-5, 0.01, 1)
	require.NoError(t, err)
	require.Equal(t, minNoiseMultiplier, sigma)
}

func TestRoundUp6(t *testing.T) {
	for _, c := range [][2]float64{{0.6534829918, 0.653483}, {0.653483, 0.653483}, {1.0000001, 1.00001}, {999999.5, 1e6}, {1e-7, 1e-7}, {123.4564, 123.457}} {
		require.Equal(t, c[1], roundUp6(c[0]), "%v", c[0])
	}
}

func TestAccountingBadInput(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	for _, q := range []float64{0, -0.1, 1.0001, nan, inf} {
		_, err := SampledGaussianRDP(q, 1, 2)
		require.ErrorContains(t, err, "sampling rate", "q %v", q)
		_, _, err = Epsilon(q, 1, 10, 1e-5)
		require.Error(t, err)
		_, err = NoiseMultiplier(1, 1e-5, q, 10)
		require.Error(t, err)
	}
	for _, sigma := range []float64{0, -1, nan, inf} {
		_, err := SampledGaussianRDP(0.1, sigma, 2)
		require.ErrorContains(t, err, "noise multiplier", "σ %v", sigma)
	}
	for _, alpha := range []int{-1, 0, 1, MaxOrder + 1} {
		_, err := SampledGaussianRDP(0.1, 1, alpha)
		require.ErrorContains(t, err, "order")
		_, err = NewAccountant(alpha, 4)
		require.Error(t, err)
	}
	for _, delta := range []float64{0, -1e-5, 1, 2, nan} {
		_, _, err := Epsilon(0.1, 1, 10, delta)
		require.ErrorContains(t, err, "δ", "δ %v", delta)
		_, err = NoiseMultiplier(1, delta, 0.1, 10)
		require.Error(t, err)
		_, err = NewBudget(1, delta)
		require.Error(t, err)
	}
	_, _, err := Epsilon(0.1, 1, -1, 1e-5)
	require.ErrorContains(t, err, "steps")
	for _, target := range []float64{0, -1, nan, inf} {
		_, err = NoiseMultiplier(target, 1e-5, 0.1, 10)
		require.ErrorContains(t, err, "target ε")
		_, err = NewBudget(target, 1e-5)
		require.Error(t, err)
	}
	_, err = NoiseMultiplier(1, 1e-5, 0.1, 0)
	require.Error(t, err)
	_, _, err = EpsilonFromRDP([]int{2, 3}, []float64{1}, 1e-5)
	require.Error(t, err)
	_, _, err = EpsilonFromRDP(nil, nil, 1e-5)
	require.Error(t, err)
	_, _, err = EpsilonFromRDP([]int{2}, []float64{-1}, 1e-5)
	require.Error(t, err)
	_, _, err = EpsilonFromRDP([]int{2}, []float64{nan}, 1e-5)
	require.Error(t, err)
	_, _, err = EpsilonFromRDP([]int{1}, []float64{1}, 1e-5)
	require.Error(t, err)
}

func TestBudget(t *testing.T) {
	b, err := NewBudget(2, 1e-5)
	require.NoError(t, err)
	require.Equal(t, 2.0, b.MaxEpsilon())
	require.Equal(t, 1e-5, b.Delta())
	spent, err := b.Spent()
	require.NoError(t, err)
	require.Zero(t, spent)

	const q, sigma = 0.01, 1.0
	left, err := b.StepsLeft(q, sigma, 1<<20)
	require.NoError(t, err)
	require.Greater(t, left, 100)
	exceed, eps, err := b.WouldExceed(q, sigma, left)
	require.NoError(t, err)
	require.False(t, exceed)
	require.LessOrEqual(t, eps, 2.0)
	exceed, eps, err = b.WouldExceed(q, sigma, left+1)
	require.NoError(t, err)
	require.True(t, exceed)
	require.Greater(t, eps, 2.0)

	// Spend step by step until the budget refuses: exactly `left` steps.
	prev := 0.0
	for i := 0; i < left; i++ {
		e, err := b.Spend(q, sigma, 1)
		require.NoError(t, err)
		require.GreaterOrEqual(t, e, prev)
		prev = e
	}
	_, err = b.Spend(q, sigma, 1)
	require.True(t, errors.Is(err, ErrBudgetExceeded))
	require.Equal(t, left, b.Steps(), "a refused step spends nothing")
	spent, err = b.Spent()
	require.NoError(t, err)
	require.Equal(t, prev, spent)
	require.LessOrEqual(t, spent, 2.0)
	n, err := b.StepsLeft(q, sigma, 10)
	require.NoError(t, err)
	require.Zero(t, n)

	// A noisier mechanism may still fit.
	n, err = b.StepsLeft(q, 20, 10)
	require.NoError(t, err)
	require.Equal(t, 10, n, "capped by the limit")

	_, err = b.StepsLeft(q, sigma, 0)
	require.Error(t, err)
	_, _, err = b.WouldExceed(0, sigma, 1)
	require.Error(t, err)
	_, err = b.Spend(q, -1, 1)
	require.Error(t, err)

	var zero Budget
	_, err = zero.Spent()
	require.Error(t, err)
	_, err = zero.Spend(q, sigma, 1)
	require.Error(t, err)
	_, err = zero.StepsLeft(q, sigma, 10)
	require.Error(t, err)
	require.Zero(t, zero.Steps())
	var za Accountant
	_, _, err = za.Epsilon(1e-5)
	require.Error(t, err)
}
