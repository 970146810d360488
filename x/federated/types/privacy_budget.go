package types

import (
	"fmt"

	sdkmath "cosmossdk.io/math"
)

// This file is the on-chain differential-privacy accountant of client-dp
// runs. It runs in consensus, so it uses cosmossdk.io/math LegacyDec (18
// decimals, deterministic rounding) only, never float64.
//
// Mechanism. Every participant clips its update to L2 norm clip_norm C and
// adds Gaussian noise of standard deviation noise_multiplier*C, that is
// σ·C with σ = noise_multiplier, from its own private randomness
// (sidecar/federation/clientdp.go). Its update blob is public, so each
// committed update is itself a release; adding or removing one client's
// data changes its clipped update by at most C in L2 norm (sensitivity C),
// so each round attempt a client commits in is one release of the
// Gaussian mechanism with noise multiplier σ = (noise std)/(sensitivity);
// C cancels out of the privacy loss. The aggregate of a round is
// post-processing and costs nothing more. A retried attempt that received
// updates released them too, so it is charged (Run.dp_releases). No amplification by subsampling is claimed:
// participants are selected by a weighted draw without replacement, not by
// Poisson sampling, so the accountant treats every round as if every
// client took part.
//
// Rényi DP. One release is (α, α/(2σ²))-RDP for every order α > 1; RDP
// composes additively, so T finalised rounds are (α, T·α/(2σ²))-RDP.
//
// Conversion. (α, ρ)-RDP implies (ρ + ln(1/δ)/(α−1), δ)-DP for every
// δ in (0, 1) (Mironov 2017, Prop. 3). The accountant minimises over the
// integer orders α = 2, 3, ..., 256:
//
//	ε(T, δ) = min_{α ∈ {2..256}} T·α/(2σ²) + ln(1/δ)/(α−1)
//
// Restricting α to integers only makes ε larger (the bound stays valid).

// Privacy accountant orders: integer α in [MinRDPOrder, MaxRDPOrder].
const (
	MinRDPOrder = 2
	MaxRDPOrder = 256
)

// ln2 is ln 2 rounded to 18 decimals (0.693147180559945309417232...).
var ln2 = sdkmath.LegacyMustNewDecFromStr("0.693147180559945309")

// sqrt2 and halfSqrt2 bound the reduced argument of Ln: √2 and √2/2 to
// 18 decimals (only the range reduction uses them; any nearby values work).
var (
	sqrt2     = sdkmath.LegacyMustNewDecFromStr("1.414213562373095049")
	halfSqrt2 = sdkmath.LegacyMustNewDecFromStr("0.707106781186547524")
)

// Ln returns the natural logarithm of x > 0, to within a few units of
// 1e-17 absolute (the resolution of LegacyDec is 1e-18).
//
// Range reduction: x = m·2^k with m in [√2/2, √2) and k an integer, found
// by exact doublings when x < √2/2 and one division by 2^k when x ≥ √2.
// Then ln x = k·ln 2 + ln m, and ln m comes from the atanh series
//
//	ln m = 2·atanh(z) = 2·(z + z³/3 + z⁵/5 + ...),   z = (m−1)/(m+1)
//
// which converges for |z| < 1; here |z| ≤ (√2−1)/(√2+1) < 0.172, so each
// term is at least 33 times smaller than the one before and about a dozen
// terms reach the last decimal. The sum stops at the first term that
// rounds to zero (at most 64 terms).
func Ln(x sdkmath.LegacyDec) (sdkmath.LegacyDec, error) {
	if x.IsNil() || !x.IsPositive() {
		return sdkmath.LegacyDec{}, fmt.Errorf("ln of a non-positive number %v", x)
	}
	m := x
	k := int64(0)
	for m.LT(halfSqrt2) { // exact: doubling a LegacyDec does not round
		m = m.MulInt64(2)
		k--
	}
	if m.GTE(sqrt2) {
		p := sdkmath.OneInt()
		for m.Quo(sdkmath.LegacyNewDecFromInt(p)).GTE(sqrt2) {
			p = p.MulRaw(2)
			k++
		}
		m = m.Quo(sdkmath.LegacyNewDecFromInt(p)) // one rounding
	}
	one := sdkmath.LegacyOneDec()
	z := m.Sub(one).Quo(m.Add(one))
	z2 := z.Mul(z)
	sum := sdkmath.LegacyZeroDec()
	pow := z
	for n := int64(0); n < 64; n++ {
		term := pow.QuoInt64(2*n + 1)
		if term.IsZero() {
			break
		}
		sum = sum.Add(term)
		pow = pow.Mul(z2)
	}
	return ln2.MulInt64(k).Add(sum.MulInt64(2)), nil
}

