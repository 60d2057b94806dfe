package report

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The template's optional branches (bundle rates, no control patches,
// skipped categories, stale-table notes) are data-dependent; render each
// so that a template error cannot hide until a run happens to need it.
func TestTemplateOptionalBranches(t *testing.T) {
	pg := &page{
		Title: "t", Generator: "mixopt",
		Effects: effectsView{
			Categories: []string{"Chat"}, Level: "95%", HasControl: false,
			Rows: []effectRowView{{Task: "a", Examples: "1", Cells: []effectCellView{{Delta: "+1.0", Stability: "1.00"}}}},
		},
		Weights: &weightsView{Bundles: true, Level: "95%", TopK: "top-5", Rows: []weightRowView{{Task: "a", Bundle: "3000"}}},
		Gains:   &gainsView{Level: "95%", Skipped: "Coding", Rows: []gainRowView{{Category: "Chat", Class: "better"}}},
		Validation: &validationView{
			Notes: []string{"stale <table>"}, Categories: []string{"Overall"},
			Arms: []armView{{Name: "uniform", Cells: []scoreCell{{"50.0", ""}}}},
		},
	}
	var b bytes.Buffer
	require.NoError(t, pageTemplate.Execute(&b, pg))
	s := b.String()
	assert.Contains(t, s, "<th class=\"num\">bundle rate</th>")
	assert.Contains(t, s, "<td class=\"num\">3000</td>")
	assert.NotContains(t, s, "ctl ")
	assert.Contains(t, s, "Not predicted (some task has no delta there): Coding.")
	assert.Contains(t, s, "stale &lt;table&gt;")
}
