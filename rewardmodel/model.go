package rewardmodel

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
)

// Model is a linear reward model: reward(prompt, response) = W·φ(prompt,
// response). An all-zero model scores every response alike, so it gets every
// pairwise example wrong (ties are wrong).
type Model struct {
	// Header describes where the weights came from.
	Header Header
	W      []float32
}

// Header is the provenance stored with a checkpoint. Its fields are fixed so
// that the encoding is deterministic.
type Header struct {
	Dim      int    `json:"dim"`
	Features string `json:"features"`
	// Parent is the checkpoint the weights were trained from ("init" for an
	// untrained start).
	Parent string `json:"parent"`
	// Recipe is a canonical description of the job that produced the
	// weights, so that a checkpoint file documents itself.
	Recipe string `json:"recipe,omitempty"`
}

// InitID names the untrained model.
const InitID = "init"

// NewModel returns the untrained (all-zero) model with dim features.
func NewModel(dim int) *Model {
	return &Model{Header: Header{Dim: dim, Features: FeatureVersion, Parent: ""}, W: make([]float32, dim)}
}

// Clone returns a deep copy of m.
func (m *Model) Clone() *Model {
	c := *m
	c.W = append([]float32(nil), m.W...)
	return &c
}

const checkpointMagic = "MIXOPTRM\x00\x01"

// Encode writes the checkpoint format: magic, header length, JSON header,
// then the weights as little-endian float32. The bytes depend only on the
// header and weights.
func (m *Model) Encode(w io.Writer) error {
	if len(m.W) != m.Header.Dim {
		return fmt.Errorf("encode checkpoint: %d weights for dim %d", len(m.W), m.Header.Dim)
	}
	hdr, err := json.Marshal(m.Header)
	if err != nil {
		return err
	}
	buf := make([]byte, 0, len(checkpointMagic)+4+len(hdr)+4*len(m.W))
	buf = append(buf, checkpointMagic...)
	buf = binary.LittleEndian.AppendUint32(buf, uint32(len(hdr)))
	buf = append(buf, hdr...)
	for _, x := range m.W {
		buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(x))
	}
	_, err = w.Write(buf)
	return err
}

// Bytes returns the encoded checkpoint.
func (m *Model) Bytes() []byte {
	var b bytes.Buffer
	if err := m.Encode(&b); err != nil {
		panic(err) // only a dim mismatch, a programming error
	}
	return b.Bytes()
}

// CheckpointID derives a checkpoint id from encoded checkpoint bytes.
func CheckpointID(encoded []byte) string {
	sum := sha256.Sum256(encoded)
	return "ck-" + hex.EncodeToString(sum[:16])
}

// ErrCorrupt reports a checkpoint that cannot be decoded.
var ErrCorrupt = errors.New("corrupt checkpoint")

// Decode reads a checkpoint written by Encode.
func Decode(data []byte) (*Model, error) {
	if !bytes.HasPrefix(data, []byte(checkpointMagic)) || len(data) < len(checkpointMagic)+4 {
		return nil, fmt.Errorf("%w: bad magic", ErrCorrupt)
	}
	p := data[len(checkpointMagic):]
	n := int(binary.LittleEndian.Uint32(p))
	p = p[4:]
	if n > len(p) {
		return nil, fmt.Errorf("%w: header length %d beyond end", ErrCorrupt, n)
	}
	var m Model
	if err := json.Unmarshal(p[:n], &m.Header); err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrCorrupt, err)
	}
	p = p[n:]
	if m.Header.Features != FeatureVersion {
		return nil, fmt.Errorf("%w: features %q, want %q", ErrCorrupt, m.Header.Features, FeatureVersion)
	}
	if m.Header.Dim <= 0 || len(p) != 4*m.Header.Dim {
		return nil, fmt.Errorf("%w: %d weight bytes for dim %d", ErrCorrupt, len(p), m.Header.Dim)
	}
	m.W = make([]float32, m.Header.Dim)
	for i := range m.W {
		m.W[i] = math.Float32frombits(binary.LittleEndian.Uint32(p[4*i:]))
	}
	return &m, nil
}
