package dataset_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/mixopt/mixopt/dataset"
)

// TestSplitPointVectors pins SplitPoint to values computed independently
// (Python: int.from_bytes(sha256(salt + b"\0" + id).digest()[:8], "big") >> 11
// / 2**53). A change here changes every split ever made: don't.
func TestSplitPointVectors(t *testing.T) {
	tests := []struct {
		id, salt string
		want     float64
	}{
		{"hh_rlhf_harmless_base-test-0", "dev", 0.29270572052828703},
		{"alpacaeval-easy-0", "heldout", 0.5366642247116502},
		{"", "", 0.4304816492364817},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, dataset.SplitPoint(tt.id, tt.salt), tt.id)
	}
}

func TestInSplit(t *testing.T) {
	ids := make([]string, 20000)
	for i := range ids {
		ids[i] = fmt.Sprintf("example-%d", i)
	}
	for _, fraction := range []float64{0.1, 0.5, 0.9} {
		in := 0
		for _, id := range ids {
			if dataset.InSplit(id, "test", fraction) {
				in++
			}
		}
		got := float64(in) / float64(len(ids))
		sigma := math.Sqrt(fraction * (1 - fraction) / float64(len(ids)))
		assert.InDelta(t, fraction, got, 4*sigma, "fraction %v", fraction)
	}
	for _, id := range ids[:500] {
		// Nested: in at 0.3 implies in at 0.6.
		if dataset.InSplit(id, "s", 0.3) {
			assert.True(t, dataset.InSplit(id, "s", 0.6), id)
		}
		assert.False(t, dataset.InSplit(id, "s", 0), id)
		assert.False(t, dataset.InSplit(id, "s", math.NaN()), id)
		assert.True(t, dataset.InSplit(id, "s", 1), id)
	}
	// Different salts give independent splits.
	both := 0
	for _, id := range ids {
		if dataset.InSplit(id, "a", 0.5) && dataset.InSplit(id, "b", 0.5) {
			both++
		}
	}
	assert.InDelta(t, 0.25, float64(both)/float64(len(ids)), 0.02)
	// The separator keeps salt and id apart.
	assert.NotEqual(t, dataset.SplitPoint("c", "ab"), dataset.SplitPoint("bc", "a"))
}
