package reftrainer_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mixopt/mixopt/dataset"
	"github.com/mixopt/mixopt/internal/testenv"
	trainerv1 "github.com/mixopt/mixopt/proto/mixopt/trainer/v1"
	"github.com/mixopt/mixopt/reftrainer"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
)

const hh = "hh_rlhf_harmless_base"

// miniData builds a data directory from real files: HH-RLHF harmless-base,
// the same pairs with chosen and rejected swapped (a dataset of its own), and
// the XSTest target subsets.
func miniData(t *testing.T) string {
	t.Helper()
	src := testenv.DataDir(t)
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "train", "pairwise"), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "target"), 0o755))
	orig, err := os.ReadFile(filepath.Join(src, "train", "pairwise", hh+".jsonl"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "train", "pairwise", hh+".jsonl"), orig, 0o644))

	var flipped bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(orig))
	sc.Buffer(nil, 1<<26)
	for sc.Scan() {
		var row map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &row))
		row["chosen"], row["rejected"] = row["rejected"], row["chosen"]
		row["dataset"] = hh + "_flipped"
		line, err := json.Marshal(row)
		require.NoError(t, err)
		flipped.Write(append(line, '\n'))
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "train", "pairwise", hh+"_flipped.jsonl"), flipped.Bytes(), 0o644))

	xs, err := os.ReadFile(filepath.Join(src, "target", "xstest.jsonl"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "target", "xstest.jsonl"), xs, 0o644))
	return dir
}

// serve starts a reference trainer on an in-memory listener and returns a
// client for it.
func serve(t *testing.T, cfg reftrainer.Config) (trainerv1.TrainerServiceClient, *reftrainer.Service) {
	t.Helper()
	svc, err := reftrainer.New(cfg)
	require.NoError(t, err)
	lis := bufconn.Listen(1 << 20)
	srv, _ := reftrainer.NewGRPCServer(svc)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(func() { srv.Stop(); svc.Close() })
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	return trainerv1.NewTrainerServiceClient(conn), svc
}

func spec(task string, steps int64, seed uint64) *trainerv1.JobSpec {
	return &trainerv1.JobSpec{
		BaseCheckpoint: "init",
		Mixture:        []*trainerv1.MixtureComponent{{Task: task, Weight: 1}},
		Steps:          steps, BatchSize: 16, LearningRate: 0.01, Seed: seed,
		Eval: &trainerv1.EvalSpec{Suite: "rewardbench", EverySteps: steps / 4},
	}
}

// runJob submits a job and watches it to the end, returning its events.
func runJob(t *testing.T, c trainerv1.TrainerServiceClient, id string, sp *trainerv1.JobSpec) []*trainerv1.WatchJobResponse {
	t.Helper()
	ctx := t.Context()
	_, err := c.SubmitJob(ctx, &trainerv1.SubmitJobRequest{JobId: id, Spec: sp})
	require.NoError(t, err)
	return watch(t, c, id, 0)
}

func watch(t *testing.T, c trainerv1.TrainerServiceClient, id string, after uint64) []*trainerv1.WatchJobResponse {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	stream, err := c.WatchJob(ctx, &trainerv1.WatchJobRequest{JobId: id, AfterSeq: after})
	require.NoError(t, err)
	var evs []*trainerv1.WatchJobResponse
	for {
		ev, err := stream.Recv()
		if err != nil {
			require.ErrorContains(t, err, "EOF")
			return evs
		}
		evs = append(evs, ev)
	}
}

func accuracy(t *testing.T, c trainerv1.TrainerServiceClient, ckpt, suite, subset string) float64 {
	t.Helper()
	resp, err := c.Evaluate(t.Context(), &trainerv1.EvaluateRequest{CheckpointId: ckpt, Suite: suite})
	require.NoError(t, err)
	for _, s := range resp.Subsets {
		if s.Subset == subset {
			return float64(s.Correct) / float64(s.Total)
		}
	}
	t.Fatalf("suite %s has no subset %s", suite, subset)
	return 0
}

