package privacy

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// MaxOrder bounds the Rényi orders an Accountant tracks: the RDP of one
// order α costs α+1 terms.
const MaxOrder = 1 << 16

// DefaultOrders are the Rényi orders an Accountant tracks unless told
// otherwise: every integer from 2 to 256, then 320, 384, 448, 512, 640,
// 768 and 1024 for runs with a lot of noise or very few steps.
func DefaultOrders() []int {
	orders := make([]int, 0, 262)
	for a := 2; a <= 256; a++ {
		orders = append(orders, a)
	}
	return append(orders, 320, 384, 448, 512, 640, 768, 1024)
}

// checkMechanism validates a sampling rate and a noise multiplier.
func checkMechanism(q, sigma float64) error {
	if !(q > 0 && q <= 1) {
		return fmt.Errorf("privacy: sampling rate %v outside (0, 1]", q)
	}
	if !(sigma > 0) || math.IsInf(sigma, 1) {
		return fmt.Errorf("privacy: noise multiplier %v is not a positive finite number", sigma)
	}
	return nil
}

// checkDelta validates δ.
func checkDelta(delta float64) error {
	if !(delta > 0 && delta < 1) {
		return fmt.Errorf("privacy: δ %v outside (0, 1)", delta)
	}
	return nil
}

// SampledGaussianRDP is the Rényi DP of order alpha (an integer ≥ 2) of one
// step of the sampled Gaussian mechanism: each record is included with
// probability q, and the sum of the included records' contributions
// (each of L2 norm at most C) gets Gaussian noise of standard deviation
// σC. For q = 1 it is the plain Gaussian mechanism's α/(2σ²); otherwise
// (Mironov, Talwar and Zhang 2019, section 3.3)
//
//	RDP(α) = log A_α / (α−1),
//	A_α = Σ_{i=0..α} C(α, i) (1−q)^(α−i) q^i exp((i²−i)/(2σ²)),
//
// every term positive and the sum taken in log space (log-sum-exp), so it
// neither overflows for large α and small σ nor loses the small values
// of small q. It returns +Inf when the true value is beyond float64.
func SampledGaussianRDP(q, sigma float64, alpha int) (float64, error) {
	if err := checkMechanism(q, sigma); err != nil {
		return 0, err
	}
	if alpha < 2 || alpha > MaxOrder {
		return 0, fmt.Errorf("privacy: Rényi order %d outside [2, %d]", alpha, MaxOrder)
	}
	return sampledGaussianRDP(q, sigma, alpha), nil
}

// sampledGaussianRDP is SampledGaussianRDP on checked arguments.
func sampledGaussianRDP(q, sigma float64, alpha int) float64 {
	a := float64(alpha)
	if q == 1 {
		return a / (2 * sigma * sigma)
	}
	logQ, log1mQ := math.Log(q), math.Log1p(-q)
	inv2s2 := 1 / (2 * sigma * sigma)
	terms := make([]float64, alpha+1)
	logBinom := 0.0 // log C(α, i), updated term by term
	for i := 0; i <= alpha; i++ {
		if i > 0 {
			logBinom += math.Log(float64(alpha-i+1)) - math.Log(float64(i))
		}
		fi := float64(i)
		quad := 0.0 // (i²−i)/(2σ²), 0 for i < 2 even when 1/(2σ²) overflows
		if i >= 2 {
			quad = float64(float64(float64(fi*fi)-fi) * inv2s2)
		}
		// Products rounded before they are added (never fused).
		terms[i] = logBinom + float64(fi*logQ) + float64((a-fi)*log1mQ) + quad
	}
	logA := logSumExp(terms)
	return max(0, logA/(a-1)) // A_α ≥ 1; rounding must not make it negative
}

// logSumExp is log Σ exp(t), summed from the largest term down so that
// nothing overflows; +Inf if any term is.
func logSumExp(terms []float64) float64 {
	m := math.Inf(-1)
	for _, t := range terms {
		m = max(m, t)
	}
	if math.IsInf(m, 0) || math.IsNaN(m) {
		return m
	}
	s := 0.0
	for _, t := range terms {
		s += math.Exp(t - m)
	}
	return m + math.Log(s)
}

