package report_test

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"html/template"
	"image"
	_ "image/png"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"

	"github.com/mixopt/mixopt/mixture"
	"github.com/mixopt/mixopt/report"
	"github.com/mixopt/mixopt/sampler"
	"github.com/mixopt/mixopt/tailpatch"
	"github.com/mixopt/mixopt/target"
	"github.com/mixopt/mixopt/validation"
)

// Task names include HTML that must come out escaped everywhere.
var testTasks = []string{"chat_pairs", "math <b>&amp;", "<script>alert(1)</script>", "safety/pairs"}

var testCategories = []target.Category{
	{Name: "Chat", Section: true, TailPatch: true},
	{Name: "Chat Hard", Section: true, TailPatch: true},
	{Name: "Safety", Section: true, TailPatch: true},
	{Name: "Reasoning", Section: true},
	{Name: "Math", TailPatch: true},
	{Name: "Coding", TailPatch: true},
	{Name: "Overall"},
}

// testRun holds what the fixture wrote, for checks against independent
// computations.
type testRun struct {
	dir      string
	mixture  *mixture.Effects
	solution *mixture.Solution
	unc      *mixture.Uncertainty
}

// writeRun writes a small run with the producing packages' own writers:
// effects (with bootstrap replicates and controls), and optionally weights
// solved by mixture.Solve and a validation result.
func writeRun(t *testing.T, withWeights, withValidation bool) *testRun {
	t.Helper()
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(1, 2))
	nt, nc, nb := len(testTasks), len(testCategories), 40
	examples := map[string]int64{}
	me := &mixture.Effects{Level: 0.95}
	for _, c := range testCategories {
		me.Categories = append(me.Categories, c.Name)
	}
	e := &tailpatch.Effects{Tasks: testTasks, Categories: testCategories}
	for ti, task := range testTasks {
		examples[task] = int64(300 + 4000*ti)
		me.Tasks = append(me.Tasks, mixture.Task{Name: task, Examples: examples[task]})
		mean := make([]float64, nc)
		low := make([]float64, nc)
		high := make([]float64, nc)
		for c, cat := range testCategories {
			d := 0.04*rng.NormFloat64() + 0.01*float64(ti-1)
			mean[c], low[c], high[c] = d, d-0.02, d+0.02
			e.Rows = append(e.Rows, tailpatch.Effect{
				Task: task, Category: cat.Name, Delta: d, Low: d - 0.02, High: d + 0.02,
				DeltaVsControl: d - 0.005, ControlLow: d - 0.025, ControlHigh: d + 0.015,
				Stability: float64(ti%3) / 2, PNonPositive: 0.5, Seeds: 3, BaseScore: 0.6, PatchedScore: 0.6 + d,
			})
		}
		me.Mean, me.Low, me.High = append(me.Mean, mean), append(me.Low, low), append(me.High, high)
	}
	for range nb {
		rep := make([]float64, nt*nc)
		ctl := make([]float64, nt*nc)
		m := make([][]float64, nt)
		for ti := range nt {
			m[ti] = make([]float64, nc)
			for c := range nc {
				v := e.Rows[ti*nc+c].Delta + 0.01*rng.NormFloat64()
				rep[ti*nc+c], ctl[ti*nc+c], m[ti][c] = v, v-0.005, v
			}
		}
		e.Replicates = append(e.Replicates, rep)
		e.ControlReplicates = append(e.ControlReplicates, ctl)
		me.Replicates = append(me.Replicates, m)
	}
	cfg := tailpatch.DefaultConfig()
	cfg.Effects = tailpatch.EffectOptions{Replicates: nb, Level: 0.95, StabilityWindow: 3}
	cfgJSON, err := json.Marshal(cfg)
	require.NoError(t, err)
	devJSON, err := json.Marshal([]target.Deviation{
		{Name: "mt-bench-<hard>", Section: "Chat Hard", Category: "Chat Hard", Weight: 37, Reason: target.ReasonMissing},
		{Name: "math-mrgsm8k", Section: "Reasoning", Category: "Math", Weight: 340, Reason: target.ReasonUnknown},
	})
	require.NoError(t, err)
	meta := map[string]string{
		"mixopt.run_id": "run-test", "mixopt.target": "rewardbench", "mixopt.version": "0.0.0-test",
		"mixopt.base_checkpoint": "ck-base", "mixopt.config": string(cfgJSON), "mixopt.deviations": string(devJSON),
		"mixopt.trainer": `{"api_version":"mixopt.trainer.v1","endpoints":["inproc"],"model":"test-rm","model_version":"1.0","parameters":[["dim","16"]]}`,
		"mixopt.split":   `{"salt":"s","dev_fraction":0.5,"dev_examples":100,"test_examples":120}`,
	}
	require.NoError(t, tailpatch.WriteEffects(dir, e, examples, meta))
	run := &testRun{dir: dir, mixture: me}

	if withWeights {
		sol, err := mixture.Solve(me, mixture.KL, mixture.Options{Budget: mixture.Budget{Steps: 100, BatchSize: 8}})
		require.NoError(t, err)
		unc, err := mixture.Bootstrap(me, sol, mixture.BootstrapOptions{TopK: 2, Workers: 1})
		require.NoError(t, err)
		require.NoError(t, mixture.WriteTable(dir, me, sol, unc, meta))
		run.solution, run.unc = sol, unc
	}
	if withValidation {
		res := &validation.Result{Categories: testCategories, Level: 0.95}
		arms := []string{validation.ArmProportional, validation.ArmUniform, validation.ArmOptimised, validation.ArmOptimisedShort}
		for a, arm := range arms {
			for c, cat := range testCategories {
				s := 0.5 + 0.05*float64(a) + 0.02*float64(c)
				res.Scores = append(res.Scores, validation.ArmScore{
					Arm: arm, Steps: 600, Examples: 9600, Category: cat.Name, Score: s, Low: s - 0.03, High: s + 0.03, Seeds: 3,
				})
			}
		}
		for _, arm := range arms[2:] {
			for _, base := range arms[:2] {
				for _, cat := range testCategories {
					d := 0.1 * rng.NormFloat64()
					verdict := "no clear difference"
					if d-0.03 > 0 {
						verdict = "better"
					} else if d+0.03 < 0 {
						verdict = "worse"
					}
					res.Comparisons = append(res.Comparisons, validation.Comparison{
						Arm: arm, Baseline: base, Category: cat.Name, Diff: d, Low: d - 0.03, High: d + 0.03, Verdict: verdict,
					})
				}
			}
		}
		require.NoError(t, validation.WriteTable(dir, res, map[string]string{"mixopt.run_id": "run-test"}))
	}
	return run
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return b
}

