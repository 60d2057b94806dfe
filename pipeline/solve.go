// Package pipeline ties mixopt's stages into the runs its commands perform:
// tail patches → effects → solve → sampler config and exports → validation →
// report, each stage reading the tables the previous one wrote in the run
// directory, so every stage can also run on its own.
package pipeline

import (
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/mixopt/mixopt/experiments"
	"github.com/mixopt/mixopt/mixture"
	"github.com/mixopt/mixopt/sampler"
	"github.com/mixopt/mixopt/tailpatch"
	"github.com/mixopt/mixopt/trainer"
)

// SamplerFile is the sampler config's file name in a run directory;
// SamplerJSONFile holds the same config as JSON.
const (
	SamplerFile     = "sampler.yaml"
	SamplerJSONFile = "sampler.json"
)

// SolveResult is a solved mixture and the files written for it.
type SolveResult struct {
	Effects     *mixture.Effects
	Solution    *mixture.Solution
	Uncertainty *mixture.Uncertainty
	Explanation *mixture.Explanation
	Sampler     *sampler.Config
	Files       []string
}

// Solve reads a run's effects, solves for mixture weights with the
// configured objective and constraints, re-solves on the bootstrap
// replicates for weight intervals, and writes weights.arrow/.parquet and the
// sampler config (sampler.yaml), the product of the run.
func Solve(dir string, cfg *experiments.Config, version string) (*SolveResult, error) {
	loaded, err := tailpatch.LoadEffects(dir)
	if err != nil {
		return nil, err
	}
	ledger, err := tailpatch.OpenLedger(filepath.Join(dir, tailpatch.LedgerFile))
	if err != nil {
		return nil, err
	}
	desc, err := tailpatch.LoadDescription(ledger)
	ledger.Close()
	if err != nil {
		return nil, err
	}
	eff := mixtureEffects(loaded)
	obj, est, err := mixture.ParseObjective(cfg.Solve.Objective)
	if err != nil {
		return nil, fmt.Errorf("solve.objective: %w", err)
	}
	opts, err := solverOptions(cfg, eff, est)
	if err != nil {
		return nil, err
	}
	sol, err := mixture.Solve(eff, obj, opts)
	if err != nil {
		return nil, fmt.Errorf("solve %s: %w", cfg.Solve.Objective, err)
	}
	unc, err := mixture.Bootstrap(eff, sol, mixture.BootstrapOptions{TopK: cfg.Solve.TopK})
	if err != nil {
		return nil, fmt.Errorf("solve %s: bootstrap: %w", cfg.Solve.Objective, err)
	}
	expl, err := mixture.Explain(eff, sol, unc)
	if err != nil {
		return nil, err
	}
	meta := map[string]string{}
	for k, v := range loaded.Meta {
		meta[k] = v
	}
	meta["mixopt.version"] = version
	if err := mixture.WriteTable(dir, eff, sol, unc, meta); err != nil {
		return nil, err
	}

	entries, err := samplerEntries(desc, eff)
	if err != nil {
		return nil, err
	}
	settings := map[string]string{"reference": cfg.Solve.Reference}
	if b, err := json.Marshal(opts); err == nil {
		settings["options"] = string(b)
	}
	if sol.Lambda > 0 {
		settings["lambda"] = strconv.FormatFloat(sol.Lambda, 'g', -1, 64)
	}
	sc, err := sampler.New(entries, sol.Weights, sampler.Budget{Steps: cfg.Run.Steps, BatchSize: cfg.Run.BatchSize}, cfg.Run.Seed, sampler.Provenance{
		RunID: loaded.Meta["mixopt.run_id"], Objective: cfg.Solve.Objective, Solver: "mixopt/mixture",
		SolverSettings: settings, MixoptVersion: version,
	})
	if err != nil {
		return nil, fmt.Errorf("sampler config: %w", err)
	}
	path := filepath.Join(dir, SamplerFile)
	if err := sc.WriteYAML(path); err != nil {
		return nil, err
	}
	jsonPath := filepath.Join(dir, SamplerJSONFile)
	if err := sc.WriteJSON(jsonPath); err != nil {
		return nil, err
	}
	return &SolveResult{
		Effects: eff, Solution: sol, Uncertainty: unc, Explanation: expl, Sampler: sc,
		Files: []string{filepath.Join(dir, mixture.TableName+".arrow"), filepath.Join(dir, mixture.TableName+".parquet"), path, jsonPath},
	}, nil
}

