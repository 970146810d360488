//go:build cuda || cudaemu

package gpu

import (
	"github.com/cohortchain/cohort/sidecar/engine"
	"github.com/cohortchain/cohort/sidecar/tensor"
)

// devOps is layerOps on the device: tensors stay in device memory from
// one layer to the next; only the batch, the weights and the gradients
// cross the bus.
type devOps struct{ a *arena }

func (o devOps) b() *devBackend { return o.a.b }

func (o devOps) upload(v []float32) (dvec, error) {
	p, err := upload(o.a, v)
	return dvec{p, len(v)}, err
}

func (o devOps) download(t dvec) ([]float32, error) { return download[float32](o.b(), t.p, t.n) }

func (o devOps) dense(x dvec, batch, in, out int, w, b dvec) (dvec, error) {
	y, err := o.a.f32(batch * out)
	if err != nil {
		return dvec{}, err
	}
	return y, o.b().gemm(denseForwardArgs(batch, in, out), y.p, x.p, w.p, b.p)
}

func (o devOps) denseBack(x, dy dvec, batch, in, out int, w dvec, needDX bool) (dw, db, dx dvec, err error) {
	if dw, err = o.a.f32(in * out); err != nil {
		return
	}
	if db, err = o.a.f32(out); err != nil {
		return
	}
	if err = o.b().gemm(denseWeightGradArgs(batch, in, out), dw.p, x.p, dy.p, 0); err != nil {
		return
	}
	if err = o.b().launch("cohort_bias_grad", out, db, dy, batch, out, 1); err != nil {
		return
	}
	if needDX {
		if dx, err = o.a.f32(batch * in); err != nil {
			return
		}
		err = o.b().gemm(denseInputGradArgs(batch, in, out), dx.p, dy.p, w.p, 0)
	}
	return
}

func (o devOps) convGeomArgs(g ConvGeom, nb int) []any {
	return []any{nb, g.C, g.H, g.W, g.K, g.Stride, g.Pad, g.OH(), g.OW()}
}

func (o devOps) conv(x dvec, batch int, g ConvGeom, w, b dvec) (dvec, error) {
	K, P := g.C*g.K*g.K, g.OH()*g.OW()
	in, out := g.C*g.H*g.W, g.F*P
	y, err := o.a.f32(batch * out)
	if err != nil {
		return dvec{}, err
	}
	nb := convChunk(g, batch, o.b().colBudget)
	col, err := o.a.f32(nb * K * P)
	if err != nil {
		return dvec{}, err
	}
	for n0 := 0; n0 < batch; n0 += nb {
		m := min(nb, batch-n0)
		if err := o.b().launch("cohort_im2col", m*K*P, append([]any{col, x.at(n0 * in)}, o.convGeomArgs(g, m)...)...); err != nil {
			return dvec{}, err
		}
		if err := o.b().gemm(convForwardArgs(g, m), y.at(n0*out), w.p, col.p, b.p); err != nil {
			return dvec{}, err
		}
	}
	return y, nil
}

func (o devOps) convBack(x, dy dvec, batch int, g ConvGeom, w dvec, needDX bool) (dw, db, dx dvec, err error) {
	K, P := g.C*g.K*g.K, g.OH()*g.OW()
	in, out := g.C*g.H*g.W, g.F*P
	if dw, err = o.a.f32(g.F * K); err != nil {
		return
	}
	if db, err = o.a.f32(g.F); err != nil {
		return
	}
	nb := convChunk(g, batch, o.b().colBudget)
	var col dvec
	if col, err = o.a.f32(nb * K * P); err != nil {
		return
	}
	for n0 := 0; n0 < batch; n0 += nb {
		m := min(nb, batch-n0)
		if err = o.b().launch("cohort_im2col", m*K*P, append([]any{col, x.at(n0 * in)}, o.convGeomArgs(g, m)...)...); err != nil {
			return
		}
		if err = o.b().gemm(convWeightGradArgs(g, m, n0 == 0), dw.p, dy.at(n0*out), col.p, 0); err != nil {
			return
		}
	}
	if err = o.b().launch("cohort_bias_grad", g.F, db, dy, batch, g.F, P); err != nil {
		return
	}
	if !needDX {
		return
	}
	if dx, err = o.a.f32(batch * in); err != nil {
		return
	}
	for n0 := 0; n0 < batch; n0 += nb {
		m := min(nb, batch-n0)
		if err = o.b().gemm(convColGradArgs(g, m), col.p, w.p, dy.at(n0*out), 0); err != nil {
			return
		}
		if err = o.b().launch("cohort_col2im", m*in, append([]any{dx.at(n0 * in), col}, o.convGeomArgs(g, m)...)...); err != nil {
			return
		}
	}
	return
}

