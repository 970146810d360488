package types

import (
	"math"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	sdkmath "cosmossdk.io/math"
)

func f64(t *testing.T, d sdkmath.LegacyDec) float64 {
	t.Helper()
	x, err := strconv.ParseFloat(d.String(), 64)
	require.NoError(t, err)
	return x
}

// Ln agrees with math.Log to about 1e-15 relative. Near x = 1 the result
// is itself small and LegacyDec resolves only 1e-18 absolute, so the
// tolerance has an absolute floor of 1e-17 there (the reference then is
// math.Log1p of the exact x−1, free of cancellation).
func TestLnMatchesMathLog(t *testing.T) {
	xs := []string{
		"0.000000000000000001", "0.000000000000000003", "0.00000001", "0.00001", "0.0001", "0.001", "0.01",
		"0.05", "0.1", "0.25", "0.3", "0.5", "0.7071", "0.707106781186547524", "0.75", "0.9", "0.99",
		"0.999999", "0.999999999999", "1", "1.000000000001", "1.000001", "1.01", "1.1", "1.414213562373095048",
		"1.414213562373095049", "1.5", "2", "2.718281828459045235", "3", "7", "10", "100", "123456.789",
		"1000000", "999999999.999999999", "1000000000000000000", "123456789012345678901234567890.5",
	}
	for i := 1; i <= 200; i++ { // a sweep through many binades
		xs = append(xs, strconv.FormatFloat(math.Pow(1.37, float64(i-100)), 'f', 18, 64))
	}
	for _, s := range xs {
		x, err := sdkmath.LegacyNewDecFromStr(s)
		require.NoError(t, err)
		if x.IsZero() {
			continue
		}
		got, err := Ln(x)
		require.NoError(t, err)
		want := math.Log1p(f64(t, x.Sub(sdkmath.LegacyOneDec())))
		if x.LT(sdkmath.LegacyNewDecWithPrec(5, 1)) || x.GT(sdkmath.LegacyNewDec(2)) {
			want = math.Log(f64(t, x))
		}
		tol := math.Max(1e-15*math.Abs(want), 1e-17)
		require.InDelta(t, want, f64(t, got), tol, "ln(%s) = %s", s, got)
	}
	require.Equal(t, sdkmath.LegacyZeroDec(), must(Ln(sdkmath.LegacyOneDec())), "ln 1 is exactly 0")
	for _, bad := range []sdkmath.LegacyDec{sdkmath.LegacyZeroDec(), sdkmath.LegacyNewDec(-2), {}} {
		_, err := Ln(bad)
		require.Error(t, err)
	}
}

func must(d sdkmath.LegacyDec, err error) sdkmath.LegacyDec {
	if err != nil {
		panic(err)
	}
	return d
}

// referenceEpsilon is the accountant's formula in float64.
func referenceEpsilon(rounds int, sigma, delta float64) float64 {
	best := math.Inf(1)
	for a := MinRDPOrder; a <= MaxRDPOrder; a++ {
		e := float64(rounds)*float64(a)/(2*sigma*sigma) + math.Log(1/delta)/float64(a-1)
		best = math.Min(best, e)
	}
	return best
}

func TestGaussianEpsilonMatchesFloatReference(t *testing.T) {
	for _, sigma := range []string{"0.3", "0.5", "0.8", "1", "1.1", "2", "3.7", "10", "50", "1000"} {
		for _, delta := range []string{"0.000000000000000001", "0.0000000001", "0.00001", "0.001", "0.1", "0.5", "0.99"} {
			for _, rounds := range []uint32{1, 2, 3, 10, 50, 100, 1000} {
				s, d := sdkmath.LegacyMustNewDecFromStr(sigma), sdkmath.LegacyMustNewDecFromStr(delta)
				got, err := GaussianEpsilon(rounds, s, d)
				require.NoError(t, err)
				want := referenceEpsilon(int(rounds), f64(t, s), f64(t, d))
				require.InEpsilon(t, want, f64(t, got), 1e-9, "σ=%s δ=%s T=%d: %s", sigma, delta, rounds, got)
			}
		}
	}
	// ε grows with the rounds and shrinks with the noise.
	prev := sdkmath.LegacyZeroDec()
	for T := uint32(0); T <= 20; T++ {
		e := must(GaussianEpsilon(T, sdkmath.LegacyNewDec(2), sdkmath.LegacyNewDecWithPrec(1, 5)))
		if T == 0 {
			require.True(t, e.IsZero())
		} else {
			require.True(t, e.GT(prev))
		}
		prev = e
	}
	require.True(t, must(GaussianEpsilon(5, sdkmath.LegacyNewDec(3), sdkmath.LegacyNewDecWithPrec(1, 5))).LT(
		must(GaussianEpsilon(5, sdkmath.LegacyNewDec(2), sdkmath.LegacyNewDecWithPrec(1, 5)))))
	for _, c := range []struct{ sigma, delta sdkmath.LegacyDec }{
		{sdkmath.LegacyZeroDec(), sdkmath.LegacyNewDecWithPrec(1, 5)},
		{sdkmath.LegacyNewDec(-1), sdkmath.LegacyNewDecWithPrec(1, 5)},
		{sdkmath.LegacySmallestDec(), sdkmath.LegacyNewDecWithPrec(1, 5)}, // 2σ² rounds to 0
		{sdkmath.LegacyOneDec(), sdkmath.LegacyZeroDec()},
		{sdkmath.LegacyOneDec(), sdkmath.LegacyOneDec()},
	} {
		_, err := GaussianEpsilon(1, c.sigma, c.delta)
		require.Error(t, err)
	}
}

func TestPrivacyBudget(t *testing.T) {
	p := Privacy{Mode: PRIVACY_MODE_CLIENT_DP, Epsilon: "8", Delta: "0.00001", ClipNorm: "1", NoiseMultiplier: "1.1"}
	require.NoError(t, p.Validate())
	ok, eps, err := p.CanAfford(1)
	require.NoError(t, err)
	require.True(t, ok)
	require.InEpsilon(t, referenceEpsilon(1, 1.1, 1e-5), f64(t, eps), 1e-12)
	// The last affordable round count: ε(n) ≤ 8 < ε(n+1).
	n := uint32(0)
	for {
		ok, _, err := p.CanAfford(n + 1)
		require.NoError(t, err)
		if !ok {
			break
		}
		n++
	}
	require.Less(t, referenceEpsilon(int(n), 1.1, 1e-5), 8.0)
	require.Greater(t, referenceEpsilon(int(n+1), 1.1, 1e-5), 8.0)
	// The clip norm does not enter ε: it is the sensitivity and the noise
	// scales with it.
	q := p
	q.ClipNorm = "37.5"
	require.Equal(t, must(p.EpsilonAfterRounds(3)), must(q.EpsilonAfterRounds(3)))
	_, err = Privacy{}.EpsilonAfterRounds(1)
	require.Error(t, err)
}
