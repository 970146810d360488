// Package data loads training data (IDX files such as Fashion-MNIST) and
// splits it into client shards for federated training, deterministically.
package data

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io"
	"os"

	"github.com/cohortchain/cohort/sidecar/engine"
)

// MaxIDXBytes bounds an IDX payload (Fashion-MNIST's training images are 47 MB).
const MaxIDXBytes = 1 << 30

// ReadIDX decodes an IDX file of unsigned bytes (optionally gzipped): its
// dimensions and data.
func ReadIDX(r io.Reader) ([]int, []byte, error) {
	br := bufioPeek{r: r}
	head, err := br.peek(2)
	if err != nil {
		return nil, nil, fmt.Errorf("idx: %w", err)
	}
	var src io.Reader = br.reader()
	if head[0] == 0x1f && head[1] == 0x8b {
		gz, err := gzip.NewReader(src)
		if err != nil {
			return nil, nil, fmt.Errorf("idx: gzip: %w", err)
		}
		defer gz.Close()
		src = gz
	}
	var magic [4]byte
	if _, err := io.ReadFull(src, magic[:]); err != nil {
		return nil, nil, fmt.Errorf("idx: header: %w", err)
	}
	if magic[0] != 0 || magic[1] != 0 || magic[2] != 0x08 || magic[3] == 0 || magic[3] > 4 {
		return nil, nil, fmt.Errorf("idx: magic %x is not an unsigned-byte IDX file of 1 to 4 dimensions", magic)
	}
	dims := make([]int, magic[3])
	total := 1
	for i := range dims {
		var d uint32
		if err := binary.Read(src, binary.BigEndian, &d); err != nil {
			return nil, nil, fmt.Errorf("idx: dimension %d: %w", i, err)
		}
		if d == 0 || int64(total)*int64(d) > MaxIDXBytes {
			return nil, nil, fmt.Errorf("idx: dimension %d (%d) is zero or makes the file larger than %d bytes", i, d, MaxIDXBytes)
		}
		dims[i] = int(d)
		total *= int(d)
	}
	payload := make([]byte, total)
	if _, err := io.ReadFull(src, payload); err != nil {
		return nil, nil, fmt.Errorf("idx: data: want %d bytes: %w", total, err)
	}
	if n, _ := io.Copy(io.Discard, io.LimitReader(src, 1)); n != 0 {
		return nil, nil, fmt.Errorf("idx: trailing bytes after %d data bytes", total)
	}
	return dims, payload, nil
}

// bufioPeek lets ReadIDX look at the first bytes without losing them.
type bufioPeek struct {
	r    io.Reader
	head []byte
}

func (b *bufioPeek) peek(n int) ([]byte, error) {
	b.head = make([]byte, n)
	if _, err := io.ReadFull(b.r, b.head); err != nil {
		return nil, err
	}
	return b.head, nil
}

func (b *bufioPeek) reader() io.Reader { return io.MultiReader(bytes.NewReader(b.head), b.r) }

// LoadImages reads an IDX image file and its label file into a dataset,
// pixels scaled to [0, 1].
func LoadImages(imagesPath, labelsPath string) (engine.Dataset, error) {
	open := func(p string) ([]int, []byte, error) {
		f, err := os.Open(p)
		if err != nil {
			return nil, nil, err
		}
		defer f.Close()
		return ReadIDX(f)
	}
	idims, pixels, err := open(imagesPath)
	if err != nil {
		return engine.Dataset{}, fmt.Errorf("%s: %w", imagesPath, err)
	}
	ldims, labels, err := open(labelsPath)
	if err != nil {
		return engine.Dataset{}, fmt.Errorf("%s: %w", labelsPath, err)
	}
	return FromIDX(idims, pixels, ldims, labels)
}

// FromIDX builds a dataset from decoded IDX images (n × h × w) and labels (n).
func FromIDX(idims []int, pixels []byte, ldims []int, labels []byte) (engine.Dataset, error) {
	if len(idims) != 3 || len(ldims) != 1 || idims[0] != ldims[0] {
		return engine.Dataset{}, fmt.Errorf("idx: images %v and labels %v do not match", idims, ldims)
	}
	width := idims[1] * idims[2]
	d := engine.Dataset{Inputs: make([]float32, len(pixels)), Labels: make([]int, len(labels)), Width: width}
	for i, p := range pixels {
		d.Inputs[i] = float32(p) / 255
	}
	for i, l := range labels {
		d.Labels[i] = int(l)
	}
	return d, nil
}
