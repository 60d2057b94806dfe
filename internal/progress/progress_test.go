package progress

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseMode(t *testing.T) {
	for _, s := range []string{"auto", "always", "never", ""} {
		_, err := ParseMode(s)
		assert.NoError(t, err, s)
	}
	_, err := ParseMode("sometimes")
	assert.ErrorContains(t, err, "sometimes")
}

// TestLogLines checks the non-terminal mode: no bar escape codes, one
// structured line per finished or failed item with done/total counts.
func TestLogLines(t *testing.T) {
	var logs, screen bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	tr := New(&screen, Never, log, "jobs")
	tr.SetTotal(3, 1)
	tr.Start("a", "patch a", 10)
	tr.Update("a", 5)
	tr.Finish("a", nil)
	tr.Start("b", "patch b", 10)
	tr.Finish("b", errors.New("trainer down"))
	tr.Close()
	assert.Empty(t, screen.String(), "nothing is drawn without a terminal")
	out := logs.String()
	assert.Contains(t, out, "progress=2/3")
	assert.Contains(t, out, `item="patch b"`)
	assert.Contains(t, out, "trainer down")
	assert.NotContains(t, out, "\r")
}

// TestBars draws bars into a buffer (Always) and checks they render the
// title and counts.
func TestBars(t *testing.T) {
	var screen bytes.Buffer
	tr := New(&screen, Always, slog.New(slog.DiscardHandler), "jobs")
	tr.SetTotal(2, 0)
	tr.Start("a", "patch a", 4)
	tr.Update("a", 4)
	tr.Finish("a", nil)
	tr.Start("b", "patch b", 4)
	tr.Finish("b", nil)
	tr.Close()
	out := screen.String()
	require.NotEmpty(t, out)
	assert.True(t, strings.Contains(out, "jobs"), "the overall bar has the title: %q", out)
	assert.Contains(t, out, "2/2")
}
