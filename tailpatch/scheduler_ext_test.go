package tailpatch_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/mixopt/mixopt/internal/faketrainer"
	"github.com/mixopt/mixopt/tables"
	"github.com/mixopt/mixopt/tailpatch"
	"github.com/mixopt/mixopt/trainer"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
)

// fakeJobs returns n patch jobs (one task, seeds 1..n) from "init".
func fakeJobs(n int) []tailpatch.Job {
	seeds := make([]uint64, n)
	for i := range seeds {
		seeds[i] = uint64(i + 1)
	}
	return tailpatch.PatchPlan{
		BaseCheckpoint: "init",
		Tasks:          []trainer.TaskInfo{{Name: "chat_prefs"}},
		Recipe:         tailpatch.Recipe{Steps: 10, BatchSize: 4, LearningRate: 0.1},
		Seeds:          seeds,
		Eval:           trainer.EvalSpec{Suite: faketrainer.SuiteName, EverySteps: 5},
		TargetKey:      "test",
	}.Plan()
}

// schedule plans jobs in dir's ledger and runs them on eps with the
// concurrency limits the endpoints describe.
func schedule(ctx context.Context, t *testing.T, dir string, eps []tailpatch.Endpoint, cfg tailpatch.SchedulerConfig, jobs []tailpatch.Job, validate tailpatch.Validator) error {
	t.Helper()
	l, err := tailpatch.OpenLedger(filepath.Join(dir, tailpatch.LedgerFile))
	require.NoError(t, err)
	defer l.Close()
	require.NoError(t, l.Plan(jobs))
	var limits []int
	for _, ep := range eps {
		d, err := ep.Trainer.Describe(ctx)
		require.NoError(t, err)
		limits = append(limits, d.MaxConcurrentJobs)
	}
	s, err := tailpatch.NewScheduler(l, eps, limits, cfg)
	require.NoError(t, err)
	return s.Run(ctx, jobs, faketrainer.SuiteName, validate)
}

// states returns every job's ledger state and endpoint.
func states(t *testing.T, dir string) map[string]tailpatch.JobRecord {
	t.Helper()
	recs, err := ledger(t, dir).Jobs()
	require.NoError(t, err)
	out := map[string]tailpatch.JobRecord{}
	for _, r := range recs {
		out[r.ID] = r
	}
	return out
}

// transitions returns each job's ledger transitions as "state@endpoint", in
// the order they were written.
func transitions(t *testing.T, dir string) map[string][]string {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, tailpatch.LedgerFile)+"?mode=ro")
	require.NoError(t, err)
	defer db.Close()
	rows, err := db.Query(`SELECT job_id, state, endpoint FROM transitions ORDER BY rowid`)
	require.NoError(t, err)
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var id, state, ep string
		require.NoError(t, rows.Scan(&id, &state, &ep))
		out[id] = append(out[id], state+"@"+ep)
	}
	require.NoError(t, rows.Err())
	return out
}

func count(xs []string, x string) int {
	n := 0
	for _, y := range xs {
		if y == x {
			n++
		}
	}
	return n
}

// TestRetries fails the next calls of one RPC with a retryable code: every
// failed call is retried, no job starts twice, and the fake counts exactly
// one extra call per injected failure.
func TestRetries(t *testing.T) {
	cases := []struct {
		method string
		code   codes.Code
	}{
		{"SubmitJob", codes.Unavailable},
		{"SubmitJob", codes.ResourceExhausted},
		{"WatchJob", codes.DeadlineExceeded},
		{"WatchJob", codes.Unavailable},
		{"Evaluate", codes.ResourceExhausted},
		{"Evaluate", codes.DeadlineExceeded},
	}
	const failures = 3 // < Backoff.Attempts, so no job gives up
	for _, tc := range cases {
		t.Run(tc.method+"/"+tc.code.String(), func(t *testing.T) {
			f, a := fake(t, "A", faketrainer.Config{})
			jobs := fakeJobs(4)
			f.FailNext(tc.method, failures, tc.code)
			dir := t.TempDir()
			require.NoError(t, schedule(t.Context(), t, dir, []tailpatch.Endpoint{a}, fastScheduler(), jobs, nil))

			st := f.Stats()
			for _, m := range []string{"SubmitJob", "WatchJob", "Evaluate"} {
				want := len(jobs)
				if m == tc.method {
					want += failures
				}
				assert.Equal(t, want, st.Calls[m], "%s calls", m)
			}
			assert.Zero(t, st.Calls["CancelJob"])
			recs := states(t, dir)
			for _, j := range jobs {
				assert.Equal(t, 1, st.Starts[j.ID], "job %s started once", j.ID)
				assert.Equal(t, tailpatch.StateSucceeded, recs[j.ID].State)
				assert.Equal(t, "A", recs[j.ID].Endpoint)
			}
		})
	}
}