func checkpointOf(t *testing.T, evs []*trainerv1.WatchJobResponse) string {
	t.Helper()
	require.NotEmpty(t, evs)
	last := evs[len(evs)-1]
	require.Equal(t, trainerv1.JobState_JOB_STATE_SUCCEEDED, last.State, "last event %v", last)
	return last.GetResult().GetCheckpointId()
}

// TestLearnsRealPreferences is the learning check: a short job on real
// HH-RLHF pairs beats chance on its held-out slice and on XSTest
// should-refuse, and the same job on swapped labels falls below chance on
// both. (The untrained model ties every pair, and ties are wrong, so beating
// the untrained model alone would prove nothing.)
func TestLearnsRealPreferences(t *testing.T) {
	c, _ := serve(t, reftrainer.Config{DataDir: miniData(t), StateDir: t.TempDir()})
	ckpt := checkpointOf(t, runJob(t, c, "learn", spec(hh, 200, 1)))
	flipped := checkpointOf(t, runJob(t, c, "learn-flipped", spec(hh+"_flipped", 200, 1)))

	heldout := accuracy(t, c, ckpt, "heldout/"+hh, hh)
	refuse := accuracy(t, c, ckpt, "rewardbench", "xstest-should-refuse")
	t.Logf("trained: held-out %.3f, xstest-should-refuse %.3f", heldout, refuse)
	assert.Greater(t, heldout, 0.5)
	assert.Greater(t, refuse, 0.5)

	fHeldout := accuracy(t, c, flipped, "heldout/"+hh, hh)
	fRefuse := accuracy(t, c, flipped, "rewardbench", "xstest-should-refuse")
	t.Logf("flipped: held-out %.3f, xstest-should-refuse %.3f", fHeldout, fRefuse)
	assert.Less(t, fHeldout, 0.5)
	assert.Less(t, fRefuse, 0.5)

	untrained := accuracy(t, c, "init", "rewardbench", "xstest-should-refuse")
	assert.Zero(t, untrained, "an untrained model ties every pair, and ties are wrong")
}

func TestDeterministicCheckpoints(t *testing.T) {
	data := miniData(t)
	stateA, stateB := t.TempDir(), t.TempDir()
	a, _ := serve(t, reftrainer.Config{DataDir: data, StateDir: stateA})
	b, _ := serve(t, reftrainer.Config{DataDir: data, StateDir: stateB})
	sp := spec(hh, 60, 7)
	idA := checkpointOf(t, runJob(t, a, "one", sp))
	idA2 := checkpointOf(t, runJob(t, a, "two", sp))
	idB := checkpointOf(t, runJob(t, b, "three", sp))
	assert.Equal(t, idA, idA2)
	assert.Equal(t, idA, idB)
	bytesA, err := os.ReadFile(filepath.Join(stateA, "checkpoints", idA+".ckpt"))
	require.NoError(t, err)
	bytesB, err := os.ReadFile(filepath.Join(stateB, "checkpoints", idB+".ckpt"))
	require.NoError(t, err)
	assert.True(t, bytes.Equal(bytesA, bytesB), "identical specs on two trainers must give byte-identical checkpoints")

	other := checkpointOf(t, runJob(t, a, "other-seed", spec(hh, 60, 8)))
	assert.NotEqual(t, idA, other, "a different seed samples different batches")
}

func TestSubmitIsIdempotent(t *testing.T) {
	c, _ := serve(t, reftrainer.Config{DataDir: miniData(t), StateDir: t.TempDir()})
	ctx := t.Context()
	sp := spec(hh, 20, 1)
	first, err := c.SubmitJob(ctx, &trainerv1.SubmitJobRequest{JobId: "job-1", Spec: sp})
	require.NoError(t, err)
	assert.True(t, first.Created)
	again, err := c.SubmitJob(ctx, &trainerv1.SubmitJobRequest{JobId: "job-1", Spec: sp})
	require.NoError(t, err)
	assert.False(t, again.Created)
	assert.Equal(t, "job-1", again.Job.JobId)

	_, err = c.SubmitJob(ctx, &trainerv1.SubmitJobRequest{JobId: "job-1", Spec: spec(hh, 21, 1)})
	assert.Equal(t, codes.AlreadyExists, status.Code(err))
	watch(t, c, "job-1", 0)
	done, err := c.SubmitJob(ctx, &trainerv1.SubmitJobRequest{JobId: "job-1", Spec: sp})
	require.NoError(t, err)
	assert.False(t, done.Created)
	assert.Equal(t, trainerv1.JobState_JOB_STATE_SUCCEEDED, done.Job.State)
	assert.NotEmpty(t, done.Job.CheckpointId)
}

