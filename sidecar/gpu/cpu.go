package gpu

import (
	"fmt"

	"github.com/cohortchain/cohort/sidecar/aggregate"
	"github.com/cohortchain/cohort/sidecar/engine"
	"github.com/cohortchain/cohort/sidecar/tensor"
)

// CPU returns the backend that runs on the CPU: package aggregate's rules,
// the engine's Gradients, Exp and Log, and for the single layer
// operations (which the engine does not export) the kernel emulations of
// emulate.go, which the tests check against the engine bit for bit. It
// is what Open returns in a build without the cuda tag, and the reference
// the cuda tests compare the GPU with.
func CPU() Backend { return cpuBackend{} }

type cpuBackend struct{}

func (cpuBackend) Name() string { return "cpu" }
func (cpuBackend) Close() error { return nil }

func (cpuBackend) FedAvg(dst []float32, updates []aggregate.Update) ([]float32, error) {
	return aggregate.FedAvg{}.Aggregate(dst, updates)
}

func (cpuBackend) Median(dst []float32, updates []aggregate.Update) ([]float32, error) {
	return aggregate.Median{}.Aggregate(dst, updates)
}

func (cpuBackend) TrimmedMean(dst []float32, updates []aggregate.Update, beta float64) ([]float32, error) {
	return aggregate.TrimmedMean{Beta: beta}.Aggregate(dst, updates)
}

func (cpuBackend) Krum(dst []float32, updates []aggregate.Update, f, multi int) ([]float32, error) {
	return aggregate.Krum{F: f, Multi: multi}.Aggregate(dst, updates)
}

func (cpuBackend) Bulyan(dst []float32, updates []aggregate.Update, f int) ([]float32, error) {
	return aggregate.Bulyan{F: f}.Aggregate(dst, updates)
}

func (cpuBackend) GeometricMedian(dst []float32, updates []aggregate.Update, iterations int) ([]float32, error) {
	return aggregate.GeometricMedian{Iterations: iterations}.Aggregate(dst, updates)
}

func (cpuBackend) CenteredClipping(dst []float32, updates []aggregate.Update, tau float64, iterations int) ([]float32, error) {
	return aggregate.CenteredClipping{Tau: tau, Iterations: iterations}.Aggregate(dst, updates)
}

func (cpuBackend) Aggregate(rule aggregate.Rule, dst []float32, updates []aggregate.Update) ([]float32, error) {
	return rule.Aggregate(dst, updates)
}

func (cpuBackend) PairwiseSqDist(updates []aggregate.Update) ([]float64, error) {
	if _, err := aggregate.Check(updates); err != nil {
		return nil, err
	}
	e := newEmuVec(updates)
	d, _ := e.dists(allPairs(len(updates)))
	return distMatrix(len(updates), d), nil
}

// DenseForward is the engine's dense layer: engine.Forward on a one-layer
// model.
func (cpuBackend) DenseForward(x []float32, batch, in, out int, w, b []float32) ([]float32, error) {
	if err := checkDense(x, nil, batch, in, out, w, b); err != nil {
		return nil, err
	}
	s := engine.Spec{Layers: []engine.LayerSpec{{Kind: engine.KindDense, Inputs: in, Outputs: out}}}
	ws := tensor.Set{engine.WeightName(0): {Shape: []int{in, out}, Data: w}, engine.BiasName(0): {Shape: []int{out}, Data: b}}
	return engine.Forward(s, ws, x, batch)
}

func (cpuBackend) DenseBackward(x, dy []float32, batch, in, out int, w []float32, needDX bool) (dw, db, dx []float32, err error) {
	if err := checkDense(x, dy, batch, in, out, w, nil); err != nil {
		return nil, nil, nil, err
	}
	return emuOps{}.denseBack(x, dy, batch, in, out, w, needDX)
}

// Conv2DForward is the engine's conv2d layer: engine.Forward on a model of
// the layer and a flatten.
func (cpuBackend) Conv2DForward(x []float32, batch int, g ConvGeom, w, b []float32) ([]float32, error) {
	if err := checkConv(x, nil, batch, g, w, b); err != nil {
		return nil, err
	}
	s := engine.Spec{Input: []int{g.C, g.H, g.W}, Layers: []engine.LayerSpec{
		{Kind: engine.KindConv2D, Filters: g.F, Kernel: g.K, Stride: g.Stride, Padding: g.Pad}, {Kind: engine.KindFlatten}}}
	ws := tensor.Set{engine.WeightName(0): {Shape: []int{g.F, g.C, g.K, g.K}, Data: w}, engine.BiasName(0): {Shape: []int{g.F}, Data: b}}
	return engine.Forward(s, ws, x, batch)
}

