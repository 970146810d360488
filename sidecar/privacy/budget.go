package privacy

import (
	"errors"
	"fmt"
	"math"
)

// ErrBudgetExceeded is returned by Budget.Spend when the steps asked for
// would take the spent ε beyond the budget; nothing is spent then.
var ErrBudgetExceeded = errors.New("privacy: budget exceeded")

// Budget is an (ε, δ) privacy budget and the accountant that spends it: a
// run asks before every step (or round) whether it still fits and stops
// before it would not. The zero value is not usable (its methods return
// errors): call NewBudget. A Budget is not safe for concurrent use.
type Budget struct {
	maxEps, delta float64
	acct          *Accountant
}

// NewBudget returns an unspent budget of maxEps (positive and finite) at
// δ in (0, 1), accounted over DefaultOrders.
func NewBudget(maxEps, delta float64) (*Budget, error) {
	if !(maxEps > 0) || math.IsInf(maxEps, 1) {
		return nil, fmt.Errorf("privacy: ε budget %v is not a positive finite number", maxEps)
	}
	if err := checkDelta(delta); err != nil {
		return nil, err
	}
	acct, err := NewAccountant()
	if err != nil {
		return nil, err
	}
	return &Budget{maxEps: maxEps, delta: delta, acct: acct}, nil
}

// MaxEpsilon is the budget's ε.
func (b *Budget) MaxEpsilon() float64 { return b.maxEps }

// Delta is the budget's δ.
func (b *Budget) Delta() float64 { return b.delta }

// errNoBudget is what the zero Budget's methods return.
var errNoBudget = errors.New("privacy: budget not made with NewBudget")

// Steps is the number of steps spent so far.
func (b *Budget) Steps() int {
	if b.acct == nil {
		return 0
	}
	return b.acct.Steps()
}

// Spent is the ε spent so far at the budget's δ (0 before any step).
func (b *Budget) Spent() (float64, error) {
	if b.acct == nil {
		return 0, errNoBudget
	}
	eps, _, err := b.acct.Epsilon(b.delta)
	return eps, err
}

// WouldExceed reports whether spending steps more steps of the sampled
// Gaussian mechanism (rate q, noise multiplier sigma) would take the
// spent ε beyond the budget, and the ε that would then be spent. It
// spends nothing.
func (b *Budget) WouldExceed(q, sigma float64, steps int) (bool, float64, error) {
	if b.acct == nil {
		return false, 0, errNoBudget
	}
	eps, err := b.acct.EpsilonAfter(q, sigma, steps, b.delta)
	if err != nil {
		return false, 0, err
	}
	return eps > b.maxEps, eps, nil
}

// Spend composes steps steps of (q, sigma) when they fit in the budget
// and returns the ε spent after them. When they do not fit it spends
// nothing and returns an error wrapping ErrBudgetExceeded.
func (b *Budget) Spend(q, sigma float64, steps int) (float64, error) {
	exceed, eps, err := b.WouldExceed(q, sigma, steps)
	if err != nil {
		return 0, err
	}
	if exceed {
		return 0, fmt.Errorf("%w: %d more steps (q %g, σ %g) would spend ε = %.4g at δ = %g, the budget is %g", ErrBudgetExceeded, steps, q, sigma, eps, b.delta, b.maxEps)
	}
	if err := b.acct.Compose(q, sigma, steps); err != nil {
		return 0, err
	}
	return eps, nil
}

// StepsLeft is how many more steps of (q, sigma) fit in the budget, at
// most limit (a positive cap on the search; ε grows with every step, so
// the answer is found by bisection).
func (b *Budget) StepsLeft(q, sigma float64, limit int) (int, error) {
	if limit <= 0 {
		return 0, fmt.Errorf("privacy: step limit %d is not positive", limit)
	}
	fits := func(n int) (bool, error) {
		exceed, _, err := b.WouldExceed(q, sigma, n)
		return !exceed, err
	}
	if ok, err := fits(limit); err != nil {
		return 0, err
	} else if ok {
		return limit, nil
	}
	lo, hi := 0, limit // fits(lo), !fits(hi)
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		ok, err := fits(mid)
		if err != nil {
			return 0, err
		}
		if ok {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo, nil
}
