package engine

import "github.com/cohortchain/cohort/sidecar/tensor"

// Accuracy is the share of examples whose largest logit is the label,
// evaluated in batches of 1,000.
func Accuracy(spec Spec, w tensor.Set, d Dataset) (float64, error) {
	correct := 0
	for lo := 0; lo < len(d.Labels); lo += 1000 {
		hi := min(lo+1000, len(d.Labels))
		logits, err := Forward(spec, w, d.Inputs[lo*d.Width:hi*d.Width], hi-lo)
		if err != nil {
			return 0, err
		}
		classes := len(logits) / (hi - lo)
		for n := 0; n < hi-lo; n++ {
			row, best := logits[n*classes:(n+1)*classes], 0
			for c := range row {
				if row[c] > row[best] {
					best = c
				}
			}
			if best == d.Labels[lo+n] {
				correct++
			}
		}
	}
	return float64(correct) / float64(len(d.Labels)), nil
}