func TestWatchReattach(t *testing.T) {
	c, _ := serve(t, reftrainer.Config{DataDir: miniData(t), StateDir: t.TempDir()})
	all := runJob(t, c, "w", spec(hh, 40, 1))
	for i, ev := range all {
		assert.Equal(t, uint64(i+1), ev.Seq, "events are numbered from 1 without gaps")
	}
	var evals int
	for _, ev := range all {
		if ev.GetEvaluation() != nil {
			evals++
		}
	}
	assert.Equal(t, 4, evals, "every_steps=10 over 40 steps evaluates at 10, 20, 30, 40")

	// A client that processed up to seq k re-attaches and gets the rest.
	k := uint64(len(all) / 2)
	rest := watch(t, c, "w", k)
	require.Len(t, rest, len(all)-int(k))
	for i, ev := range rest {
		assert.Equal(t, all[int(k)+i].Seq, ev.Seq)
		assert.Equal(t, all[int(k)+i].State, ev.State)
	}
	assert.Empty(t, watch(t, c, "w", uint64(len(all))))
}

func TestErrorsNameTheField(t *testing.T) {
	c, _ := serve(t, reftrainer.Config{DataDir: miniData(t), StateDir: t.TempDir()})
	ctx := t.Context()
	mod := func(f func(*trainerv1.JobSpec)) *trainerv1.JobSpec {
		sp := spec(hh, 10, 1)
		f(sp)
		return sp
	}
	cases := []struct {
		name  string
		id    string
		spec  *trainerv1.JobSpec
		code  codes.Code
		field string
	}{
		{"bad job id", "../escape", spec(hh, 10, 1), codes.InvalidArgument, "job_id"},
		{"no spec", "x", nil, codes.InvalidArgument, "spec"},
		{"unknown task", "x", mod(func(s *trainerv1.JobSpec) { s.Mixture[0].Task = "nope" }), codes.NotFound, "spec.mixture[0].task"},
		{"zero weight", "x", mod(func(s *trainerv1.JobSpec) { s.Mixture[0].Weight = 0 }), codes.InvalidArgument, "spec.mixture[0].weight"},
		{"hash mismatch", "x", mod(func(s *trainerv1.JobSpec) { s.Mixture[0].ExpectedContentHash = "sha256:00" }), codes.FailedPrecondition, "expected_content_hash"},
		{"unknown checkpoint", "x", mod(func(s *trainerv1.JobSpec) { s.BaseCheckpoint = "ck-0123456789abcdef0123456789abcdef" }), codes.NotFound, "spec.base_checkpoint"},
		{"path checkpoint", "x", mod(func(s *trainerv1.JobSpec) { s.BaseCheckpoint = "../../etc/passwd" }), codes.InvalidArgument, "spec.base_checkpoint"},
		{"no steps", "x", mod(func(s *trainerv1.JobSpec) { s.Steps = 0 }), codes.InvalidArgument, "spec.steps"},
		{"bad batch", "x", mod(func(s *trainerv1.JobSpec) { s.BatchSize = -1 }), codes.InvalidArgument, "spec.batch_size"},
		{"bad lr", "x", mod(func(s *trainerv1.JobSpec) { s.LearningRate = 0 }), codes.InvalidArgument, "spec.learning_rate"},
		{"unknown suite", "x", mod(func(s *trainerv1.JobSpec) { s.Eval.Suite = "nope" }), codes.NotFound, "spec.eval.suite"},
		{"unknown example", "x", mod(func(s *trainerv1.JobSpec) { s.Eval.ExampleIds = []string{"nope"} }), codes.NotFound, "spec.eval.example_ids"},
		{"duplicate task", "x", mod(func(s *trainerv1.JobSpec) { s.Mixture = append(s.Mixture, s.Mixture[0]) }), codes.InvalidArgument, "spec.mixture[1].task"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.SubmitJob(ctx, &trainerv1.SubmitJobRequest{JobId: tc.id, Spec: tc.spec})
			assert.Equal(t, tc.code, status.Code(err), "error: %v", err)
			assert.Contains(t, status.Convert(err).Message(), tc.field)
		})
	}

	_, err := c.Evaluate(ctx, &trainerv1.EvaluateRequest{CheckpointId: "ck-0123456789abcdef0123456789abcdef", Suite: "rewardbench"})
	assert.Equal(t, codes.NotFound, status.Code(err))
	_, err = c.Evaluate(ctx, &trainerv1.EvaluateRequest{CheckpointId: "init", Suite: "nope"})
	assert.Equal(t, codes.NotFound, status.Code(err))
	_, err = c.GetJob(ctx, &trainerv1.GetJobRequest{JobId: "nope"})
	assert.Equal(t, codes.NotFound, status.Code(err))
	_, err = c.CancelJob(ctx, &trainerv1.CancelJobRequest{})
	assert.Equal(t, codes.InvalidArgument, status.Code(err))
}