func (o devOps) pool(x dvec, batch int, g PoolGeom) (dvec, dvec, error) {
	n := batch * g.C * g.OH() * g.OW()
	y, err := o.a.f32(n)
	if err != nil {
		return dvec{}, dvec{}, err
	}
	arg, err := o.a.f32(n) // int32s
	if err != nil {
		return dvec{}, dvec{}, err
	}
	return y, arg, o.b().launch("cohort_maxpool_fwd", n, y, arg, x, batch*g.C, g.H, g.W, g.Size, g.Stride, g.OH(), g.OW())
}

func (o devOps) poolBack(dy, arg dvec, batch int, g PoolGeom) (dvec, error) {
	n := batch * g.C * g.H * g.W
	dx, err := o.a.f32(n)
	if err != nil {
		return dvec{}, err
	}
	return dx, o.b().launch("cohort_maxpool_bwd", n, dx, dy, arg, batch*g.C, g.H, g.W, g.Size, g.Stride, g.OH(), g.OW())
}

func (o devOps) relu(x dvec) (dvec, error) {
	y, err := o.a.f32(x.n)
	if err != nil {
		return dvec{}, err
	}
	return y, o.b().launch("cohort_relu_fwd", x.n, y, x, x.n)
}

func (o devOps) reluBack(x, dy dvec) (dvec, error) {
	dx, err := o.a.f32(x.n)
	if err != nil {
		return dvec{}, err
	}
	return dx, o.b().launch("cohort_relu_bwd", x.n, dx, x, dy, x.n)
}

func (o devOps) mul(x, m dvec) (dvec, error) {
	y, err := o.a.f32(x.n)
	if err != nil {
		return dvec{}, err
	}
	return y, o.b().launch("cohort_mul", x.n, y, x, m, x.n)
}

func (o devOps) softmaxXent(logits dvec, labels []int, classes int) (float32, dvec, error) {
	batch := len(labels)
	lab, err := upload(o.a, int64s(labels))
	if err != nil {
		return 0, dvec{}, err
	}
	grad, err := o.a.f32(batch * classes)
	if err != nil {
		return 0, dvec{}, err
	}
	losses, err := o.a.f32(batch)
	if err != nil {
		return 0, dvec{}, err
	}
	if err := o.b().launch("cohort_softmax_xent", batch, grad, losses, logits, lab, batch, classes); err != nil {
		return 0, dvec{}, err
	}
	l, err := o.download(losses)
	if err != nil {
		return 0, dvec{}, err
	}
	return sumLosses(l), grad, nil
}

// ---------------------------------------------------------------- the API

func (b *devBackend) DenseForward(x []float32, batch, in, out int, w, bias []float32) (y []float32, err error) {
	if err := checkDense(x, nil, batch, in, out, w, bias); err != nil {
		return nil, err
	}
	err = b.run(func(a *arena) error {
		o := devOps{a}
		dx, err := o.upload(x)
		if err != nil {
			return err
		}
		dw, err := o.upload(w)
		if err != nil {
			return err
		}
		db, err := o.upload(bias)
		if err != nil {
			return err
		}
		dy, err := o.dense(dx, batch, in, out, dw, db)
		if err != nil {
			return err
		}
		y, err = o.download(dy)
		return err
	})
	return y, err
}

func (b *devBackend) DenseBackward(x, dy []float32, batch, in, out int, w []float32, needDX bool) (dw, db, dx []float32, err error) {
	if err := checkDense(x, dy, batch, in, out, w, nil); err != nil {
		return nil, nil, nil, err
	}
	err = b.run(func(a *arena) error {
		o := devOps{a}
		vs, err := uploadAll(o, x, dy, w)
		if err != nil {
			return err
		}
		gw, gb, gx, err := o.denseBack(vs[0], vs[1], batch, in, out, vs[2], needDX)
		if err != nil {
			return err
		}
		dw, db, dx, err = downloadGrads(o, gw, gb, gx, needDX)
		return err
	})
	return dw, db, dx, err
}

func (b *devBackend) Conv2DForward(x []float32, batch int, g ConvGeom, w, bias []float32) (y []float32, err error) {
	if err := checkConv(x, nil, batch, g, w, bias); err != nil {
		return nil, err
	}
	err = b.run(func(a *arena) error {
		o := devOps{a}
		vs, err := uploadAll(o, x, w, bias)
		if err != nil {
			return err
		}
		dy, err := o.conv(vs[0], batch, g, vs[1], vs[2])
		if err != nil {
			return err
		}
		y, err = o.download(dy)
		return err
	})
	return y, err
}