// TestFinalCodesAreNotRetried checks that codes other than Unavailable,
// DeadlineExceeded and ResourceExhausted end the call at once, and that the
// error names the job, the endpoint and the problem.
func TestFinalCodesAreNotRetried(t *testing.T) {
	cases := []struct {
		method string
		code   codes.Code
	}{
		{"SubmitJob", codes.InvalidArgument},
		{"SubmitJob", codes.Internal},
		{"WatchJob", codes.PermissionDenied},
		{"Evaluate", codes.Internal},
	}
	for _, tc := range cases {
		t.Run(tc.method+"/"+tc.code.String(), func(t *testing.T) {
			f, a := fake(t, "A", faketrainer.Config{})
			jobs := fakeJobs(1)
			f.FailNext(tc.method, 1, tc.code)
			cfg := fastScheduler()
			cfg.MaxJobAttempts = 1
			dir := t.TempDir()
			err := schedule(t.Context(), t, dir, []tailpatch.Endpoint{a}, cfg, jobs, nil)
			require.Error(t, err)
			assert.Equal(t, 1, f.Calls(tc.method), "a %s error is final for the call", tc.code)
			assert.ErrorContains(t, err, "patch chat_prefs seed 1 on A")
			assert.ErrorContains(t, err, tc.code.String())
			assert.Equal(t, tailpatch.StateFailed, states(t, dir)[jobs[0].ID].State)
		})
	}
}

// sameTables checks that two run directories hold the same result tables:
// byte for byte (table metadata names no endpoint, so where jobs ran does not
// show), and value by value for a readable failure.
func sameTables(t *testing.T, dirA, dirB string) {
	t.Helper()
	a, b := readFiles(t, dirA, resultTables), readFiles(t, dirB, resultTables)
	for name, data := range a {
		assert.True(t, bytes.Equal(data, b[name]), "%s differs between the runs", name)
	}
	for _, name := range resultTables {
		for _, ext := range []string{".arrow", ".parquet"} {
			read := tables.ReadArrow
			if ext == ".parquet" {
				read = tables.ReadParquet
			}
			a, err := read(filepath.Join(dirA, name+ext))
			require.NoError(t, err)
			defer a.Release()
			b, err := read(filepath.Join(dirB, name+ext))
			require.NoError(t, err)
			defer b.Release()
			assert.True(t, sameValues(a, b), "%s%s differs", name, ext)
		}
	}
}

// initConfig patches from the untrained checkpoint, so the run has no base
// job and every fault hits a patch.
func initConfig() tailpatch.Config {
	cfg := smallConfig()
	cfg.Base.Checkpoint = "init"
	return cfg
}

// TestFailover kills endpoint A in the middle of a job: the jobs it held go
// to B, the ledger records B, and the results equal a run on B alone.
func TestFailover(t *testing.T) {
	paced := faketrainer.Config{EventDelay: 5 * time.Millisecond}
	fa, a := fake(t, "A", paced)
	fb, b := fake(t, "B", paced)
	fa.SetFaults(faketrainer.Faults{DieAfterEvents: 4})
	dir := t.TempDir()
	sum, err := tailpatch.Run(t.Context(), initConfig(), tailpatch.RunOptions{Dir: dir, Endpoints: []tailpatch.Endpoint{a, b}, Scheduler: fastScheduler()})
	require.NoError(t, err)

	sa, sb := fa.Stats(), fb.Stats()
	require.NotZero(t, sa.Calls["SubmitJob"], "A took jobs before it died")
	assert.Zero(t, sa.Succeeded, "A died during its first jobs")
	trans := transitions(t, dir)
	movedOver := 0
	for id, r := range states(t, dir) {
		assert.Equal(t, tailpatch.StateSucceeded, r.State, "job %s", id)
		if r.Kind == tailpatch.KindBase {
			continue // a given base checkpoint is evaluated before A died
		}
		assert.Equal(t, "B", r.Endpoint, "job %s: the ledger records where it finished", id)
		if sa.Starts[id] > 0 {
			movedOver++
			assert.Equal(t, 1, sa.Starts[id], "job %s", id)
			assert.Equal(t, []string{"submitted@A", "submitted@B", "succeeded@B"}, trans[id], "job %s", id)
		}
		assert.Equal(t, 1, sb.Starts[id], "job %s ran once on B", id)
	}
	assert.Positive(t, movedOver, "some job was running on A when it died")
	assert.Equal(t, sum.Jobs, sum.Ran)

	// The same experiment on B alone gives the same results.
	_, c := fake(t, "B", faketrainer.Config{})
	alone := t.TempDir()
	_, err = tailpatch.Run(t.Context(), initConfig(), tailpatch.RunOptions{Dir: alone, Endpoints: []tailpatch.Endpoint{c}, Scheduler: fastScheduler()})
	require.NoError(t, err)
	sameTables(t, dir, alone)
}

