// Package secagg is pairwise-masking secure aggregation after Bonawitz et
// al., "Practical Secure Aggregation for Privacy-Preserving Machine
// Learning" (CCS 2017): clients (providers) mask their model updates so
// that the server (the validators' sidecars) learns the sum of the
// surviving clients' updates and nothing about any one of them, even when
// clients drop out mid-protocol.
//
// # Protocol
//
// Every party agrees on Params: a 32-byte Session that names this one
// aggregation (keys and messages of one session are useless in another),
// the threshold T and the vector length. Clients hold a nonzero ClientID,
// which is also their x-coordinate in Shamir sharing. The rounds are pure
// message exchanges; the transport (the chain, in this project) is the
// caller's business. All messages are public: they carry nothing that a
// client must hide from the server or other clients.
//
//   - Round 0, AdvertiseKeys: client u draws two X25519 key pairs, c_u for
//     encrypting shares to its peers and s_u for the pairwise masks, and
//     publishes both public keys (a Signature field and SignBytes are the
//     hook for the caller's signatures; Params.VerifyKeys checks them).
//     The advertisements received form the roster U1.
//   - Round 1, ShareKeys: client u draws a 32-byte self-mask seed b_u,
//     Shamir-shares b_u and the private key of s_u among U1 with threshold
//     T, and encrypts peer v's two shares with AES-256-GCM under a key
//     derived by HKDF-SHA256 from ECDH(c_u, c_v), with the session, u and
//     v bound into the key and the associated data. It also publishes a
//     hash commitment to b_u, by which the server checks the seed it later
//     reconstructs. The senders form U2.
//   - Round 2, MaskedInput: client u sends
//     y_u = x_u + PRG(b_u) + Σ_{v∈U2, v>u} PRG(s_uv) − Σ_{v∈U2, v<u} PRG(s_uv) mod 2^64,
//     where s_uv is derived by HKDF from ECDH(s_u, s_v) (so s_uv = s_vu)
//     and PRG is AES-256-CTR. The senders form U3, the survivors.
//   - Round 3, Unmasking: the server announces U3 (UnmaskRequest). Each
//     survivor returns its share of b_v for every v in U3 and its share of
//     s_v's private key for every v in U2\U3 (the clients that dropped
//     after sharing their keys). A client answers only one request per
//     session and never for a set that would reveal both shares of one
//     client. The responders form U4.
//   - Server, Aggregate: sums the y_u of U3, reconstructs b_u for u in U3
//     and s_v for v in U2\U3 from the shares of the first T responders (by
//     ClientID), checks each against its commitment or public key, removes
//     the masks and returns Σ_{u∈U3} x_u mod 2^64 exactly.
//
// Any round with fewer than T participants fails with ErrTooFewClients.
//
// # Parameters and limits
//
//   - 2 ≤ T and 2T > |U1|: a roster may hold at most 2T−1 clients. With
//     2T > |U1| no two disjoint sets of T clients exist, so even a server
//     that tells different clients different stories about who dropped
//     cannot collect T shares of both b_u and s_u (each client reveals at
//     most one of them per peer). Up to |U1|−T clients may drop out.
//   - |U1| ≤ MaxClients (16384), VectorLen ≤ MaxVectorLen (2^28).
//   - Privacy holds against a server colluding with fewer than T clients;
//     more than T−1 colluding clients can reconstruct anyone's masks.
//   - Inputs are vectors over Z_{2^64}; Codec maps float32 vectors there by
//     fixed point. DefaultCodec (scale 2^32, clip ±65536) keeps the sum of
//     up to 32767 clients from wrapping, more than MaxClients.
//
// # Determinism
//
// The server side is a pure function of the message sets: Aggregate sorts
// every set by ClientID, reconstructs from the same T responders whatever
// the arrival order, and its arithmetic is exact (addition mod 2^64), so
// every honest validator computes the same bits from the same messages at
// any GOMAXPROCS. Clients use randomness (crypto/rand unless a reader is
// given) only for their keys, seeds and sharing polynomials.
package secagg
