package testenv_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/mixopt/mixopt/internal/testenv"
)

func TestDataDirFromEnv(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(testenv.EnvDataDir, dir)
	assert.Equal(t, dir, testenv.DataDir(t))
}

func TestDataDirDefault(t *testing.T) {
	t.Setenv(testenv.EnvDataDir, "")
	os.Unsetenv(testenv.EnvDataDir)
	got := testenv.DataDir(t) // skips when the data is not checked out
	assert.True(t, filepath.IsAbs(got), got)
	assert.Equal(t, filepath.Join("shared", "data"), filepath.Join(filepath.Base(filepath.Dir(got)), filepath.Base(got)))
	assert.DirExists(t, filepath.Join(got, "train"))
}