// waitFor polls cond every millisecond until it holds; it fails the test
// after a generous bound.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestReattach stops a driver while jobs run (its context cancelled, or a
// clean stop that detaches), then runs a new driver on the same directory:
// it re-attaches to the running jobs under the same ids, so every job
// starts exactly once, and the results are those of an uninterrupted run.
func TestReattach(t *testing.T) {
	for _, how := range []string{"context", "detach"} {
		t.Run(how, func(t *testing.T) {
			f, a := fake(t, "A", faketrainer.Config{EventDelay: 20 * time.Millisecond})
			dir := t.TempDir()
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			stop := make(chan struct{})
			cfg := fastScheduler()
			cfg.OnInterrupt, cfg.Stop = tailpatch.Detach, stop
			done := make(chan error, 1)
			go func() {
				_, err := tailpatch.Run(ctx, initConfig(), tailpatch.RunOptions{Dir: dir, Endpoints: []tailpatch.Endpoint{a}, Scheduler: cfg})
				done <- err
			}()
			waitFor(t, "jobs in flight after some finished", func() bool { st := f.Stats(); return st.Succeeded >= 2 && st.Running >= 2 })
			if how == "context" {
				cancel()
			} else {
				close(stop)
			}
			require.ErrorIs(t, <-done, tailpatch.ErrInterrupted)
			assert.Zero(t, f.Calls("CancelJob"), "detached jobs are left running")

			before := states(t, dir)
			var inflight []string
			for id, r := range before {
				if r.State == tailpatch.StateSubmitted {
					inflight = append(inflight, id)
				}
			}
			require.NotEmpty(t, inflight)
			submits := f.Calls("SubmitJob")

			sum, err := tailpatch.Run(t.Context(), initConfig(), tailpatch.RunOptions{Dir: dir, Endpoints: []tailpatch.Endpoint{a}, Scheduler: fastScheduler()})
			require.NoError(t, err)
			st := f.Stats()
			trans := transitions(t, dir)
			for id, r := range states(t, dir) {
				assert.Equal(t, tailpatch.StateSucceeded, r.State, "job %s", id)
				if r.Kind == tailpatch.KindBase {
					continue
				}
				assert.Equal(t, 1, st.Starts[id], "job %s started once", id)
				wantSubmits := 1
				if before[id].State == tailpatch.StateSubmitted {
					wantSubmits = 2 // once per driver: the second re-attached
				}
				assert.Equal(t, wantSubmits, count(trans[id], "submitted@A"), "job %s: %v", id, trans[id])
			}
			assert.Equal(t, submits+sum.Ran, st.Calls["SubmitJob"], "the second driver submits only what the first did not finish")

			_, c := fake(t, "A", faketrainer.Config{})
			clean := t.TempDir()
			_, err = tailpatch.Run(t.Context(), initConfig(), tailpatch.RunOptions{Dir: clean, Endpoints: []tailpatch.Endpoint{c}, Scheduler: fastScheduler()})
			require.NoError(t, err)
			assert.Equal(t, readFiles(t, clean, resultTables), readFiles(t, dir, resultTables), "resumed tables are byte-identical")
		})
	}
}

