package report

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/mixopt/mixopt/mixture"
	"github.com/mixopt/mixopt/sampler"
	"github.com/mixopt/mixopt/tables"
	"github.com/mixopt/mixopt/tailpatch"
	"github.com/mixopt/mixopt/target"
	"github.com/mixopt/mixopt/validation"
)

// run is everything a report reads from a run directory. Effects are
// required; every other part is nil when its file is absent.
type run struct {
	dir     string
	effects *tailpatch.LoadedEffects
	// meta is the provenance decoded from the effects table's metadata.
	meta runMeta

	weights    *weightsTable
	validation *validationTable
	sampler    *sampler.Config
	// jobKinds and jobStates count the patches table's rows by kind and the
	// jobs table's rows by state, in first-seen order (nil when absent).
	jobKinds, jobStates []count
}

// count is a label and how often it occurred.
type count struct {
	Label string
	N     int
}

// runMeta is the mixopt.* provenance the tail-patch stage writes into every
// table's schema metadata.
type runMeta struct {
	RunID, Target, Version, Suite, SuiteHash, BaseCheckpoint string
	// Config is the tail-patch experiment; nil when the key is absent.
	Config     *tailpatch.Config
	Trainer    *trainerMeta
	Split      *splitMeta
	Deviations []target.Deviation
}

type trainerMeta struct {
	APIVersion   string      `json:"api_version"`
	Endpoints    []string    `json:"endpoints"`
	Model        string      `json:"model"`
	ModelVersion string      `json:"model_version"`
	Parameters   [][2]string `json:"parameters"`
}

type splitMeta struct {
	Salt         string  `json:"salt"`
	DevFraction  float64 `json:"dev_fraction"`
	DevExamples  int     `json:"dev_examples"`
	TestExamples int     `json:"test_examples"`
}

// weightsTable is weights.arrow (see mixture.WeightsSchema) read back.
type weightsTable struct {
	path      string
	runID     string
	objective string
	settings  weightSettings
	rows      []weightRow
}

type weightRow struct {
	Task                      string
	Weight, Low, High, InTopK float64
	Prior, Rate, Epochs       float64
	Lower, Upper, BundleRate  float64
	Reason                    string
}

// weightSettings is the part of the weights table's mixopt.settings JSON the
// report shows.
type weightSettings struct {
	Estimate        string             `json:"estimate"`
	Reference       string             `json:"reference"`
	CategoryWeights map[string]float64 `json:"category_weights"`
	Constraints     map[string]any     `json:"constraints"`
	Budget          mixture.Budget     `json:"budget"`
	PriorCap        int64              `json:"prior_cap"`
	Lambda          float64            `json:"lambda"`
	TargetEffective float64            `json:"target_effective_tasks"`
	BootstrapLevel  float64            `json:"bootstrap_level"`
	TopK            int                `json:"top_k"`
}

// validationTable is validation.arrow read back: arm scores and
// comparisons.
type validationTable struct {
	path               string
	runID              string
	samplerFingerprint string
	scores             []validation.ArmScore
	comparisons        []validation.Comparison
}

// load reads the run directory. A missing effects table is an error; other
// tables are optional.
func load(dir string) (*run, error) {
	effPath := filepath.Join(dir, tailpatch.EffectsTable+".arrow")
	if _, err := os.Stat(effPath); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("report: %s not found: run `mixopt patch` (or `mixopt plan`) on %s first", effPath, dir)
		}
		return nil, fmt.Errorf("report: %w", err)
	}
	eff, err := tailpatch.LoadEffects(dir)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	r := &run{dir: dir, effects: eff}
	if r.meta, err = decodeRunMeta(effPath, eff.Meta); err != nil {
		return nil, err
	}
	// Each optional input: its path and how to read it into r.
	optional := []struct {
		path string
		read func(path string) error
	}{
		{filepath.Join(dir, mixture.TableName+".arrow"), func(p string) (err error) { r.weights, err = readWeights(p); return err }},
		{validation.Path(dir), func(p string) (err error) { r.validation, err = readValidation(p); return err }},
		{filepath.Join(dir, samplerFile), func(p string) (err error) { r.sampler, err = sampler.Load(p); return err }},
		{filepath.Join(dir, tailpatch.PatchesTable+".arrow"), func(p string) (err error) { r.jobKinds, err = countColumn(p, "kind"); return err }},
		{filepath.Join(dir, tailpatch.JobsTable+".arrow"), func(p string) (err error) { r.jobStates, err = countColumn(p, "state"); return err }},
	}
	for _, o := range optional {
		if _, err := os.Stat(o.path); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return nil, fmt.Errorf("report: %w", err)
		}
		if err := o.read(o.path); err != nil {
			return nil, fmt.Errorf("report: %w", err)
		}
	}
	return r, nil
}