// checkSelfContained parses the page and fails on anything a browser would
// fetch: scripts, stylesheets, frames, images or objects, and any src or
// href outside the page's own anchors and the run's figure files.
func checkSelfContained(t *testing.T, page []byte) {
	t.Helper()
	assert.NotContains(t, string(page), "http://")
	assert.NotContains(t, string(page), "https://")
	doc, err := html.Parse(bytes.NewReader(page))
	require.NoError(t, err)
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			assert.NotContains(t, []string{"script", "link", "iframe", "img", "object", "embed", "image"}, n.Data, "element <%s> loads a resource", n.Data)
			for _, a := range n.Attr {
				switch a.Key {
				case "src", "xlink:href":
					t.Errorf("<%s %s=%q> loads a resource", n.Data, a.Key, a.Val)
				case "href":
					ok := strings.HasPrefix(a.Val, "#") || strings.HasPrefix(a.Val, report.FiguresDir+"/")
					assert.True(t, ok, "<%s href=%q> leaves the page", n.Data, a.Val)
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
}

func checkFigure(t *testing.T, dir, name string) {
	t.Helper()
	img, format, err := image.Decode(bytes.NewReader(readFile(t, filepath.Join(dir, report.FiguresDir, name+".png"))))
	require.NoError(t, err, name)
	assert.Equal(t, "png", format)
	assert.Greater(t, img.Bounds().Dx(), 300)
	svg := readFile(t, filepath.Join(dir, report.FiguresDir, name+".svg"))
	dec := xml.NewDecoder(bytes.NewReader(svg))
	for {
		_, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err, "%s.svg does not parse as XML", name)
	}
	assert.NotContains(t, string(svg), "<script", "%s.svg carries unescaped markup from a task name", name)
}

func TestWrite(t *testing.T) {
	sections := []string{"Run summary", "Tail-patch effects", "Mixture weights vs prior", "Predicted gains", "Validation"}
	tests := []struct {
		name                string
		weights, validation bool
		figures             []string
		notes               []string // substrings of the page's notes
		absent              []string // figures that must not exist
	}{
		{
			name: "complete run", weights: true, validation: true,
			figures: []string{report.FigureEffects, report.FigureWeights, report.FigureValidation},
		},
		{
			name: "no validation yet", weights: true,
			figures: []string{report.FigureEffects, report.FigureWeights},
			notes:   []string{"No validation.arrow", "mixopt validate"},
			absent:  []string{report.FigureValidation},
		},
		{
			name:    "effects only",
			figures: []string{report.FigureEffects},
			notes:   []string{"No weights.arrow", "mixopt solve", "No validation.arrow"},
			absent:  []string{report.FigureWeights, report.FigureValidation},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run := writeRun(t, tt.weights, tt.validation)
			// Figures of an earlier report whose tables are gone must go.
			figDir := filepath.Join(run.dir, report.FiguresDir)
			require.NoError(t, os.MkdirAll(figDir, 0o755))
			for _, name := range tt.absent {
				for _, ext := range []string{".png", ".svg"} {
					require.NoError(t, os.WriteFile(filepath.Join(figDir, name+ext), []byte("stale"), 0o644))
				}
			}
			rep, err := report.Write(run.dir, report.Options{Version: "test"})
			require.NoError(t, err)

			assert.Equal(t, filepath.Join(run.dir, report.HTMLFile), rep.HTML)
			assert.Len(t, rep.Figures, 2*len(tt.figures))
			assert.Equal(t, append(slices.Clone(rep.Figures), rep.HTML), rep.Files)
			for _, f := range rep.Files {
				assert.FileExists(t, f)
			}
			page := readFile(t, rep.HTML)
			checkSelfContained(t, page)
			s := string(page)
			for _, h := range sections {
				assert.Contains(t, s, ">"+h+"</h2>")
			}
			for _, task := range testTasks {
				assert.Contains(t, s, template.HTMLEscapeString(task))
			}
			assert.NotContains(t, s, "<script>alert")
			assert.NotContains(t, s, "<b>&amp;")
			assert.Contains(t, s, template.HTMLEscapeString("mt-bench-<hard>"))
			assert.Contains(t, s, "run-test")
			assert.Contains(t, s, "test-rm 1.0")
			for _, name := range tt.figures {
				checkFigure(t, run.dir, name)
				assert.Contains(t, s, report.FiguresDir+"/"+name+".png")
			}
			assert.Equal(t, len(tt.figures), strings.Count(s, "<svg "), "inline figures")
			for _, name := range tt.absent {
				assert.NoFileExists(t, filepath.Join(figDir, name+".png"))
				assert.NoFileExists(t, filepath.Join(figDir, name+".svg"))
			}
			notes := strings.Join(rep.Notes, "\n")
			for _, n := range tt.notes {
				assert.Contains(t, notes, n)
				assert.Contains(t, s, n)
			}
			if len(tt.notes) == 0 {
				assert.Empty(t, rep.Notes)
			}
		})
	}
}