// TestStallFailsOver stalls every job on A: after the stall timeout the
// driver moves them to B, where they finish. B is slow enough that A gets
// new work after its first jobs stalled, which must not wait behind them.
func TestStallFailsOver(t *testing.T) {
	fa, a := fake(t, "A", faketrainer.Config{MaxConcurrentJobs: 2})
	fb, b := fake(t, "B", faketrainer.Config{MaxConcurrentJobs: 2, EventDelay: 20 * time.Millisecond})
	fa.SetFaults(faketrainer.Faults{Stall: true})
	dir := t.TempDir()
	jobs := fakeJobs(24)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	require.NoError(t, schedule(ctx, t, dir, []tailpatch.Endpoint{a, b}, fastScheduler(), jobs, nil))
	sa, sb := fa.Stats(), fb.Stats()
	require.Positive(t, sa.MaxRunning, "A took jobs")
	assert.Zero(t, sa.Succeeded)
	assert.Zero(t, sa.Running, "jobs abandoned on A were cancelled there")
	for id, r := range states(t, dir) {
		assert.Equal(t, tailpatch.StateSucceeded, r.State, "job %s", id)
		assert.Equal(t, "B", r.Endpoint, "job %s", id)
		assert.Equal(t, 1, sb.Starts[id], "job %s", id)
		assert.LessOrEqual(t, sa.Starts[id], 1, "job %s", id)
	}
}

// TestMalformedEvaluation has A return malformed evaluations: each job is
// tried again on B and recorded from there. When every endpoint is bad the
// run fails with an error naming the job and the problem.
func TestMalformedEvaluation(t *testing.T) {
	// The ids of the suite, as a correct evaluation lists them.
	_, ref := fake(t, "ref", faketrainer.Config{})
	ev, err := ref.Trainer.Evaluate(t.Context(), "init", faketrainer.SuiteName, nil, true)
	require.NoError(t, err)
	ids := make([]string, len(ev.Examples))
	for i, e := range ev.Examples {
		ids[i] = e.ID
	}
	sameIDs := func(e *trainer.Evaluation) error {
		if len(e.Examples) != len(ids) {
			return fmt.Errorf("%d examples, want %d", len(e.Examples), len(ids))
		}
		for i, x := range e.Examples {
			if x.ID != ids[i] {
				return fmt.Errorf("example %d is %q, want %q", i, x.ID, ids[i])
			}
		}
		return nil
	}
	cases := []struct {
		name    string
		m       faketrainer.Malformation
		problem string
	}{
		{"wrong counts", faketrainer.WrongCounts, "disagree with its examples"},
		{"tie marked correct", faketrainer.TieCorrect, "ties are wrong"},
		{"missing example", faketrainer.MissingExample, fmt.Sprintf("%d examples, want %d", len(ids)-1, len(ids))},
		{"renamed example", faketrainer.RenamedExample, "-renamed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fa, a := fake(t, "A", faketrainer.Config{})
			fb, b := fake(t, "B", faketrainer.Config{})
			fa.SetFaults(faketrainer.Faults{Malform: tc.m})
			jobs := fakeJobs(4)
			dir := t.TempDir()
			require.NoError(t, schedule(t.Context(), t, dir, []tailpatch.Endpoint{a, b}, fastScheduler(), jobs, sameIDs))
			assert.Positive(t, fa.Calls("Evaluate"), "A was tried")
			for id, r := range states(t, dir) {
				assert.Equal(t, tailpatch.StateSucceeded, r.State, "job %s", id)
				assert.Equal(t, "B", r.Endpoint, "job %s is recorded from the endpoint that answered well", id)
				outs, err := ledger(t, dir).Outcomes(id)
				require.NoError(t, err)
				assert.Len(t, outs, len(ids))
			}
			assert.Equal(t, len(jobs), fb.Stats().Succeeded)

			// Every endpoint bad: a clear error.
			fb.SetFaults(faketrainer.Faults{Malform: tc.m})
			bad := fakeJobs(5)[4:]
			err := schedule(t.Context(), t, t.TempDir(), []tailpatch.Endpoint{a, b}, fastScheduler(), bad, sameIDs)
			require.Error(t, err)
			assert.ErrorContains(t, err, "patch chat_prefs seed 5")
			assert.ErrorContains(t, err, "malformed evaluation")
			assert.ErrorContains(t, err, tc.problem)
		})
	}
}

