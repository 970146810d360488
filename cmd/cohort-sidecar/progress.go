package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"
)

// progressBar draws one line of training progress on a terminal: a bar,
// steps done, the last loss and images/s, redrawn in place (carriage
// return) at most every 200 ms and at the last step. It draws nothing
// when w is not a terminal, so logs stay clean.
type progressBar struct {
	w            io.Writer
	label        string
	total, batch int
	start, drawn time.Time
}

func newProgressBar(w io.Writer, label string, total, batch int) *progressBar {
	if f, ok := w.(*os.File); !ok || !term.IsTerminal(int(f.Fd())) {
		w = nil
	}
	now := time.Now()
	return &progressBar{w: w, label: label, total: total, batch: batch, start: now, drawn: now}
}

// step is an engine.TrainConfig.Progress callback.
func (p *progressBar) step(done int, loss float32) {
	now := time.Now()
	if p.w == nil || done < p.total && now.Sub(p.drawn) < 200*time.Millisecond {
		return
	}
	p.drawn = now
	const width = 30
	fill := width * done / max(p.total, 1)
	rate := float64(done*p.batch) / max(now.Sub(p.start).Seconds(), 1e-9)
	fmt.Fprintf(p.w, "\r%s [%s%s] %d/%d  loss %.4f  %.0f images/s ", p.label,
		strings.Repeat("=", fill), strings.Repeat(" ", width-fill), done, p.total, loss, rate)
}

// finish ends the bar's line.
func (p *progressBar) finish() {
	if p.w != nil {
		fmt.Fprint(p.w, "\r\033[K")
	}
}