// EpsilonFromRDP converts Rényi DP (rdp[i] at orders[i]) to the smallest ε
// such that the mechanism is (ε, δ)-DP, and returns the order that gives
// it. Per order α it takes the bound of Balle et al. (2020), as
// TensorFlow Privacy's compute_eps does:
//
//	ε(α) = RDP(α) + log((α−1)/α) − (log δ + log α)/(α−1),
//
// or 0 when δ² ≥ 1 − exp(−RDP(α)) (then the KL divergence alone gives
// (0, δ)). The result is never negative; it is +Inf when every order's
// RDP is.
func EpsilonFromRDP(orders []int, rdp []float64, delta float64) (eps float64, order int, err error) {
	if err := checkDelta(delta); err != nil {
		return 0, 0, err
	}
	if len(orders) == 0 || len(orders) != len(rdp) {
		return 0, 0, fmt.Errorf("privacy: %d orders and %d RDP values", len(orders), len(rdp))
	}
	best, bestOrder := math.Inf(1), orders[0]
	logDelta := math.Log(delta)
	for i, alpha := range orders {
		r := rdp[i]
		if alpha < 2 || alpha > MaxOrder {
			return 0, 0, fmt.Errorf("privacy: Rényi order %d outside [2, %d]", alpha, MaxOrder)
		}
		if !(r >= 0) {
			return 0, 0, fmt.Errorf("privacy: RDP %v at order %d is not a non-negative number", r, alpha)
		}
		a := float64(alpha)
		var e float64
		if float64(delta*delta)+math.Expm1(-r) >= 0 {
			e = 0
		} else {
			e = r + math.Log1p(-1/a) - (logDelta+math.Log(a))/(a-1)
		}
		if e < best {
			best, bestOrder = e, alpha
		}
	}
	return max(0, best), bestOrder, nil
}

// term is a run of steps of one sampled Gaussian mechanism.
type term struct {
	q, sigma float64
	steps    int
	rdp      []float64 // of one step, at the accountant's orders
}

// Accountant composes the Rényi DP of sampled Gaussian steps at a fixed
// list of integer orders. Composition is a sum, so it keeps one step
// count per distinct mechanism (q, σ): an accountant given T single steps
// reports exactly what one given T steps at once does, and its cost does
// not grow with the number of steps. The zero value is not usable: call
// NewAccountant. An Accountant is not safe for concurrent use.
type Accountant struct {
	orders []int
	terms  []term // one per distinct (q, σ), in order of first use
}

// NewAccountant returns an accountant tracking the given orders (each an
// integer in [2, MaxOrder]; duplicates are dropped), or DefaultOrders when
// none are given.
func NewAccountant(orders ...int) (*Accountant, error) {
	if len(orders) == 0 {
		orders = DefaultOrders()
	}
	orders = slices.Clone(orders)
	slices.Sort(orders)
	orders = slices.Compact(orders)
	if orders[0] < 2 || orders[len(orders)-1] > MaxOrder {
		return nil, fmt.Errorf("privacy: Rényi orders must be integers in [2, %d], have %d to %d", MaxOrder, orders[0], orders[len(orders)-1])
	}
	return &Accountant{orders: orders}, nil
}

// Orders returns the orders the accountant tracks, in increasing order.
func (a *Accountant) Orders() []int { return slices.Clone(a.orders) }

// Steps is the number of steps composed so far.
func (a *Accountant) Steps() int {
	n := 0
	for _, t := range a.terms {
		n += t.steps
	}
	return n
}

// Compose adds steps steps of the sampled Gaussian mechanism with
// sampling rate q and noise multiplier sigma. Zero steps add nothing.
// The RDP of a mechanism is computed once, when it is first composed.
func (a *Accountant) Compose(q, sigma float64, steps int) error {
	if err := checkMechanism(q, sigma); err != nil {
		return err
	}
	if steps < 0 {
		return fmt.Errorf("privacy: %d steps", steps)
	}
	if steps == 0 {
		return nil
	}
	for i := range a.terms {
		if a.terms[i].q == q && a.terms[i].sigma == sigma {
			if a.terms[i].steps > math.MaxInt-steps {
				return fmt.Errorf("privacy: step count overflows")
			}
			a.terms[i].steps += steps
			return nil
		}
	}
	rdp := make([]float64, len(a.orders))
	for i, alpha := range a.orders {
		rdp[i] = sampledGaussianRDP(q, sigma, alpha)
	}
	a.terms = append(a.terms, term{q: q, sigma: sigma, steps: steps, rdp: rdp})
	return nil
}

// RDP returns the composed Rényi DP at every order (see Orders).
func (a *Accountant) RDP() []float64 {
	total := make([]float64, len(a.orders))
	for _, t := range a.terms {
		for i, r := range t.rdp {
			total[i] += float64(float64(t.steps) * r)
		}
	}
	return total
}