func (cpuBackend) Conv2DBackward(x, dy []float32, batch int, g ConvGeom, w []float32, needDX bool) (dw, db, dx []float32, err error) {
	if err := checkConv(x, dy, batch, g, w, nil); err != nil {
		return nil, nil, nil, err
	}
	return emuOps{colBudget: defaultColBudget}.convBack(x, dy, batch, g, w, needDX)
}

func (cpuBackend) MaxPool2DForward(x []float32, batch int, g PoolGeom) ([]float32, []int32, error) {
	if err := checkPool(x, nil, nil, batch, g); err != nil {
		return nil, nil, err
	}
	return emuOps{}.pool(x, batch, g)
}

func (cpuBackend) MaxPool2DBackward(dy []float32, argmax []int32, batch int, g PoolGeom) ([]float32, error) {
	if err := checkPool(nil, dy, argmax, batch, g); err != nil {
		return nil, err
	}
	return emuOps{}.poolBack(dy, argmax, batch, g)
}

func (cpuBackend) ReLUForward(x []float32) ([]float32, error) { return emuOps{}.relu(x) }

func (cpuBackend) ReLUBackward(x, dy []float32) ([]float32, error) {
	if err := need("dy", dy, len(x)); err != nil {
		return nil, err
	}
	return emuOps{}.reluBack(x, dy)
}

func (cpuBackend) SoftmaxCrossEntropy(logits []float32, labels []int, classes int) (float32, []float32, error) {
	if err := checkSoftmax(logits, labels, classes); err != nil {
		return 0, nil, err
	}
	return engine.SoftmaxCrossEntropy(logits, labels, classes)
}

func (cpuBackend) Exp(x []float32) ([]float32, error) {
	y := make([]float32, len(x))
	for i, v := range x {
		y[i] = engine.Exp(v)
	}
	return y, nil
}

func (cpuBackend) Log(x []float32) ([]float32, error) {
	y := make([]float32, len(x))
	for i, v := range x {
		y[i] = engine.Log(v)
	}
	return y, nil
}

func (cpuBackend) Gradients(s engine.Spec, w tensor.Set, x []float32, labels []int, drop *Dropout) (float32, tensor.Set, error) {
	if drop == nil {
		return engine.Gradients(s, w, x, labels)
	}
	return engine.GradientsWithDropout(s, w, x, labels, drop.Seed, drop.Step)
}

// Operand checks shared by the backends (nil slices are not checked).

func checkDense(x, dy []float32, batch, in, out int, w, b []float32) error {
	if err := positive(batch, in, out); err != nil {
		return err
	}
	if x != nil {
		if err := need("x", x, batch*in); err != nil {
			return err
		}
	}
	if dy != nil {
		if err := need("dy", dy, batch*out); err != nil {
			return err
		}
	}
	if err := need("w", w, in*out); err != nil {
		return err
	}
	if b != nil {
		return need("b", b, out)
	}
	return nil
}

func checkConv(x, dy []float32, batch int, g ConvGeom, w, b []float32) error {
	if err := g.check(); err != nil {
		return err
	}
	if err := positive(batch); err != nil {
		return err
	}
	if x != nil {
		if err := need("x", x, batch*g.C*g.H*g.W); err != nil {
			return err
		}
	}
	if dy != nil {
		if err := need("dy", dy, batch*g.F*g.OH()*g.OW()); err != nil {
			return err
		}
	}
	if err := need("w", w, g.F*g.C*g.K*g.K); err != nil {
		return err
	}
	if b != nil {
		return need("b", b, g.F)
	}
	return nil
}

func checkPool(x, dy []float32, arg []int32, batch int, g PoolGeom) error {
	if err := g.check(); err != nil {
		return err
	}
	if err := positive(batch); err != nil {
		return err
	}
	if x != nil {
		if err := need("x", x, batch*g.C*g.H*g.W); err != nil {
			return err
		}
	}
	outs := batch * g.C * g.OH() * g.OW()
	if dy != nil {
		if err := need("dy", dy, outs); err != nil {
			return err
		}
	}
	if arg != nil || dy != nil {
		if len(arg) != outs {
			return fmt.Errorf("%w: argmax has %d values, want %d", ErrShape, len(arg), outs)
		}
		plane := g.H * g.W
		for _, a := range arg {
			if a < 0 || int(a) >= plane {
				return fmt.Errorf("%w: argmax %d outside a plane of %d", ErrShape, a, plane)
			}
		}
	}
	return nil
}

