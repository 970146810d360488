package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// TestLoadtestRuns runs the load test for a moment: every phase answers
// and nothing fails (no figures are checked: they depend on the machine).
func TestLoadtestRuns(t *testing.T) {
	var out bytes.Buffer
	err := runLoadtest(&out, loadOpts{duration: 100 * time.Millisecond, clients: 4, providers: 2, hidden: 16, maxBatch: 8,
		window: 50 * time.Microsecond, dataDir: t.TempDir()})
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for _, want := range []string{"direct-1", "gateway-1", "direct-4", "gateway-4", "overhead"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("output lacks %q:\n%s", want, out.String())
		}
	}
}
