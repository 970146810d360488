package serve

import (
	"context"
	"sync"
	"time"
)

// Batcher runs concurrent requests for the same model as one batched
// forward pass and hands every request its own rows of the result.
//
// Policy: one goroutine takes the oldest request, adds every request of
// the same model already queued while the batch has at most MaxRows rows,
// and, if the batch is not full and the previous batch held more than one
// request (the server is under concurrent load), waits up to Window for
// more. A lone client therefore never waits for the window, and under load
// requests queue while a batch computes, so batches fill by themselves.
// Requests for other models are kept, in order, for the next batches; a
// request of MaxRows rows or more runs alone.
//
// The engine computes every row independently in a fixed order, so each
// request's outputs are bit for bit those of running it alone.
type Batcher struct {
	// MaxRows bounds the examples of one batch; Window is how long a
	// batch under load may wait to fill.
	MaxRows int
	Window  time.Duration
	// OnBatch, when set, is called after each batch with its requests and rows.
	OnBatch func(requests, rows int)

	in   chan *job
	quit chan struct{}
	done chan struct{}
	// mu orders sends on in before Close: once closed is set no request
	// is queued any more, so the loop's final drain misses none.
	mu     sync.RWMutex
	closed bool
}

type job struct {
	m    *Model
	x    []float32
	rows int
	out  []float32
	err  error
	done chan struct{}
}

// NewBatcher starts a batcher; Close stops it.
func NewBatcher(maxRows int, window time.Duration) *Batcher {
	b := &Batcher{MaxRows: max(maxRows, 1), Window: window, in: make(chan *job, 8192),
		quit: make(chan struct{}), done: make(chan struct{})}
	go b.loop()
	return b
}

// Close stops the batcher after the queued requests are done; later
// Predicts run unbatched.
func (b *Batcher) Close() {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return
	}
	b.closed = true
	b.mu.Unlock()
	close(b.quit)
	<-b.done
}

// Predict runs m on rows examples, batched with concurrent requests.
func (b *Batcher) Predict(ctx context.Context, m *Model, x []float32, rows int) ([]float32, error) {
	if rows >= b.MaxRows {
		out, err := m.Predict(x, rows)
		if b.OnBatch != nil && err == nil {
			b.OnBatch(1, rows)
		}
		return out, err
	}
	j := &job{m: m, x: x, rows: rows, done: make(chan struct{})}
	b.mu.RLock()
	if b.closed {
		b.mu.RUnlock()
		return m.Predict(x, rows)
	}
	select {
	case b.in <- j:
		b.mu.RUnlock()
	case <-ctx.Done():
		b.mu.RUnlock()
		return nil, ctx.Err()
	}
	// Once queued the job is always run (even after ctx ends), so its
	// slot in a batch is never left half-done.
	<-j.done
	return j.out, j.err
}

func (b *Batcher) loop() {
	defer close(b.done)
	var carry []*job
	lastMulti := false
	for {
		var first *job
		if len(carry) > 0 {
			first, carry = carry[0], carry[1:]
		} else {
			select {
			case first = <-b.in:
			case <-b.quit:
				b.drain(carry)
				return
			}
		}
		batch, rows := []*job{first}, first.rows
		// Same-model requests set aside earlier come first, in order.
		rest := carry[:0:0]
		for _, j := range carry {
			if j.m == first.m && rows+j.rows <= b.MaxRows {
				batch, rows = append(batch, j), rows+j.rows
			} else {
				rest = append(rest, j)
			}
		}
		carry = rest
		add := func(j *job) {
			if j.m == first.m && rows+j.rows <= b.MaxRows {
				batch, rows = append(batch, j), rows+j.rows
			} else {
				carry = append(carry, j)
			}
		}
	queued:
		for rows < b.MaxRows {
			select {
			case j := <-b.in:
				add(j)
			default:
				break queued
			}
		}
		if rows < b.MaxRows && b.Window > 0 && lastMulti {
			t := time.NewTimer(b.Window)
		wait:
			for rows < b.MaxRows && len(carry) < cap(b.in) {
				select {
				case j := <-b.in:
					add(j)
				case <-t.C:
					break wait
				}
			}
			t.Stop()
		}
		lastMulti = len(batch) > 1
		b.run(batch, rows)
	}
}

// drain runs what is still set aside or queued at Close.
func (b *Batcher) drain(carry []*job) {
	for _, j := range carry {
		b.run([]*job{j}, j.rows)
	}
	for {
		select {
		case j := <-b.in:
			b.run([]*job{j}, j.rows)
		default:
			return
		}
	}
}

func (b *Batcher) run(batch []*job, rows int) {
	m := batch[0].m
	var x []float32
	if len(batch) == 1 {
		x = batch[0].x
	} else {
		x = make([]float32, 0, rows*m.Width)
		for _, j := range batch {
			x = append(x, j.x...)
		}
	}
	out, err := m.Predict(x, rows)
	off := 0
	for _, j := range batch {
		if err != nil {
			j.err = err
		} else {
			j.out = out[off*m.Classes : (off+j.rows)*m.Classes : (off+j.rows)*m.Classes]
		}
		off += j.rows
		close(j.done)
	}
	if b.OnBatch != nil {
		b.OnBatch(len(batch), rows)
	}
}