// Writing twice gives the same bytes, also from a copy of the tables in
// another directory: nothing in the output depends on the time, the path or
// map order.
func TestWriteIsDeterministic(t *testing.T) {
	run := writeRun(t, true, true)
	first, err := report.Write(run.dir, report.Options{})
	require.NoError(t, err)
	copyDir := t.TempDir()
	tablesIn, err := filepath.Glob(filepath.Join(run.dir, "*.arrow"))
	require.NoError(t, err)
	require.NotEmpty(t, tablesIn)
	for _, f := range tablesIn {
		require.NoError(t, os.WriteFile(filepath.Join(copyDir, filepath.Base(f)), readFile(t, f), 0o644))
	}
	second, err := report.Write(copyDir, report.Options{})
	require.NoError(t, err)
	require.Len(t, second.Files, len(first.Files))
	for i, f := range first.Files {
		rel, err := filepath.Rel(run.dir, f)
		require.NoError(t, err)
		require.Equal(t, filepath.Join(copyDir, rel), second.Files[i])
		assert.True(t, bytes.Equal(readFile(t, f), readFile(t, second.Files[i])), "%s differs between two writes", rel)
	}
}

func TestWriteMissingEffects(t *testing.T) {
	dir := t.TempDir()
	_, err := report.Write(dir, report.Options{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), filepath.Join(dir, "effects.arrow"))
	assert.Contains(t, err.Error(), "mixopt patch")
	assert.NoFileExists(t, filepath.Join(dir, report.HTMLFile))
}

