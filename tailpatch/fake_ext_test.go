package tailpatch_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mixopt/mixopt/internal/faketrainer"
	"github.com/mixopt/mixopt/tailpatch"
	"github.com/mixopt/mixopt/trainer"
	"github.com/stretchr/testify/require"
)

// fake starts a fake trainer on loopback TCP and returns it with a driver
// endpoint named name that talks to it.
func fake(t testing.TB, name string, cfg faketrainer.Config) (*faketrainer.Trainer, tailpatch.Endpoint) {
	t.Helper()
	f := faketrainer.Serve(t, cfg)
	c, err := trainer.Dial(f.Addr())
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return f, tailpatch.Endpoint{Name: name, Trainer: c}
}

// fastScheduler keeps every timing small, so that fault tests run in
// milliseconds.
func fastScheduler() tailpatch.SchedulerConfig {
	return tailpatch.SchedulerConfig{
		CallTimeout:  5 * time.Second,
		Backoff:      trainer.Backoff{Initial: time.Millisecond, Max: 5 * time.Millisecond, Attempts: 4},
		StallTimeout: 200 * time.Millisecond,
		Cooldown:     10 * time.Millisecond,
	}
}

// smallConfig is a tail-patch experiment on the fake's four tasks: a short
// base, two seeds and controls.
func smallConfig() tailpatch.Config {
	cfg := tailpatch.DefaultConfig()
	cfg.Base.Steps = 20
	cfg.Patch.Steps = 10
	cfg.Seeds = []uint64{1, 2}
	cfg.EvalEvery = 5
	cfg.Effects.Replicates = 50
	return cfg
}

// resultTables are the tables whose bytes depend only on the results.
var resultTables = []string{tailpatch.PatchesTable, tailpatch.EffectsTable, tailpatch.BootstrapTable}

// readFiles returns the bytes of the named tables (.arrow and .parquet).
func readFiles(t *testing.T, dir string, names []string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, n := range names {
		for _, ext := range []string{".arrow", ".parquet"} {
			b, err := os.ReadFile(filepath.Join(dir, n+ext))
			require.NoError(t, err)
			out[n+ext] = b
		}
	}
	return out
}

// ledger opens a run directory's ledger.
func ledger(t *testing.T, dir string) *tailpatch.Ledger {
	t.Helper()
	l, err := tailpatch.OpenLedger(filepath.Join(dir, tailpatch.LedgerFile))
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	return l
}
