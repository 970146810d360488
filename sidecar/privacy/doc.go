// Package privacy is the sidecar's differential privacy: DP-SGD for
// centralized training, client-level DP for federated averaging, and the
// Rényi DP accountant that turns either into an (ε, δ) guarantee.
//
// # DP-SGD
//
// Trainer runs DP-SGD (Abadi et al., "Deep Learning with Differential
// Privacy", 2016) on the deterministic engine. One step:
//
//  1. Poisson sampling: every training example joins the batch
//     independently with probability q, drawn from a seeded engine.RNG
//     stream of (seed, step).
//  2. Per-example gradients: engine.Gradients on one example at a time,
//     computed in parallel.
//  3. Clipping: each example's gradient is scaled to L2 norm at most C (the
//     norm over every tensor in canonical name order, in float64).
//  4. The clipped gradients are summed in example order, Gaussian noise
//     N(0, (σC)²) is added to every coordinate (seeded by (seed, step)),
//     and the result is divided by the expected batch size q·N.
//  5. The optimizer takes a step with that gradient.
//
// Every sum is taken in a fixed order, so a run is bit-identical on every
// machine and at every GOMAXPROCS: the same seed gives the same weights
// hash.
//
// # Client-level DP for federated averaging
//
// ClipUpdate and ClipVector bound one client's update (McMahan et al.,
// "Learning Differentially Private Recurrent Language Models", 2018);
// ClientDP.Aggregate clips every update again on the server, sums them,
// adds N(0, (σC)²) per coordinate to the sum and divides by the number of
// clients per round m, i.e. the mean gets noise of standard deviation
// σC/m. With m clients sampled per round out of N, one round is one step
// of the sampled Gaussian mechanism with q = m/N.
//
// # Accounting
//
// Accountant tracks Rényi DP at integer orders for the sampled Gaussian
// mechanism (Mironov, Talwar and Zhang, "Rényi Differential Privacy of the
// Sampled Gaussian Mechanism", 2019), computed in log space, composes it
// over steps and converts it to (ε, δ) with the conversion of Balle et
// al. (2020) that TensorFlow Privacy uses:
//
//	ε = min over α of  RDP(α) + log((α−1)/α) − (log δ + log α)/(α−1)
//
// Budget stops a run before it would spend more than a given ε at δ, and
// NoiseMultiplier finds the σ that reaches a target ε.
//
// # What the guarantee covers
//
// The (ε, δ) values are those of the mechanisms above in exact real
// arithmetic: add/remove-one adjacency of training examples (DP-SGD) or of
// clients (federated). The implementation clips with a small margin so
// that the float32 norm of a clipped vector never exceeds C, but the
// Gaussian noise is drawn in floating point (the engine's Box–Muller
// normals, rounded to float32), not as a certified discrete Gaussian, and Poisson sampling
// compares 24-bit uniforms with q, so account with the rate it really has
// (Trainer.SampleRate, EffectiveSampleRate: at least q, by less than
// 6·10⁻⁸). The losses, clipping counts and accuracies a run reports are
// not private.
package privacy
