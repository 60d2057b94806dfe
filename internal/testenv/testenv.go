// Package testenv locates the real human-judgment data for tests.
package testenv

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// EnvDataDir names the environment variable that points tests (and mixopt)
// at the data directory.
const EnvDataDir = "MIXOPT_DATA"

// DataDir returns the absolute path of the real data directory: $MIXOPT_DATA
// when set, else <module root>/../shared/data, where the module root is the
// nearest directory above the working directory that holds go.mod.
//
// It skips the test only when the default directory does not exist, so a
// checkout without the data still passes. A MIXOPT_DATA that names a missing
// directory fails the test instead: an explicit setting that is wrong should
// not turn tests silently into skips.
func DataDir(t testing.TB) string {
	t.Helper()
	if dir := os.Getenv(EnvDataDir); dir != "" {
		abs, err := filepath.Abs(dir)
		if err != nil {
			t.Fatalf("%s=%s: %v", EnvDataDir, dir, err)
		}
		if !isDir(t, abs) {
			t.Fatalf("%s=%s: not a directory", EnvDataDir, dir)
		}
		return abs
	}
	root, err := moduleRoot()
	if err != nil {
		t.Fatalf("find the data directory: %v", err)
	}
	dir := filepath.Join(filepath.Dir(root), "shared", "data")
	if !isDir(t, dir) {
		t.Skipf("real data not found at %s; set %s to the data directory to run this test", dir, EnvDataDir)
	}
	return dir
}

// moduleRoot walks up from the working directory to the directory holding
// go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		} else if !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// isDir reports whether path is a directory; it fails the test on errors
// other than the path not existing.
func isDir(t testing.TB, path string) bool {
	t.Helper()
	info, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false
	}
	if err != nil {
		t.Fatalf("stat %s: %v", path, err)
	}
	return info.IsDir()
}