func TestWriteOptions(t *testing.T) {
	run := writeRun(t, true, false)
	rep, err := report.Write(run.dir, report.Options{Title: "Run <7>", MaxTasks: 2, Version: "9.9"})
	require.NoError(t, err)
	page := string(readFile(t, rep.HTML))
	assert.Contains(t, page, "<title>Run &lt;7&gt;</title>")
	assert.Contains(t, page, `content="mixopt 9.9"`)
	assert.Contains(t, page, "The figure shows 2 of 4 tasks")

	// The heatmap keeps the two tasks with the largest weights.
	order := slices.Clone(testTasks)
	w := map[string]float64{}
	for i, task := range testTasks {
		w[task] = run.solution.Weights[i]
	}
	slices.SortStableFunc(order, func(a, b string) int { return -cmpFloat(w[a], w[b]) })
	svg := string(readFile(t, filepath.Join(run.dir, report.FiguresDir, report.FigureEffects+".svg")))
	for i, task := range order {
		esc := ">" + template.HTMLEscapeString(task) + "</text>"
		if i < 2 {
			assert.Contains(t, svg, esc, "kept task %q", task)
		} else {
			assert.NotContains(t, svg, esc, "dropped task %q", task)
		}
	}
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// The report recomputes predicted gains from the tables; they must agree
// with what the solver and its bootstrap computed from the same effects.
func TestPredictedGainsMatchSolver(t *testing.T) {
	run := writeRun(t, true, false)
	cats, gain, low, high, total, err := report.PredictedGains(run.dir)
	require.NoError(t, err)
	require.Equal(t, run.mixture.Categories, cats)
	for j := range cats {
		assert.InDelta(t, run.solution.Gains[j], gain[j], 1e-12, cats[j])
		assert.InDelta(t, run.unc.GainLow[j], low[j], 1e-12, cats[j])
		assert.InDelta(t, run.unc.GainHigh[j], high[j], 1e-12, cats[j])
	}
	assert.InDelta(t, run.solution.Gain, total[0], 1e-12)
	assert.InDelta(t, run.unc.AlphaGainLow, total[1], 1e-12)
	assert.InDelta(t, run.unc.AlphaGainHigh, total[2], 1e-12)
}

// A validation table made for another sampler config than the run's
// sampler.yaml is flagged as stale.
func TestWriteFlagsStaleValidation(t *testing.T) {
	run := writeRun(t, true, true)
	var entries []sampler.TaskEntry
	for _, task := range run.mixture.Tasks {
		entries = append(entries, sampler.TaskEntry{Name: task.Name, Dataset: task.Name, Source: task.Name + ".jsonl",
			TaskHash: "sha256:00", DatasetHash: "sha256:00", Examples: task.Examples})
	}
	sc, err := sampler.New(entries, run.solution.Weights, sampler.Budget{Steps: 100, BatchSize: 8}, 0, sampler.Provenance{RunID: "run-test"})
	require.NoError(t, err)
	require.NoError(t, sc.WriteYAML(filepath.Join(run.dir, "sampler.yaml")))
	// Rewrite the validation table with another fingerprint.
	res := &validation.Result{Categories: testCategories, Scores: []validation.ArmScore{
		{Arm: validation.ArmProportional, Category: "Overall", Score: 0.5, Low: 0.4, High: 0.6, Seeds: 1},
	}}
	require.NoError(t, validation.WriteTable(run.dir, res, map[string]string{"mixopt.run_id": "run-test", "mixopt.sampler_fingerprint": "sha256:old"}))

	rep, err := report.Write(run.dir, report.Options{})
	require.NoError(t, err)
	notes := strings.Join(rep.Notes, "\n")
	assert.Contains(t, notes, "sha256:old")
	assert.Contains(t, notes, sc.Fingerprint())
	page := string(readFile(t, rep.HTML))
	assert.Contains(t, page, "sampler.yaml: 4 tasks")
}
