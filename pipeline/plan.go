package pipeline

import (
	"context"
	"path/filepath"
	"time"

	"github.com/mixopt/mixopt/experiments"
	"github.com/mixopt/mixopt/tailpatch"
	"github.com/mixopt/mixopt/validation"
)

// PlanResult is everything `mixopt plan` produced.
type PlanResult struct {
	Patches    *tailpatch.Summary
	Solve      *SolveResult
	Exports    *ExportResult
	Validation *validation.Result
	// ReportFiles are the report and its figures (empty when the stage is
	// off).
	ReportFiles []string
	// Timings are the wall-clock seconds of each stage, in order.
	Timings []StageTiming
}

// StageTiming is how long one stage took.
type StageTiming struct {
	Stage   string
	Seconds float64
}

// Reporter writes a run's report and returns the files written; package
// report provides the implementation the CLI uses.
type Reporter func(dir string) ([]string, error)

// Plan runs the whole method on cfg: base checkpoint → tail patches →
// effects → solve → sampler config and exports → validation → report. Every
// stage resumes from the run directory, so an interrupted plan picks up
// where it stopped and a finished one reruns without training anything.
func Plan(ctx context.Context, cfg *experiments.Config, opts tailpatch.RunOptions, report Reporter) (*PlanResult, error) {
	res := &PlanResult{}
	stage := func(name string, fn func() error) error {
		start := time.Now()
		err := fn()
		res.Timings = append(res.Timings, StageTiming{name, time.Since(start).Seconds()})
		return err
	}
	if err := stage("tail patches", func() (err error) {
		res.Patches, err = tailpatch.Run(ctx, cfg.TailPatch, opts)
		return err
	}); err != nil {
		return nil, err
	}
	if err := stage("solve", func() (err error) {
		res.Solve, err = Solve(cfg.Out, cfg, opts.Version)
		return err
	}); err != nil {
		return nil, err
	}
	if err := stage("export", func() (err error) {
		res.Exports, err = Export(res.Solve.Sampler, filepath.Join(cfg.Out, ExportsDir), cfg.Export.Formats, cfg.Export.MaxEpochs)
		return err
	}); err != nil {
		return nil, err
	}
	if cfg.Stages.Validate {
		if err := stage("validate", func() (err error) {
			res.Validation, err = Validate(ctx, cfg.Out, cfg, res.Solve.Sampler, opts)
			return err
		}); err != nil {
			return nil, err
		}
	}
	if cfg.Stages.Report && report != nil {
		if err := stage("report", func() (err error) {
			res.ReportFiles, err = report(cfg.Out)
			return err
		}); err != nil {
			return nil, err
		}
	}
	return res, nil
}
