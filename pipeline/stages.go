package pipeline

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/mixopt/mixopt/internal/atomicfile"

	"github.com/mixopt/mixopt/experiments"
	"github.com/mixopt/mixopt/sampler"
	"github.com/mixopt/mixopt/tailpatch"
	"github.com/mixopt/mixopt/target"
	"github.com/mixopt/mixopt/validation"
)

// ExportsDir is the folder of a run directory that holds the exports.
const ExportsDir = "exports"

// ExportResult lists written export files and the epoch report they share.
type ExportResult struct {
	Files  []string
	Report *sampler.EpochReport
}

// Export writes the sampler config in each format to outDir/<format><ext>
// (every format when formats is empty). Each file is written atomically.
func Export(sc *sampler.Config, outDir string, formats []string, maxEpochs float64) (*ExportResult, error) {
	known := sampler.Formats()
	if len(formats) == 0 {
		for _, f := range known {
			formats = append(formats, f.Name)
		}
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, err
	}
	res := &ExportResult{}
	for _, name := range formats {
		i := slices.IndexFunc(known, func(f sampler.Format) bool { return f.Name == name })
		if i < 0 {
			names := make([]string, len(known))
			for k, f := range known {
				names[k] = f.Name
			}
			return nil, fmt.Errorf("export format %q: unknown (have: %s)", name, strings.Join(names, ", "))
		}
		var buf bytes.Buffer
		rep, err := sampler.Export(&buf, sc, name, sampler.ExportOptions{MaxEpochs: maxEpochs})
		if err != nil {
			return nil, fmt.Errorf("export %s: %w", name, err)
		}
		path := filepath.Join(outDir, name+known[i].Ext)
		if err := atomicfile.WriteFile(path, buf.Bytes()); err != nil {
			return nil, err
		}
		res.Files = append(res.Files, path)
		if res.Report == nil {
			res.Report = rep
		}
	}
	return res, nil
}

// Validate trains the validation arms on the run's trainers and scores them
// on the test split, writing validation.arrow/.parquet.
func Validate(ctx context.Context, dir string, cfg *experiments.Config, sc *sampler.Config, opts tailpatch.RunOptions) (*validation.Result, error) {
	ledger, err := tailpatch.OpenLedger(filepath.Join(dir, tailpatch.LedgerFile))
	if err != nil {
		return nil, err
	}
	defer ledger.Close()
	desc, err := tailpatch.LoadDescription(ledger)
	if err != nil {
		return nil, err
	}
	baseID, err := ledger.Meta(tailpatch.MetaBaseJob)
	if err != nil {
		return nil, err
	}
	base, ok, err := ledger.Job(baseID)
	if err != nil {
		return nil, err
	}
	if !ok || base.State != tailpatch.StateSucceeded {
		return nil, fmt.Errorf("run %s has no finished base (run `mixopt patch` first)", dir)
	}
	outcomes, err := ledger.Outcomes(baseID)
	if err != nil {
		return nil, err
	}
	def, err := target.Lookup(cfg.TailPatch.Target)
	if err != nil {
		return nil, err
	}
	suite, ok := desc.Suite(def.Suite)
	if !ok {
		return nil, fmt.Errorf("run %s: trainers have no suite %q", dir, def.Suite)
	}
	in := validation.Input{Def: def, Suite: suite, BaseOutcomes: outcomes, BaseCheckpoint: base.Checkpoint}
	probs := sc.Probabilities()
	for i, t := range sc.Tasks {
		info, ok := desc.Task(t.Name)
		if !ok {
			return nil, fmt.Errorf("%s: task %s is not offered by the run's trainers", SamplerFile, t.Name)
		}
		in.Tasks = append(in.Tasks, info)
		in.Optimised = append(in.Optimised, probs[i])
	}
	opts.Scheduler.Logger = opts.Logger
	sched, err := tailpatch.NewScheduler(ledger, opts.Endpoints, limitsOf(ctx, opts), opts.Scheduler)
	if err != nil {
		return nil, err
	}
	res, err := validation.Run(ctx, in, cfg.Validate, ledger, sched)
	if err != nil {
		return nil, fmt.Errorf("validate %s: %w", dir, err)
	}
	meta := map[string]string{"mixopt.version": opts.Version, "mixopt.target": def.Name, "mixopt.run_id": sc.Provenance.RunID, "mixopt.sampler_fingerprint": sc.Fingerprint()}
	if err := validation.WriteTable(dir, res, meta); err != nil {
		return nil, err
	}
	return res, nil
}

// limitsOf asks each endpoint for its concurrency limit (1 if it cannot
// say: the scheduler then runs one job at a time there).
func limitsOf(ctx context.Context, opts tailpatch.RunOptions) []int {
	limits := make([]int, len(opts.Endpoints))
	for i, ep := range opts.Endpoints {
		limits[i] = 1
		if d, err := ep.Trainer.Describe(ctx); err == nil {
			limits[i] = d.MaxConcurrentJobs
		}
	}
	return limits
}