// TestInterrupt closes Stop while jobs run, under each on-interrupt policy,
// then resumes the run to the end.
func TestInterrupt(t *testing.T) {
	cases := []struct {
		policy tailpatch.Interrupt
		// check runs after the interrupted run; inflight are the jobs the
		// ledger had in flight when Run returned.
		check func(t *testing.T, f *faketrainer.Trainer, recs map[string]tailpatch.JobRecord)
	}{
		{tailpatch.Drain, func(t *testing.T, f *faketrainer.Trainer, recs map[string]tailpatch.JobRecord) {
			st := f.Stats()
			assert.Zero(t, st.Calls["CancelJob"])
			assert.Zero(t, st.Running, "drained: nothing runs on the trainer")
			for id, r := range recs {
				assert.NotEqual(t, tailpatch.StateSubmitted, r.State, "job %s: drained jobs are recorded as finished", id)
				if r.State == tailpatch.StatePlanned {
					assert.Zero(t, st.Starts[id], "job %s was never handed out", id)
				}
			}
		}},
		{tailpatch.Cancel, func(t *testing.T, f *faketrainer.Trainer, recs map[string]tailpatch.JobRecord) {
			// Jobs in flight were cancelled on the trainer and recorded as
			// cancelled, except those that had finished there and were being
			// evaluated: they are recorded as succeeded.
			st := f.Stats()
			var cancelled int
			for id, r := range recs {
				assert.NotEqual(t, tailpatch.StateSubmitted, r.State, "job %s: nothing is left in flight", id)
				if r.State == tailpatch.StateCancelled {
					cancelled++
					assert.Equal(t, "JOB_STATE_CANCELLED", f.JobState(id).String(), "job %s was cancelled on the trainer", id)
				}
			}
			assert.Positive(t, cancelled)
			assert.GreaterOrEqual(t, st.Calls["CancelJob"], cancelled)
			assert.Zero(t, st.Running)
		}},
		{tailpatch.Detach, func(t *testing.T, f *faketrainer.Trainer, recs map[string]tailpatch.JobRecord) {
			assert.Zero(t, f.Calls("CancelJob"))
			var inflight int
			for _, r := range recs {
				if r.State == tailpatch.StateSubmitted {
					inflight++
				}
			}
			assert.Positive(t, inflight)
		}},
	}
	for _, tc := range cases {
		t.Run(string(tc.policy), func(t *testing.T) {
			f, a := fake(t, "A", faketrainer.Config{EventDelay: 30 * time.Millisecond})
			dir := t.TempDir()
			jobs := fakeJobs(12)
			stop := make(chan struct{})
			cfg := fastScheduler()
			cfg.OnInterrupt, cfg.Stop = tc.policy, stop
			done := make(chan error, 1)
			go func() { done <- schedule(t.Context(), t, dir, []tailpatch.Endpoint{a}, cfg, jobs, nil) }()
			// The first wave (four jobs, the fake's limit) has finished and
			// the second has just started.
			waitFor(t, "the second wave of jobs", func() bool { st := f.Stats(); return st.Succeeded >= 4 && st.Running >= 2 })
			close(stop)
			err := <-done
			require.ErrorIs(t, err, tailpatch.ErrInterrupted)
			recs := states(t, dir)
			for id, r := range recs {
				if r.State == tailpatch.StateSucceeded {
					outs, err := ledger(t, dir).Outcomes(id)
					require.NoError(t, err)
					assert.NotEmpty(t, outs, "job %s: a finished job has its outcomes", id)
				}
			}
			tc.check(t, f, recs)

			// The run resumes to the end without running a finished job again.
			finished := f.Stats().Succeeded
			require.NoError(t, schedule(t.Context(), t, dir, []tailpatch.Endpoint{a}, fastScheduler(), jobs, nil))
			for id, r := range states(t, dir) {
				assert.Equal(t, tailpatch.StateSucceeded, r.State, "job %s", id)
				if recs[id].State == tailpatch.StateSucceeded {
					assert.Equal(t, 1, f.Starts(id), "job %s finished before the stop and was not run again", id)
				}
			}
			assert.LessOrEqual(t, f.Stats().Succeeded-finished, len(jobs)-finished)
		})
	}
}

// TestConcurrencyLimits runs on two endpoints with different limits: the
// driver reads them from Describe and never has more jobs outstanding on
// an endpoint than its limit. The fakes share checkpoint storage, so the
// base trained on one is a valid start on the other.
func TestConcurrencyLimits(t *testing.T) {
	store := faketrainer.NewStore()
	fa, a := fake(t, "A", faketrainer.Config{MaxConcurrentJobs: 2, EventDelay: 20 * time.Millisecond, Store: store})
	fb, b := fake(t, "B", faketrainer.Config{MaxConcurrentJobs: 3, EventDelay: 20 * time.Millisecond, Store: store})
	cfg := smallConfig()
	cfg.Seeds = []uint64{1, 2, 3}
	_, err := tailpatch.Run(t.Context(), cfg, tailpatch.RunOptions{Dir: t.TempDir(), Endpoints: []tailpatch.Endpoint{a, b}, Scheduler: fastScheduler()})
	require.NoError(t, err)
	sa, sb := fa.Stats(), fb.Stats()
	assert.Equal(t, 2, sa.MaxActive, "A: at most its limit outstanding, and the limit used")
	assert.Equal(t, 3, sb.MaxActive, "B: at most its limit outstanding, and the limit used")
	assert.Equal(t, 1+15, sa.Succeeded+sb.Succeeded, "the base and 15 patches ran once each")
}