// samplerFile is the sampler config's name in a run directory (the solve
// stage writes it; see pipeline.SamplerFile).
const samplerFile = "sampler.yaml"

// decodeRunMeta decodes the provenance keys; a malformed JSON value is an
// error naming the file and key, an absent key leaves its field empty.
func decodeRunMeta(path string, md map[string]string) (runMeta, error) {
	m := runMeta{
		RunID: md["mixopt.run_id"], Target: md["mixopt.target"], Version: md["mixopt.version"],
		Suite: md["mixopt.suite"], SuiteHash: md["mixopt.suite_hash"], BaseCheckpoint: md["mixopt.base_checkpoint"],
	}
	decode := func(key string, v any) (bool, error) {
		s, ok := md[key]
		if !ok || s == "" {
			return false, nil
		}
		if err := json.Unmarshal([]byte(s), v); err != nil {
			return false, fmt.Errorf("report: %s: schema metadata %s: %w", path, key, err)
		}
		return true, nil
	}
	var cfg tailpatch.Config
	if ok, err := decode("mixopt.config", &cfg); err != nil {
		return m, err
	} else if ok {
		m.Config = &cfg
	}
	var tr trainerMeta
	if ok, err := decode("mixopt.trainer", &tr); err != nil {
		return m, err
	} else if ok {
		m.Trainer = &tr
	}
	var sp splitMeta
	if ok, err := decode("mixopt.split", &sp); err != nil {
		return m, err
	} else if ok {
		m.Split = &sp
	}
	if _, err := decode("mixopt.deviations", &m.Deviations); err != nil {
		return m, err
	}
	return m, nil
}

// columnReader reads named columns of a table, flattening chunks, with
// errors that name the file, the column and, for bad values, the row.
type columnReader struct {
	path string
	tbl  arrow.Table
}

func (cr columnReader) column(name string, want arrow.Type) ([]arrow.Array, error) {
	idx := cr.tbl.Schema().FieldIndices(name)
	if len(idx) != 1 {
		return nil, fmt.Errorf("%s: no column %q", cr.path, name)
	}
	col := cr.tbl.Column(idx[0])
	if got := col.DataType().ID(); got != want {
		return nil, fmt.Errorf("%s: column %q has type %s, want %s", cr.path, name, col.DataType(), want)
	}
	return col.Data().Chunks(), nil
}

// strings returns a utf8 column; nulls read as "".
func (cr columnReader) strings(name string) ([]string, error) {
	chunks, err := cr.column(name, arrow.STRING)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, cr.tbl.NumRows())
	for _, ch := range chunks {
		a := ch.(*array.String)
		for i := range a.Len() {
			out = append(out, a.Value(i))
		}
	}
	return out, nil
}

// floats returns a float64 column; nulls read as NaN.
func (cr columnReader) floats(name string) ([]float64, error) {
	chunks, err := cr.column(name, arrow.FLOAT64)
	if err != nil {
		return nil, err
	}
	out := make([]float64, 0, cr.tbl.NumRows())
	for _, ch := range chunks {
		a := ch.(*array.Float64)
		for i := range a.Len() {
			if a.IsNull(i) {
				out = append(out, math.NaN())
			} else {
				out = append(out, a.Value(i))
			}
		}
	}
	return out, nil
}

func (cr columnReader) int64s(name string) ([]int64, error) {
	chunks, err := cr.column(name, arrow.INT64)
	if err != nil {
		return nil, err
	}
	out := make([]int64, 0, cr.tbl.NumRows())
	for _, ch := range chunks {
		out = append(out, ch.(*array.Int64).Int64Values()...)
	}
	return out, nil
}

func (cr columnReader) int32s(name string) ([]int32, error) {
	chunks, err := cr.column(name, arrow.INT32)
	if err != nil {
		return nil, err
	}
	out := make([]int32, 0, cr.tbl.NumRows())
	for _, ch := range chunks {
		out = append(out, ch.(*array.Int32).Int32Values()...)
	}
	return out, nil
}

func (cr columnReader) meta(key string) string {
	md := cr.tbl.Schema().Metadata()
	if i := md.FindKey(key); i >= 0 {
		return md.Values()[i]
	}
	return ""
}

