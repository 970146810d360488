package serve

import (
	"path/filepath"
	"testing"
)

// Receipts of a settled claim are dropped, the log compacted, and a
// client's last receipt kept for its seq numbering.
func TestPruneSettledReceipts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "receipts.jsonl")
	rs, err := OpenReceipts(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		job := uint64(1)
		if i%2 == 1 {
			job = 2
		}
		if err := rs.Add(Receipt{Client: "c", Seq: rs.NextSeq("c"), Units: 2, JobID: job}); err != nil {
			t.Fatal(err)
		}
	}
	// Job 1 has receipts of 2 units at seq 1, 3, 5, 7, 9; 6 units settled.
	pruned, n, err := rs.PruneJob(1, 0, 6)
	if err != nil || n != 3 || pruned != 6 {
		t.Fatalf("pruned %d receipts, %d units, %v", n, pruned, err)
	}
	// Nothing more until more is settled; then all but the client's last.
	if _, n, _ := rs.PruneJob(1, pruned, 7); n != 0 {
		t.Fatalf("pruned %d beyond the settled units", n)
	}
	if _, n, _ := rs.PruneJob(2, 0, 100); n != 4 {
		t.Fatalf("job 2: pruned %d, want 4 (the last receipt stays)", n)
	}
	if err := rs.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := OpenReceipts(path)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if again.Count() != 3 {
		t.Fatalf("%d receipts after reopening the compacted log, want 3", again.Count())
	}
	if s := again.NextSeq("c"); s != 11 {
		t.Fatalf("next seq %d after pruning, want 11", s)
	}
}
