package atomicfile_test

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/mixopt/mixopt/internal/atomicfile"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWriteReplacesOnlyOnSuccess(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f.txt")
	require.NoError(t, atomicfile.WriteFile(path, []byte("one")))
	err := atomicfile.Write(path, func(w io.Writer) error {
		_, _ = w.Write([]byte("half of tw"))
		return errors.New("disk on fire")
	})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "f.txt")
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "one", string(got), "a failed write leaves the old file")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 1, "and no temporary file")

	require.NoError(t, atomicfile.WriteFile(path, []byte("two")))
	got, _ = os.ReadFile(path)
	assert.Equal(t, "two", string(got))
	info, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o644), info.Mode().Perm())
}