// mixtureEffects converts the effects table into the solver's input. It
// keeps the categories every task has a value for (a category the suite
// cannot score is NaN throughout and says nothing).
func mixtureEffects(l *tailpatch.LoadedEffects) *mixture.Effects {
	nc := len(l.Categories)
	var keep []int
	for c := range nc {
		ok := true
		for t := range l.Tasks {
			if math.IsNaN(l.Row(t, c).Delta) {
				ok = false
			}
		}
		if ok {
			keep = append(keep, c)
		}
	}
	e := &mixture.Effects{Level: l.Options.Level}
	if e.Level == 0 {
		e.Level = 0.95
	}
	hasCtl := len(l.ControlReplicates) > 0
	for _, c := range keep {
		e.Categories = append(e.Categories, l.Categories[c].Name)
	}
	for t, name := range l.Tasks {
		e.Tasks = append(e.Tasks, mixture.Task{Name: name, Examples: l.Examples[name]})
		row := func(f func(*tailpatch.Effect) float64) []float64 {
			out := make([]float64, len(keep))
			for i, c := range keep {
				out[i] = f(l.Row(t, c))
			}
			return out
		}
		e.Mean = append(e.Mean, row(func(r *tailpatch.Effect) float64 { return r.Delta }))
		e.Low = append(e.Low, row(func(r *tailpatch.Effect) float64 { return r.Low }))
		e.High = append(e.High, row(func(r *tailpatch.Effect) float64 { return r.High }))
		e.Stability = append(e.Stability, row(func(r *tailpatch.Effect) float64 { return zeroNaN(r.Stability) }))
		e.Score = append(e.Score, row(func(r *tailpatch.Effect) float64 { return r.PatchedScore }))
		if hasCtl {
			e.Control = append(e.Control, row(func(r *tailpatch.Effect) float64 { return r.DeltaVsControl }))
		}
		e.Seeds = append(e.Seeds, l.Row(t, 0).Seeds)
	}
	for _, rep := range l.Replicates {
		m := make([][]float64, len(l.Tasks))
		for t := range l.Tasks {
			m[t] = make([]float64, len(keep))
			for i, c := range keep {
				m[t][i] = rep[t*nc+c]
			}
		}
		e.Replicates = append(e.Replicates, m)
	}
	return e
}

func zeroNaN(x float64) float64 {
	if math.IsNaN(x) {
		return 0
	}
	return x
}