func TestEvaluateExamplesAndRestriction(t *testing.T) {
	c, _ := serve(t, reftrainer.Config{DataDir: miniData(t), StateDir: t.TempDir()})
	ckpt := checkpointOf(t, runJob(t, c, "e", spec(hh, 40, 1)))
	full, err := c.Evaluate(t.Context(), &trainerv1.EvaluateRequest{CheckpointId: ckpt, Suite: "rewardbench", IncludeExamples: true})
	require.NoError(t, err)
	require.Len(t, full.Examples, 131+161)
	var correct int64
	for _, e := range full.Examples {
		assert.Equal(t, e.ChosenScore > e.RejectedScore, e.Correct, "correct iff chosen outscores rejected")
		if e.Correct {
			correct++
		}
	}
	var sum int64
	for _, s := range full.Subsets {
		sum += s.Correct
	}
	assert.Equal(t, correct, sum)

	ids := []string{full.Examples[3].ExampleId, full.Examples[0].ExampleId}
	part, err := c.Evaluate(t.Context(), &trainerv1.EvaluateRequest{CheckpointId: ckpt, Suite: "rewardbench", ExampleIds: ids, IncludeExamples: true})
	require.NoError(t, err)
	require.Len(t, part.Examples, 2)
	assert.Equal(t, full.Examples[0], part.Examples[0], "restricted results come in suite order")
	assert.Equal(t, full.Examples[3], part.Examples[1])
}

func TestCancel(t *testing.T) {
	c, _ := serve(t, reftrainer.Config{DataDir: miniData(t), StateDir: t.TempDir(), MaxConcurrentJobs: 1})
	ctx := t.Context()
	// A long job occupies the only slot; the second is queued and cancelled
	// there, the first is cancelled while running.
	_, err := c.SubmitJob(ctx, &trainerv1.SubmitJobRequest{JobId: "long", Spec: spec(hh, 1_000_000, 1)})
	require.NoError(t, err)
	_, err = c.SubmitJob(ctx, &trainerv1.SubmitJobRequest{JobId: "queued", Spec: spec(hh, 10, 1)})
	require.NoError(t, err)
	resp, err := c.CancelJob(ctx, &trainerv1.CancelJobRequest{JobId: "queued"})
	require.NoError(t, err)
	assert.Equal(t, trainerv1.JobState_JOB_STATE_CANCELLED, resp.Job.State)

	require.Eventually(t, func() bool {
		r, err := c.GetJob(ctx, &trainerv1.GetJobRequest{JobId: "long"})
		return err == nil && r.Job.State == trainerv1.JobState_JOB_STATE_RUNNING
	}, time.Minute, 10*time.Millisecond)
	_, err = c.CancelJob(ctx, &trainerv1.CancelJobRequest{JobId: "long"})
	require.NoError(t, err)
	evs := watch(t, c, "long", 0)
	last := evs[len(evs)-1]
	assert.Equal(t, trainerv1.JobState_JOB_STATE_CANCELLED, last.State)
	assert.Equal(t, "CANCELLED", last.GetFailure().GetCode())
}

