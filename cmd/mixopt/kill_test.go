package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mixopt/mixopt/internal/testenv"
	trainerv1 "github.com/mixopt/mixopt/proto/mixopt/trainer/v1"
	"github.com/mixopt/mixopt/tailpatch"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protojson"
	_ "modernc.org/sqlite"
)

// envRunMain makes the test binary run the mixopt CLI instead of the tests,
// so that tests can start (and kill) the real command as a process.
const envRunMain = "MIXOPT_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(envRunMain) == "1" {
		os.Exit(run())
	}
	os.Exit(m.Run())
}

// mixopt returns the CLI command with args, as a process that is killed if
// it outlives the test.
func mixopt(t *testing.T, args ...string) *exec.Cmd {
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Env = append(os.Environ(), envRunMain+"=1")
	return cmd
}

// patchArgs is a small tail-patch run on real data: 4 tasks, 2 seeds, 11
// jobs on the in-process reference trainer.
func patchArgs(data, out string) []string {
	return []string{"patch", "--out", out, "--data", data,
		"--tasks", "hh_rlhf_harmless_base,mrben_math,quixbugs_python,tulu1_human_eval",
		"--seeds", "1,2", "--patch-steps", "40", "--base-steps", "60", "--replicates", "100",
		"--progress", "never", "--log-level", "warn"}
}

const patchJobs = 1 + 4*2 + 2

// runToEnd runs the CLI and fails the test unless it succeeds.
func runToEnd(t *testing.T, args ...string) {
	t.Helper()
	var stderr bytes.Buffer
	cmd := mixopt(t, args...)
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Run(), "mixopt %s\nstderr:\n%s", strings.Join(args, " "), stderr.String())
}

// succeeded returns the jobs the ledger in dir records as succeeded, or
// nil while the ledger does not exist yet.
func succeeded(t *testing.T, dir string) map[string]bool {
	t.Helper()
	path := filepath.Join(dir, tailpatch.LedgerFile)
	if _, err := os.Stat(path); err != nil {
		return nil
	}
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(5000)")
	require.NoError(t, err)
	defer db.Close()
	rows, err := db.Query(`SELECT id FROM jobs WHERE state = 'succeeded'`)
	if err != nil {
		return nil // the schema is not there yet
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var id string
		require.NoError(t, rows.Scan(&id))
		out[id] = true
	}
	require.NoError(t, rows.Err())
	return out
}

// submissions counts each job's 'submitted' transitions in dir's ledger.
func submissions(t *testing.T, dir string) map[string]int {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, tailpatch.LedgerFile)+"?mode=ro")
	require.NoError(t, err)
	defer db.Close()
	rows, err := db.Query(`SELECT job_id FROM transitions WHERE state = 'submitted'`)
	require.NoError(t, err)
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var id string
		require.NoError(t, rows.Scan(&id))
		out[id]++
	}
	require.NoError(t, rows.Err())
	return out
}

// trainerStarts counts how often the in-process reference trainer started
// job id, from its event log in the run directory.
func trainerStarts(t *testing.T, dir, id string) int {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "trainer", "jobs", id, "events.jsonl"))
	require.NoError(t, err)
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<26)
	for sc.Scan() {
		var ev trainerv1.WatchJobResponse
		require.NoError(t, protojson.Unmarshal(sc.Bytes(), &ev))
		if ev.GetStateChange() != nil && ev.State == trainerv1.JobState_JOB_STATE_RUNNING {
			n++
		}
	}
	require.NoError(t, sc.Err())
	return n
}

// TestKillResume kills `mixopt patch` with SIGKILL in the middle of a run
// and runs the same command again: it finishes without running a finished
// patch again, and its result tables are byte-identical to those of an
// uninterrupted run.
func TestKillResume(t *testing.T) {
	if testing.Short() {
		t.Skip("runs tail patches on the real data three times")
	}
	data := testenv.DataDir(t)
	clean, killed := t.TempDir(), t.TempDir()
	runToEnd(t, patchArgs(data, clean)...)

	var stderr bytes.Buffer
	cmd := mixopt(t, patchArgs(data, killed)...)
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if n := len(succeeded(t, killed)); n >= 3 && n < patchJobs {
			break
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("the run never reached the point to kill it; stderr:\n%s", stderr.String())
		}
		time.Sleep(2 * time.Millisecond)
	}
	require.NoError(t, cmd.Process.Kill()) // SIGKILL: no cleanup of any kind
	err := cmd.Wait()
	require.Error(t, err, "the run was killed")
	before := succeeded(t, killed)
	t.Logf("killed with %d of %d jobs succeeded", len(before), patchJobs)
	require.Less(t, len(before), patchJobs, "the run finished before it was killed")

	runToEnd(t, patchArgs(data, killed)...)
	subs := submissions(t, killed)
	after := succeeded(t, killed)
	assert.Len(t, after, patchJobs)
	for id := range before {
		assert.Equal(t, 1, subs[id], "job %s had finished before the kill and was not submitted again", id)
		assert.Equal(t, 1, trainerStarts(t, killed, id), "job %s was trained once", id)
	}
	for _, name := range []string{tailpatch.PatchesTable, tailpatch.EffectsTable, tailpatch.BootstrapTable} {
		for _, ext := range []string{".arrow", ".parquet"} {
			want, err := os.ReadFile(filepath.Join(clean, name+ext))
			require.NoError(t, err)
			got, err := os.ReadFile(filepath.Join(killed, name+ext))
			require.NoError(t, err)
			assert.True(t, bytes.Equal(want, got), "%s%s differs from the uninterrupted run's", name, ext)
		}
	}
}