// Epsilon is the ε at which everything composed so far is (ε, δ)-DP, and
// the order that gives it (see EpsilonFromRDP). It is 0 before any step.
func (a *Accountant) Epsilon(delta float64) (eps float64, order int, err error) {
	return EpsilonFromRDP(a.orders, a.RDP(), delta)
}

// EpsilonAfter is the ε at δ the accountant would report after composing
// steps more steps of (q, sigma), without composing them.
func (a *Accountant) EpsilonAfter(q, sigma float64, steps int, delta float64) (float64, error) {
	c := a.clone()
	if err := c.Compose(q, sigma, steps); err != nil {
		return 0, err
	}
	eps, _, err := c.Epsilon(delta)
	return eps, err
}

// clone copies the accountant; the per-step RDP slices are shared, never
// written after they are made.
func (a *Accountant) clone() *Accountant {
	return &Accountant{orders: a.orders, terms: slices.Clone(a.terms)}
}

// Epsilon is the ε at which steps steps of the sampled Gaussian mechanism
// (rate q, noise multiplier sigma) are (ε, δ)-DP, over DefaultOrders, and
// the order that gives it.
func Epsilon(q, sigma float64, steps int, delta float64) (eps float64, order int, err error) {
	a, err := NewAccountant()
	if err != nil {
		return 0, 0, err
	}
	if err := a.Compose(q, sigma, steps); err != nil {
		return 0, 0, err
	}
	return a.Epsilon(delta)
}

// Search bounds of NoiseMultiplier.
const (
	minNoiseMultiplier = 1e-3
	maxNoiseMultiplier = 1e4
)

// NoiseMultiplier is the smallest noise multiplier σ at which steps steps
// of the sampled Gaussian mechanism with rate q are (targetEps, δ)-DP over
// DefaultOrders, found by bisection (ε falls as σ grows) to a relative
// precision of 10⁻⁹ and then rounded up to six significant digits, so
// that platforms whose math libraries differ in a last bit still agree on
// σ (and so on the weights it trains). The ε of the returned σ is at most
// targetEps. It returns an error when even σ = 10⁴ does not reach the
// target, and 10⁻³ when that already does.
func NoiseMultiplier(targetEps, delta, q float64, steps int) (float64, error) {
	if !(targetEps > 0) || math.IsInf(targetEps, 1) {
		return 0, fmt.Errorf("privacy: target ε %v is not a positive finite number", targetEps)
	}
	if err := checkDelta(delta); err != nil {
		return 0, err
	}
	if err := checkMechanism(q, 1); err != nil {
		return 0, err
	}
	if steps <= 0 {
		return 0, fmt.Errorf("privacy: %d steps", steps)
	}
	eps := func(sigma float64) float64 {
		e, _, err := Epsilon(q, sigma, steps, delta)
		if err != nil { // cannot happen: every argument is checked
			return math.Inf(1)
		}
		return e
	}
	lo, hi := minNoiseMultiplier, maxNoiseMultiplier
	if eps(hi) > targetEps {
		return 0, fmt.Errorf("privacy: even noise multiplier %g spends more than ε = %g over %d steps at rate %g", hi, targetEps, steps, q)
	}
	if eps(lo) <= targetEps {
		return lo, nil
	}
	for hi/lo > 1+1e-9 { // ε(lo) > target ≥ ε(hi)
		mid := math.Sqrt(lo * hi)
		if eps(mid) <= targetEps {
			hi = mid
		} else {
			lo = mid
		}
	}
	return roundUp6(hi), nil
}

// roundUp6 is the least number of six significant decimal digits that is
// at least x (x positive and finite), computed on the decimal string so
// that it is exact on every platform.
func roundUp6(x float64) float64 {
	s := strconv.FormatFloat(x, 'e', 5, 64) // d.ddddde±XX, correctly rounded
	if v, err := strconv.ParseFloat(s, 64); err == nil && v >= x {
		return v
	}
	mant, exp, _ := strings.Cut(s, "e")
	m, err1 := strconv.ParseInt(strings.Replace(mant, ".", "", 1), 10, 64)
	e, err2 := strconv.Atoi(exp)
	if err1 != nil || err2 != nil { // cannot happen for a finite x
		return math.Nextafter(x, math.Inf(1))
	}
	up, err := strconv.ParseFloat(fmt.Sprintf("%de%d", m+1, e-5), 64)
	if err != nil {
		return math.Nextafter(x, math.Inf(1))
	}
	return up
}
