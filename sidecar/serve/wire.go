package serve

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"math"

	"github.com/cohortchain/cohort/sidecar/tensor"
)

// Content types of the predict endpoint.
const (
	ContentJSON   = "application/json"
	ContentBinary = "application/octet-stream"
)

// Headers of the predict endpoint.
const (
	HeaderClient    = "X-Cohort-Client"
	HeaderRequestID = "X-Cohort-Request-Id"
	HeaderReceipt   = "X-Cohort-Receipt"
	HeaderSignature = "X-Cohort-Signature"
	HeaderRows      = "X-Cohort-Rows"
	HeaderProvider  = "X-Cohort-Provider"
)

// MaxRows bounds the examples of one request.
const MaxRows = 4096

// PredictRequest is the JSON body of a predict call.
type PredictRequest struct {
	Inputs [][]float32 `json:"inputs"`
}

// PredictResponse is the JSON answer of a predict call. Signature is the
// provider's signature of the receipt's sign bytes (Receipt.SignBytes).
type PredictResponse struct {
	Outputs   [][]float32 `json:"outputs"`
	Argmax    []int       `json:"argmax"`
	Provider  string      `json:"provider"`
	Signature []byte      `json:"signature"`
	Receipt   Receipt     `json:"receipt"`
}

// EncodeFloats is the little-endian float32 encoding of v
// (tensor.EncodeFloats): the binary request and response bodies, and what
// the input and output hashes hash.
func EncodeFloats(v []float32) []byte { return tensor.EncodeFloats(v) }

// DecodeFloats parses a little-endian float32 body.
func DecodeFloats(b []byte) ([]float32, error) {
	v, err := tensor.DecodeFloats(b)
	if err != nil {
		return nil, fmt.Errorf("serve: body: %w", err)
	}
	return v, nil
}

// HashFloats is sha256 of EncodeFloats(v): the input and output hashes of
// receipts. Equal tensors have equal hashes, so two providers' outputs are
// compared by hash.
func HashFloats(v []float32) [32]byte {
	h := sha256.New()
	var buf [4096]byte
	for len(v) > 0 {
		n := min(len(v), len(buf)/4)
		for i, f := range v[:n] {
			binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(f))
		}
		h.Write(buf[:4*n])
		v = v[n:]
	}
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// Argmax is the index of the largest value of each row of a rows × cols
// matrix (the first one on ties).
func Argmax(v []float32, rows int) []int {
	if rows <= 0 {
		return nil
	}
	cols := len(v) / rows
	out := make([]int, rows)
	for r := range rows {
		row, best := v[r*cols:(r+1)*cols], 0
		for c := range row {
			if row[c] > row[best] {
				best = c
			}
		}
		out[r] = best
	}
	return out
}

// Rows splits a rows × cols matrix into rows.
func Rows(v []float32, rows int) [][]float32 {
	if rows <= 0 {
		return nil
	}
	cols := len(v) / rows
	out := make([][]float32, rows)
	for r := range rows {
		out[r] = v[r*cols : (r+1)*cols : (r+1)*cols]
	}
	return out
}

// ReadBody reads at most max+1 bytes of r into a buffer sized from
// contentLength when it is known (one allocation instead of io.ReadAll's
// doubling); a result longer than max means the body was too large.
func ReadBody(r io.Reader, contentLength, max int64) ([]byte, error) {
	if contentLength < 0 || contentLength > max {
		contentLength = 512
	}
	buf := bytes.NewBuffer(make([]byte, 0, contentLength+1))
	_, err := buf.ReadFrom(io.LimitReader(r, max+1))
	return buf.Bytes(), err
}