func checkSoftmax(logits []float32, labels []int, classes int) error {
	if err := positive(len(labels), classes); err != nil {
		return err
	}
	if err := need("logits", logits, len(labels)*classes); err != nil {
		return err
	}
	for _, y := range labels {
		if y < 0 || y >= classes {
			return fmt.Errorf("%w: label %d outside [0, %d)", ErrShape, y, classes)
		}
	}
	return nil
}

// emuOps is layerOps on the CPU with the kernel emulations, launch for
// launch what the CUDA backend does (same gemmArgs, same conv chunks).
type emuOps struct{ colBudget int }

func (emuOps) upload(v []float32) ([]float32, error)   { return v, nil }
func (emuOps) download(t []float32) ([]float32, error) { return t, nil }

func (emuOps) dense(x []float32, batch, in, out int, w, b []float32) ([]float32, error) {
	y := make([]float32, batch*out)
	denseForwardArgs(batch, in, out).emulate(y, x, w, b)
	return y, nil
}

func (emuOps) denseBack(x, dy []float32, batch, in, out int, w []float32, needDX bool) (dw, db, dx []float32, err error) {
	dw, db = make([]float32, in*out), make([]float32, out)
	denseWeightGradArgs(batch, in, out).emulate(dw, x, dy, nil)
	biasGradEmulate(db, dy, batch, out, 1)
	if needDX {
		dx = make([]float32, batch*in)
		denseInputGradArgs(batch, in, out).emulate(dx, dy, w, nil)
	}
	return dw, db, dx, nil
}

func (e emuOps) budget() int {
	if e.colBudget > 0 {
		return e.colBudget
	}
	return defaultColBudget
}

func (e emuOps) conv(x []float32, batch int, g ConvGeom, w, b []float32) ([]float32, error) {
	K, P := g.C*g.K*g.K, g.OH()*g.OW()
	in, out := g.C*g.H*g.W, g.F*P
	y := make([]float32, batch*out)
	nb := convChunk(g, batch, e.budget())
	col := make([]float32, nb*K*P)
	for n0 := 0; n0 < batch; n0 += nb {
		m := min(nb, batch-n0)
		im2colEmulate(col, x[n0*in:], m, g)
		convForwardArgs(g, m).emulate(y[n0*out:], w, col, b)
	}
	return y, nil
}

func (e emuOps) convBack(x, dy []float32, batch int, g ConvGeom, w []float32, needDX bool) (dw, db, dx []float32, err error) {
	K, P := g.C*g.K*g.K, g.OH()*g.OW()
	in, out := g.C*g.H*g.W, g.F*P
	dw, db = make([]float32, g.F*K), make([]float32, g.F)
	nb := convChunk(g, batch, e.budget())
	col := make([]float32, nb*K*P)
	for n0 := 0; n0 < batch; n0 += nb {
		m := min(nb, batch-n0)
		im2colEmulate(col, x[n0*in:], m, g)
		convWeightGradArgs(g, m, n0 == 0).emulate(dw, dy[n0*out:], col, nil)
	}
	biasGradEmulate(db, dy, batch, g.F, P)
	if needDX {
		dx = make([]float32, batch*in)
		for n0 := 0; n0 < batch; n0 += nb {
			m := min(nb, batch-n0)
			convColGradArgs(g, m).emulate(col, w, dy[n0*out:], nil)
			col2imEmulate(dx[n0*in:], col, m, g)
		}
	}
	return dw, db, dx, nil
}

func (emuOps) pool(x []float32, batch int, g PoolGeom) ([]float32, []int32, error) {
	n := batch * g.C * g.OH() * g.OW()
	y, arg := make([]float32, n), make([]int32, n)
	maxPoolForwardEmulate(y, arg, x, batch*g.C, g)
	return y, arg, nil
}

func (emuOps) poolBack(dy []float32, arg []int32, batch int, g PoolGeom) ([]float32, error) {
	dx := make([]float32, batch*g.C*g.H*g.W)
	maxPoolBackwardEmulate(dx, dy, arg, batch*g.C, g)
	return dx, nil
}

func (emuOps) relu(x []float32) ([]float32, error) {
	y := make([]float32, len(x))
	reluForwardEmulate(y, x)
	return y, nil
}

func (emuOps) reluBack(x, dy []float32) ([]float32, error) {
	dx := make([]float32, len(x))
	reluBackwardEmulate(dx, x, dy)
	return dx, nil
}

func (emuOps) mul(x, m []float32) ([]float32, error) {
	y := make([]float32, len(x))
	mulEmulate(y, x, m)
	return y, nil
}

func (emuOps) softmaxXent(logits []float32, labels []int, classes int) (float32, []float32, error) {
	grad, losses := make([]float32, len(logits)), make([]float32, len(labels))
	softmaxXentEmulate(grad, losses, logits, labels, classes)
	return sumLosses(losses), grad, nil
}
