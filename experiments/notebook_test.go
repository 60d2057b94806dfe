package experiments_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestNotebookIsValid checks that analysis.ipynb is an nbformat 4 notebook
// whose code compiles as Python 3 and reads the tables mixopt writes.
func TestNotebookIsValid(t *testing.T) {
	raw, err := os.ReadFile("analysis.ipynb")
	require.NoError(t, err)
	var nb struct {
		NBFormat int `json:"nbformat"`
		Cells    []struct {
			Type   string   `json:"cell_type"`
			Source []string `json:"source"`
		} `json:"cells"`
	}
	require.NoError(t, json.Unmarshal(raw, &nb))
	assert.Equal(t, 4, nb.NBFormat)
	var code strings.Builder
	for _, c := range nb.Cells {
		if c.Type == "code" {
			code.WriteString(strings.Join(c.Source, ""))
			code.WriteString("\n\n")
		}
	}
	src := code.String()
	for _, table := range []string{"effects", "weights", "validation"} {
		assert.Contains(t, src, table, "the notebook reads %s", table)
	}
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 not found; syntax not checked")
	}
	path := filepath.Join(t.TempDir(), "notebook.py")
	require.NoError(t, os.WriteFile(path, []byte(src), 0o644))
	out, err := exec.Command("python3", "-m", "py_compile", path).CombinedOutput()
	assert.NoError(t, err, "%s", out)
}