// TestTrainerRestart kills the only trainer while it runs eight jobs and
// brings it back on the same address, as a trainer that restarts on its
// state directory: the crash counts as one failure of the endpoint, not
// eight, so the driver keeps it, re-attaches, and the run completes there.
func TestTrainerRestart(t *testing.T) {
	f := faketrainer.Serve(t, faketrainer.Config{MaxConcurrentJobs: 8, EventDelay: 5 * time.Millisecond})
	// gRPC waits a second or more before it redials an endpoint that went
	// away; a short connect backoff keeps the test fast.
	c, err := trainer.Dial(f.Addr(), grpc.WithConnectParams(grpc.ConnectParams{
		Backoff: backoff.Config{BaseDelay: 5 * time.Millisecond, Multiplier: 1.6, MaxDelay: 20 * time.Millisecond}, MinConnectTimeout: time.Second,
	}))
	require.NoError(t, err)
	defer c.Close()
	a := tailpatch.Endpoint{Name: "A", Trainer: c}
	f.SetFaults(faketrainer.Faults{DieAfterEvents: 4})
	go func() {
		for !f.Stats().Down {
			time.Sleep(time.Millisecond)
		}
		time.Sleep(50 * time.Millisecond)
		_, err := f.Start()
		assert.NoError(t, err)
	}()
	dir := t.TempDir()
	cfg := fastScheduler()
	cfg.Backoff.Attempts = 3 // the jobs in flight give up on A before it is back
	cfg.Cooldown = 50 * time.Millisecond
	_, err = tailpatch.Run(t.Context(), initConfig(), tailpatch.RunOptions{Dir: dir, Endpoints: []tailpatch.Endpoint{a}, Scheduler: cfg})
	require.NoError(t, err)
	st := f.Stats()
	restarted := 0
	for id, r := range states(t, dir) {
		assert.Equal(t, tailpatch.StateSucceeded, r.State, "job %s", id)
		if r.Kind == tailpatch.KindBase {
			continue
		}
		if st.Starts[id] == 2 {
			restarted++ // interrupted by the kill, started over by the trainer
		} else {
			assert.Equal(t, 1, st.Starts[id], "job %s", id)
		}
	}
	assert.Positive(t, restarted)
}

// TestDescribeRetried fails Describe a few times: Run retries it.
// TestUnreachableEndpointIsSkipped starts a run with one endpoint that is
// down: the run goes ahead on the others.
func TestUnreachableEndpointIsSkipped(t *testing.T) {
	_, live := fake(t, "live", faketrainer.Config{})
	dead, err := trainer.Dial("127.0.0.1:1")
	require.NoError(t, err)
	defer dead.Close()
	sum, err := tailpatch.Run(t.Context(), initConfig(), tailpatch.RunOptions{
		Dir: t.TempDir(), Endpoints: []tailpatch.Endpoint{{Name: "dead", Trainer: dead}, live}, Scheduler: fastScheduler(),
	})
	require.NoError(t, err)
	assert.Equal(t, sum.Jobs, sum.Ran)

	_, err = tailpatch.Run(t.Context(), initConfig(), tailpatch.RunOptions{
		Dir: t.TempDir(), Endpoints: []tailpatch.Endpoint{{Name: "dead", Trainer: dead}}, Scheduler: fastScheduler(),
	})
	require.Error(t, err)
	assert.ErrorContains(t, err, "no trainer reachable")
	assert.ErrorContains(t, err, "dead")
}

func TestDescribeRetried(t *testing.T) {
	f, a := fake(t, "A", faketrainer.Config{})
	f.FailNext("Describe", 3, codes.Unavailable)
	_, err := tailpatch.Run(t.Context(), initConfig(), tailpatch.RunOptions{Dir: t.TempDir(), Endpoints: []tailpatch.Endpoint{a}, Scheduler: fastScheduler()})
	require.NoError(t, err)
	assert.Equal(t, 4, f.Calls("Describe"))
}