// GaussianEpsilon is the ε of (ε, δ)-DP after rounds releases of the
// Gaussian mechanism with noise multiplier sigma (see the top of this
// file):
//
//	ε = min_{α ∈ {2..256}} rounds·α/(2σ²) + ln(1/δ)/(α−1)
//
// It is 0 for zero rounds. sigma must be positive and delta in (0, 1).
func GaussianEpsilon(rounds uint32, sigma, delta sdkmath.LegacyDec) (sdkmath.LegacyDec, error) {
	if sigma.IsNil() || !sigma.IsPositive() {
		return sdkmath.LegacyDec{}, fmt.Errorf("noise multiplier must be positive, got %v", sigma)
	}
	if delta.IsNil() || !delta.IsPositive() || delta.GTE(sdkmath.LegacyOneDec()) {
		return sdkmath.LegacyDec{}, fmt.Errorf("delta must be in (0, 1), got %v", delta)
	}
	if rounds == 0 {
		return sdkmath.LegacyZeroDec(), nil
	}
	twoSigma2 := sigma.Mul(sigma).MulInt64(2)
	if twoSigma2.IsZero() {
		return sdkmath.LegacyDec{}, fmt.Errorf("noise multiplier %v is too small", sigma)
	}
	lnDelta, err := Ln(delta)
	if err != nil {
		return sdkmath.LegacyDec{}, err
	}
	lnInvDelta := lnDelta.Neg()
	var best sdkmath.LegacyDec
	for a := int64(MinRDPOrder); a <= MaxRDPOrder; a++ {
		rdp := sdkmath.LegacyNewDec(int64(rounds) * a).Quo(twoSigma2)
		eps := rdp.Add(lnInvDelta.QuoInt64(a - 1))
		if best.IsNil() || eps.LT(best) {
			best = eps
		}
	}
	return best, nil
}

// EpsilonAfterRounds is the ε a client-dp run has spent after rounds
// finalised rounds, at the run's δ (privacy.delta) and noise multiplier.
func (p Privacy) EpsilonAfterRounds(rounds uint32) (sdkmath.LegacyDec, error) {
	if p.Mode != PRIVACY_MODE_CLIENT_DP {
		return sdkmath.LegacyDec{}, fmt.Errorf("privacy mode %s has no DP budget", p.Mode)
	}
	sigma, err := sdkmath.LegacyNewDecFromStr(p.NoiseMultiplier)
	if err != nil {
		return sdkmath.LegacyDec{}, fmt.Errorf("privacy.noise_multiplier: %w", err)
	}
	delta, err := sdkmath.LegacyNewDecFromStr(p.Delta)
	if err != nil {
		return sdkmath.LegacyDec{}, fmt.Errorf("privacy.delta: %w", err)
	}
	return GaussianEpsilon(rounds, sigma, delta)
}

// Budget is the run's ε budget (privacy.epsilon) for client-dp runs.
func (p Privacy) Budget() (sdkmath.LegacyDec, error) {
	if p.Mode != PRIVACY_MODE_CLIENT_DP {
		return sdkmath.LegacyDec{}, fmt.Errorf("privacy mode %s has no DP budget", p.Mode)
	}
	return sdkmath.LegacyNewDecFromStr(p.Epsilon)
}

// CanAfford reports whether the run's ε budget covers rounds finalised
// rounds, and the ε they would spend.
func (p Privacy) CanAfford(rounds uint32) (bool, sdkmath.LegacyDec, error) {
	budget, err := p.Budget()
	if err != nil {
		return false, sdkmath.LegacyDec{}, err
	}
	eps, err := p.EpsilonAfterRounds(rounds)
	if err != nil {
		return false, sdkmath.LegacyDec{}, err
	}
	return eps.LTE(budget), eps, nil
}