func (b *devBackend) Conv2DBackward(x, dy []float32, batch int, g ConvGeom, w []float32, needDX bool) (dw, db, dx []float32, err error) {
	if err := checkConv(x, dy, batch, g, w, nil); err != nil {
		return nil, nil, nil, err
	}
	err = b.run(func(a *arena) error {
		o := devOps{a}
		vs, err := uploadAll(o, x, dy, w)
		if err != nil {
			return err
		}
		gw, gb, gx, err := o.convBack(vs[0], vs[1], batch, g, vs[2], needDX)
		if err != nil {
			return err
		}
		dw, db, dx, err = downloadGrads(o, gw, gb, gx, needDX)
		return err
	})
	return dw, db, dx, err
}

func (b *devBackend) MaxPool2DForward(x []float32, batch int, g PoolGeom) (y []float32, arg []int32, err error) {
	if err := checkPool(x, nil, nil, batch, g); err != nil {
		return nil, nil, err
	}
	err = b.run(func(a *arena) error {
		o := devOps{a}
		dx, err := o.upload(x)
		if err != nil {
			return err
		}
		dy, darg, err := o.pool(dx, batch, g)
		if err != nil {
			return err
		}
		if y, err = o.download(dy); err != nil {
			return err
		}
		arg, err = download[int32](b, darg.p, darg.n)
		return err
	})
	return y, arg, err
}

func (b *devBackend) MaxPool2DBackward(dy []float32, arg []int32, batch int, g PoolGeom) (dx []float32, err error) {
	if err := checkPool(nil, dy, arg, batch, g); err != nil {
		return nil, err
	}
	err = b.run(func(a *arena) error {
		o := devOps{a}
		ddy, err := o.upload(dy)
		if err != nil {
			return err
		}
		parg, err := upload(a, arg)
		if err != nil {
			return err
		}
		ddx, err := o.poolBack(ddy, dvec{parg, len(arg)}, batch, g)
		if err != nil {
			return err
		}
		dx, err = o.download(ddx)
		return err
	})
	return dx, err
}

// unary runs an element-wise kernel on x.
func (b *devBackend) unary(name string, x []float32) (y []float32, err error) {
	if len(x) == 0 {
		return []float32{}, nil
	}
	err = b.run(func(a *arena) error {
		o := devOps{a}
		dx, err := o.upload(x)
		if err != nil {
			return err
		}
		dy, err := a.f32(len(x))
		if err != nil {
			return err
		}
		if err := b.launch(name, len(x), dy, dx, len(x)); err != nil {
			return err
		}
		y, err = o.download(dy)
		return err
	})
	return y, err
}

func (b *devBackend) ReLUForward(x []float32) ([]float32, error) {
	return b.unary("cohort_relu_fwd", x)
}
func (b *devBackend) Exp(x []float32) ([]float32, error) { return b.unary("cohort_exp", x) }
func (b *devBackend) Log(x []float32) ([]float32, error) { return b.unary("cohort_log", x) }

func (b *devBackend) ReLUBackward(x, dy []float32) (dx []float32, err error) {
	if err := need("dy", dy, len(x)); err != nil {
		return nil, err
	}
	if len(x) == 0 {
		return []float32{}, nil
	}
	err = b.run(func(a *arena) error {
		o := devOps{a}
		vs, err := uploadAll(o, x, dy)
		if err != nil {
			return err
		}
		r, err := o.reluBack(vs[0], vs[1])
		if err != nil {
			return err
		}
		dx, err = o.download(r)
		return err
	})
	return dx, err
}

func (b *devBackend) SoftmaxCrossEntropy(logits []float32, labels []int, classes int) (loss float32, grad []float32, err error) {
	if err := checkSoftmax(logits, labels, classes); err != nil {
		return 0, nil, err
	}
	err = b.run(func(a *arena) error {
		o := devOps{a}
		dl, err := o.upload(logits)
		if err != nil {
			return err
		}
		l, g, err := o.softmaxXent(dl, labels, classes)
		if err != nil {
			return err
		}
		loss = l
		grad, err = o.download(g)
		return err
	})
	return loss, grad, err
}

func (b *devBackend) Gradients(s engine.Spec, w tensor.Set, x []float32, labels []int, drop *Dropout) (loss float32, grads tensor.Set, err error) {
	err = b.run(func(a *arena) error {
		var err error
		loss, grads, err = modelGradients[dvec, dvec](devOps{a}, s, w, x, labels, drop)
		return err
	})
	return loss, grads, err
}

func uploadAll(o devOps, vs ...[]float32) ([]dvec, error) {
	out := make([]dvec, len(vs))
	for i, v := range vs {
		d, err := o.upload(v)
		if err != nil {
			return nil, err
		}
		out[i] = d
	}
	return out, nil
}

func downloadGrads(o devOps, gw, gb, gx dvec, needDX bool) (dw, db, dx []float32, err error) {
	if dw, err = o.download(gw); err != nil {
		return
	}
	if db, err = o.download(gb); err != nil {
		return
	}
	if needDX {
		dx, err = o.download(gx)
	}
	return
}