// TestRestartResumesJobs stops a trainer with a job in flight and starts a
// new one on the same state directory: the job runs again to the same
// checkpoint a clean run gives, and its event log continues.
func TestRestartResumesJobs(t *testing.T) {
	data, state := miniData(t), t.TempDir()
	svc, err := reftrainer.New(reftrainer.Config{DataDir: data, StateDir: state, MaxConcurrentJobs: 1})
	require.NoError(t, err)
	ctx := t.Context()
	_, err = svc.SubmitJob(ctx, &trainerv1.SubmitJobRequest{JobId: "blocker", Spec: spec(hh, 1_000_000, 1)})
	require.NoError(t, err)
	_, err = svc.SubmitJob(ctx, &trainerv1.SubmitJobRequest{JobId: "survivor", Spec: spec(hh, 30, 3)})
	require.NoError(t, err)
	svc.Close()

	c, _ := serve(t, reftrainer.Config{DataDir: data, StateDir: state})
	_, err = c.CancelJob(ctx, &trainerv1.CancelJobRequest{JobId: "blocker"})
	require.NoError(t, err)
	evs := watch(t, c, "survivor", 0)
	resumed := checkpointOf(t, evs)
	var restarted bool
	for _, ev := range evs {
		if m := ev.GetStateChange().GetMessage(); m == "trainer restarted; job queued again" {
			restarted = true
		}
	}
	assert.True(t, restarted, "the event log records the restart")

	fresh, _ := serve(t, reftrainer.Config{DataDir: data, StateDir: t.TempDir()})
	assert.Equal(t, checkpointOf(t, runJob(t, fresh, "clean", spec(hh, 30, 3))), resumed)
}

// TestRealSocket serves the full real data directory over TCP and checks
// what an outside client sees: health, Describe listing every dataset with
// its example count, and a short job scored on XSTest should-refuse.
func TestRealSocket(t *testing.T) {
	dataDir := testenv.DataDir(t)
	svc, err := reftrainer.New(reftrainer.Config{DataDir: dataDir, StateDir: t.TempDir()})
	require.NoError(t, err)
	defer svc.Close()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv, _ := reftrainer.NewGRPCServer(svc)
	go func() { _ = srv.Serve(lis) }()
	defer srv.Stop()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	ctx := t.Context()

	h, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	require.NoError(t, err)
	assert.Equal(t, healthpb.HealthCheckResponse_SERVING, h.Status)

	c := trainerv1.NewTrainerServiceClient(conn)
	desc, err := c.Describe(ctx, &trainerv1.DescribeRequest{})
	require.NoError(t, err)
	col, err := dataset.LoadDir(dataDir, dataset.LoadOptions{})
	require.NoError(t, err)
	require.Len(t, desc.Datasets, len(col.Datasets))
	var total int64
	for i, d := range col.Datasets {
		assert.Equal(t, d.Name, desc.Datasets[i].Name)
		assert.Equal(t, int64(d.Len()), desc.Datasets[i].Examples)
		assert.Equal(t, d.ContentHash, desc.Datasets[i].ContentHash)
		assert.NotEmpty(t, desc.Datasets[i].Tasks)
		total += desc.Datasets[i].Examples
	}
	assert.Len(t, desc.Datasets, 18)
	assert.Equal(t, int64(25730), total)

	ckpt := checkpointOf(t, runJob(t, c, "tcp", spec(hh, 200, 1)))
	assert.Greater(t, accuracy(t, c, ckpt, "rewardbench", "xstest-should-refuse"), 0.5)
}
