package aggregate

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"
)

// TestGoldenBits pins every rule's output on fixed updates (ALIE attack,
// so that the robust rules have work to do) to one hash, which every
// platform must reproduce: the AVX2 kernels and the plain Go loops, amd64
// and arm64, with or without FMA instructions available (the float64
// sums round each product explicitly so that Go cannot fuse them). A
// deliberate change of a rule's arithmetic updates the value (the failure
// prints it).
func TestGoldenBits(t *testing.T) {
	ups, _ := honestAndAttacked(4099, "alie")
	h := sha256.New()
	for _, r := range rules() {
		out, err := r.Aggregate(nil, ups)
		if err != nil {
			t.Fatalf("%s: %v", r.Name(), err)
		}
		v := hashVec(out)
		t.Logf("%s %x", r.Name(), v[:6])
		h.Write(v[:])
	}
	const want = "9482b0ec1dd943a167ef56f9029d1fe46fc4ff0b9da9cb34ba24185aa9f65d4f"
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		t.Errorf("the rules' bits changed on this platform: got %s, want %s", got, want)
	}
}