// solverOptions turns the config's solve section into mixture.Options.
// Viper lower-cases map keys, so category and task names are matched
// case-insensitively against the effects.
func solverOptions(cfg *experiments.Config, e *mixture.Effects, est mixture.Estimate) (mixture.Options, error) {
	s := cfg.Solve
	cats := func(field string, m map[string]float64) (map[string]float64, error) {
		if len(m) == 0 {
			return nil, nil
		}
		out := map[string]float64{}
		for k, v := range m {
			i := slices.IndexFunc(e.Categories, func(c string) bool { return strings.EqualFold(c, k) })
			if i < 0 {
				return nil, fmt.Errorf("%s: unknown category %q (have: %s)", field, k, strings.Join(e.Categories, ", "))
			}
			out[e.Categories[i]] = v
		}
		return out, nil
	}
	taskName := func(field, k string) (string, error) {
		i := slices.IndexFunc(e.Tasks, func(t mixture.Task) bool { return strings.EqualFold(t.Name, k) })
		if i < 0 {
			return "", fmt.Errorf("%s: unknown task %q", field, k)
		}
		return e.Tasks[i].Name, nil
	}
	tasks := func(field string, m map[string]float64) (map[string]float64, error) {
		if len(m) == 0 {
			return nil, nil
		}
		out := map[string]float64{}
		for k, v := range m {
			name, err := taskName(field, k)
			if err != nil {
				return nil, err
			}
			out[name] = v
		}
		return out, nil
	}
	var o mixture.Options
	var err error
	o.Estimate = est
	switch s.Reference {
	case "", "base":
		o.Reference = mixture.ReferenceBase
	case "control":
		o.Reference = mixture.ReferenceControl
	default:
		return o, fmt.Errorf("solve.reference: %q is not base or control", s.Reference)
	}
	if o.CategoryWeights, err = cats("solve.category_weights", s.CategoryWeights); err != nil {
		return o, err
	}
	o.PriorCap = s.PriorCap
	o.KL = mixture.KLSettings{Lambda: s.Lambda, TargetEffectiveTasks: s.TargetEffectiveTasks}
	o.Budget = mixture.Budget{Steps: cfg.Run.Steps, BatchSize: cfg.Run.BatchSize}
	c := s.Constraints
	o.Constraints = mixture.Constraints{Floor: c.Floor, Cap: c.Cap, MaxEpochs: c.MaxEpochs}
	if o.Constraints.TaskFloor, err = tasks("solve.constraints.task_floor", c.TaskFloor); err != nil {
		return o, err
	}
	if o.Constraints.TaskCap, err = tasks("solve.constraints.task_cap", c.TaskCap); err != nil {
		return o, err
	}
	if o.Constraints.CategoryFloors, err = cats("solve.constraints.category_floors", c.CategoryFloors); err != nil {
		return o, err
	}
	for i, g := range c.Groups {
		mg := mixture.Group{Name: g.Name, Min: g.Min, Max: g.Max}
		for _, t := range g.Tasks {
			name, err := taskName(fmt.Sprintf("solve.constraints.groups[%d].tasks", i), t)
			if err != nil {
				return o, err
			}
			mg.Tasks = append(mg.Tasks, name)
		}
		o.Constraints.Groups = append(o.Constraints.Groups, mg)
	}
	f := s.Flame
	o.Flame = mixture.FlameSettings{
		HelpfulEffect: f.HelpfulEffect, StableShare: f.StableShare, GeneralRating: f.GeneralRating,
		GeneralRate: f.GeneralRate, CategoryRate: f.CategoryRate, OtherRate: f.OtherRate, TopRate: f.TopRate,
		TopTasks: f.TopTasks,
	}
	for _, tc := range f.TopCategories {
		i := slices.IndexFunc(e.Categories, func(c string) bool { return strings.EqualFold(c, tc) })
		if i < 0 {
			return o, fmt.Errorf("solve.flame.top_categories: unknown category %q", tc)
		}
		o.Flame.TopCategories = append(o.Flame.TopCategories, e.Categories[i])
	}
	if o.Flame.Thresholds, err = cats("solve.flame.thresholds", f.Thresholds); err != nil {
		return o, err
	}
	switch f.TopMode {
	case "", "replace":
		o.Flame.TopMode = mixture.TopReplace
	case "add":
		o.Flame.TopMode = mixture.TopAdd
	default:
		return o, fmt.Errorf("solve.flame.top_mode: %q is not replace or add", f.TopMode)
	}
	return o, nil
}

// samplerEntries describes the solved tasks for the sampler config, from
// what the trainers reported.
func samplerEntries(desc *trainer.Description, e *mixture.Effects) ([]sampler.TaskEntry, error) {
	out := make([]sampler.TaskEntry, len(e.Tasks))
	for i, t := range e.Tasks {
		info, ok := desc.Task(t.Name)
		if !ok {
			return nil, fmt.Errorf("task %s: not in the trainers' description", t.Name)
		}
		out[i] = sampler.TaskEntry{
			Name: info.Name, Dataset: info.Dataset, Source: info.Source, TaskHash: info.ContentHash,
			DatasetHash: info.DatasetHash, Examples: info.Examples,
		}
	}
	return out, nil
}