// readWeights reads weights.arrow.
func readWeights(path string) (*weightsTable, error) {
	tbl, err := tables.ReadArrow(path)
	if err != nil {
		return nil, err
	}
	defer tbl.Release()
	cr := columnReader{path, tbl}
	w := &weightsTable{path: path, runID: cr.meta("mixopt.run_id"), objective: cr.meta("mixopt.objective")}
	if s := cr.meta("mixopt.settings"); s != "" {
		if err := json.Unmarshal([]byte(s), &w.settings); err != nil {
			return nil, fmt.Errorf("%s: schema metadata mixopt.settings: %w", path, err)
		}
	}
	tasks, err := cr.strings("task")
	if err != nil {
		return nil, err
	}
	reasons, err := cr.strings("reason")
	if err != nil {
		return nil, err
	}
	names := []string{"weight", "weight_low", "weight_high", "in_top_k", "prior_weight", "rate", "epochs", "lower", "upper", "bundle_rate"}
	cols := make([][]float64, len(names))
	for k, name := range names {
		if cols[k], err = cr.floats(name); err != nil {
			return nil, err
		}
	}
	for i, t := range tasks {
		row := weightRow{
			Task: t, Weight: cols[0][i], Low: cols[1][i], High: cols[2][i], InTopK: cols[3][i],
			Prior: cols[4][i], Rate: cols[5][i], Epochs: cols[6][i], Lower: cols[7][i], Upper: cols[8][i],
			BundleRate: cols[9][i], Reason: reasons[i],
		}
		if math.IsNaN(row.Weight) || row.Weight < 0 {
			return nil, fmt.Errorf("%s: row %d (%s): weight %v: want a number >= 0", path, i, t, row.Weight)
		}
		w.rows = append(w.rows, row)
	}
	if len(w.rows) == 0 {
		return nil, fmt.Errorf("%s: no rows", path)
	}
	return w, nil
}

// readValidation reads validation.arrow: rows without a baseline are arm
// scores, rows with one are comparisons.
func readValidation(path string) (*validationTable, error) {
	tbl, err := tables.ReadArrow(path)
	if err != nil {
		return nil, err
	}
	defer tbl.Release()
	cr := columnReader{path, tbl}
	v := &validationTable{path: path, runID: cr.meta("mixopt.run_id"), samplerFingerprint: cr.meta("mixopt.sampler_fingerprint")}
	arms, err := cr.strings("arm")
	if err != nil {
		return nil, err
	}
	baselines, err := cr.strings("baseline")
	if err != nil {
		return nil, err
	}
	cats, err := cr.strings("category")
	if err != nil {
		return nil, err
	}
	verdicts, err := cr.strings("verdict")
	if err != nil {
		return nil, err
	}
	steps, err := cr.int64s("steps")
	if err != nil {
		return nil, err
	}
	examples, err := cr.int64s("examples")
	if err != nil {
		return nil, err
	}
	seeds, err := cr.int32s("n_seeds")
	if err != nil {
		return nil, err
	}
	var fl [3][]float64
	for k, name := range []string{"value", "ci_low", "ci_high"} {
		if fl[k], err = cr.floats(name); err != nil {
			return nil, err
		}
	}
	for i := range arms {
		if baselines[i] == "" {
			v.scores = append(v.scores, validation.ArmScore{
				Arm: arms[i], Steps: steps[i], Examples: examples[i], Category: cats[i],
				Score: fl[0][i], Low: fl[1][i], High: fl[2][i], Seeds: int(seeds[i]),
			})
			continue
		}
		v.comparisons = append(v.comparisons, validation.Comparison{
			Arm: arms[i], Baseline: baselines[i], Category: cats[i],
			Diff: fl[0][i], Low: fl[1][i], High: fl[2][i], Verdict: verdicts[i],
		})
	}
	if len(v.scores) == 0 {
		return nil, fmt.Errorf("%s: no arm score rows (rows with a null baseline)", path)
	}
	return v, nil
}

// countColumn counts the values of a utf8 column in first-seen order.
func countColumn(path, name string) ([]count, error) {
	tbl, err := tables.ReadArrow(path)
	if err != nil {
		return nil, err
	}
	defer tbl.Release()
	vals, err := columnReader{path, tbl}.strings(name)
	if err != nil {
		return nil, err
	}
	out := []count{}
	idx := map[string]int{}
	for _, v := range vals {
		i, ok := idx[v]
		if !ok {
			i = len(out)
			idx[v] = i
			out = append(out, count{Label: v})
		}
		out[i].N++
	}
	return out, nil
}
