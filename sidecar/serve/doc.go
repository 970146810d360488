// Package serve is a provider's inference server (cohort-sidecar run
// --role provider --serve-models ...): it loads registry model versions
// (weights fetched from their locations and checked against the
// registry's sha256 and size, decoded against the model's engine spec),
// keeps the hot ones in memory (LRU by bytes), batches concurrent
// requests into one engine.Forward, signs every response and keeps a
// signed usage receipt per request, listable per client for settlement,
// and, with Config.Evidence, keeps each paid request's input with its
// receipt for the sampled verification of usage claims (evidence.go).
//
// HTTP API (Server.Handler):
//
//	POST /v1/models/{id}/versions/{v}:predict
//	    JSON in:  {"inputs": [[f32, ...], ...]}           (Content-Type application/json)
//	    JSON out: {"outputs": [[...]], "argmax": [...], "provider": ..., "signature": ..., "receipt": {...}}
//	    binary:   Content-Type application/octet-stream, body = rows × width float32
//	              little-endian; the answer is rows × classes float32 LE, with the
//	              receipt in the X-Cohort-Receipt header (JSON) and the signature in
//	              X-Cohort-Signature (base64)
//	    headers:  X-Cohort-Client (the account the gateway authenticated; "anonymous"
//	              when absent), X-Cohort-Request-Id (optional; one is made up otherwise)
//	GET  /v1/receipts?client=<addr>&after=<seq>&limit=<n>   receipts of one client, by seq
//	GET  /v1/receipts/clients                               clients with receipts and their last seq
//	GET  /v1/receipts/claim?client=<addr>&after=<seq>&limit=<n>
//	                                                        the next batch to settle: Claim (seq range,
//	                                                        units, Merkle root) and its receipts
//	GET  /v1/serving                                        models declared and cached
//	GET  /v1/evidence/{job}/{root}/{index}                  evidence of receipt index of a usage claim's
//	                                                        commitment (root: hex ReceiptsRoot): JSON
//	                                                        EvidenceItem (receipt, Merkle proof, count,
//	                                                        input); no token needed, validators fetch it;
//	                                                        404 when not kept, 400 on bad parameters
//	GET  /metrics                                           Prometheus
//
// Batched and unbatched inference give the same bits: the engine computes
// every row of a batch independently in a fixed order (see package engine),
// so a response never depends on what it was batched with.
package serve
