// Package trainertest is the conformance suite of the Trainer gRPC API: Run
// checks that a trainer keeps the contract proto/mixopt/trainer/v1/
// trainer.proto documents, so that the reference trainer and every fake are
// held to the same rules (go-cloud's drivertest idea).
package trainertest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	trainerv1 "github.com/mixopt/mixopt/proto/mixopt/trainer/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// NewTrainer starts a fresh trainer for one check and returns a connection
// to it; the trainer is stopped when t ends.
type NewTrainer func(t *testing.T) grpc.ClientConnInterface

// Run runs every check, each on a trainer of its own.
func Run(t *testing.T, newTrainer NewTrainer) {
	checks := []struct {
		name string
		fn   func(t *testing.T, h *harness)
	}{
		{"Describe", testDescribe},
		{"Health", testHealth},
		{"SubmitIdempotent", testSubmitIdempotent},
		{"Watch", testWatch},
		{"Deterministic", testDeterministic},
		{"Cancel", testCancel},
		{"Evaluate", testEvaluate},
		{"Errors", testErrors},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			conn := newTrainer(t)
			h := &harness{conn: conn, c: trainerv1.NewTrainerServiceClient(conn)}
			desc, err := h.c.Describe(ctx(t), &trainerv1.DescribeRequest{})
			require.NoError(t, err, "Describe never fails on a healthy trainer")
			h.desc = desc
			c.fn(t, h)
		})
	}
}

type harness struct {
	conn grpc.ClientConnInterface
	c    trainerv1.TrainerServiceClient
	desc *trainerv1.DescribeResponse
}

// ctx bounds every call, so that a trainer that hangs fails the check
// instead of the whole test binary.
func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

// task returns a task with training examples.
func (h *harness) task(t *testing.T) *trainerv1.TaskInfo {
	for _, d := range h.desc.Datasets {
		for _, task := range d.Tasks {
			if task.TrainExamples > 0 {
				return task
			}
		}
	}
	t.Fatal("Describe lists no task with training examples")
	return nil
}

// suite returns the suite to evaluate on: "rewardbench" if the trainer has
// it, else its first suite.
func (h *harness) suite(t *testing.T) *trainerv1.EvalSuiteInfo {
	require.NotEmpty(t, h.desc.EvalSuites, "Describe lists no eval suite")
	for _, s := range h.desc.EvalSuites {
		if s.Name == "rewardbench" {
			return s
		}
	}
	return h.desc.EvalSuites[0]
}

// spec is a small job: a few steps on one task, evaluated twice.
func (h *harness) spec(t *testing.T, seed uint64) *trainerv1.JobSpec {
	task := h.task(t)
	return &trainerv1.JobSpec{
		BaseCheckpoint: "init",
		Mixture:        []*trainerv1.MixtureComponent{{Task: task.Name, Weight: 1, ExpectedContentHash: task.ContentHash}},
		Steps:          8, BatchSize: 4, LearningRate: 0.01, Seed: seed,
		Eval:    &trainerv1.EvalSpec{Suite: h.suite(t).Name, EverySteps: 4},
		Purpose: trainerv1.JobPurpose_JOB_PURPOSE_TAIL_PATCH,
	}
}

// watch reads a job's events after after until the stream ends, and fails
// unless it ends cleanly.
func (h *harness) watch(t *testing.T, id string, after uint64) []*trainerv1.WatchJobResponse {
	t.Helper()
	stream, err := h.c.WatchJob(ctx(t), &trainerv1.WatchJobRequest{JobId: id, AfterSeq: after})
	require.NoError(t, err)
	var evs []*trainerv1.WatchJobResponse
	for {
		ev, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return evs
		}
		require.NoError(t, err, "watch %s after %d", id, after)
		evs = append(evs, ev)
	}
}

// run submits a job and watches it to the end.
func (h *harness) run(t *testing.T, id string, spec *trainerv1.JobSpec) []*trainerv1.WatchJobResponse {
	t.Helper()
	resp, err := h.c.SubmitJob(ctx(t), &trainerv1.SubmitJobRequest{JobId: id, Spec: spec})
	require.NoError(t, err)
	require.True(t, resp.Created, "a new job id creates a job")
	return h.watch(t, id, 0)
}

func checkpointOf(t *testing.T, evs []*trainerv1.WatchJobResponse) string {
	t.Helper()
	require.NotEmpty(t, evs)
	last := evs[len(evs)-1]
	require.Equal(t, trainerv1.JobState_JOB_STATE_SUCCEEDED, last.State, "last event %v", last)
	require.NotEmpty(t, last.GetResult().GetCheckpointId(), "the result event names the checkpoint")
	return last.GetResult().GetCheckpointId()
}

func testDescribe(t *testing.T, h *harness) {
	d := h.desc
	assert.Equal(t, "mixopt.trainer.v1", d.ApiVersion)
	assert.NotEmpty(t, d.GetModel().GetName())
	assert.NotEmpty(t, d.GetModel().GetVersion())
	assert.GreaterOrEqual(t, d.GetLimits().GetMaxConcurrentJobs(), int32(1))

	require.NotEmpty(t, d.Datasets)
	var names, tasks []string
	for _, ds := range d.Datasets {
		names = append(names, ds.Name)
		assert.NotEqual(t, trainerv1.DatasetKind_DATASET_KIND_UNSPECIFIED, ds.Kind, "dataset %s", ds.Name)
		assert.Positive(t, ds.Examples, "dataset %s", ds.Name)
		assert.True(t, strings.HasPrefix(ds.ContentHash, "sha256:"), "dataset %s: content_hash %q is sha256:<hex>", ds.Name, ds.ContentHash)
		require.NotEmpty(t, ds.Tasks, "dataset %s yields no task", ds.Name)
		var own []string
		for _, task := range ds.Tasks {
			own = append(own, task.Name)
			tasks = append(tasks, task.Name)
			assert.Equal(t, ds.Name, task.Dataset, "task %s", task.Name)
			assert.NotEqual(t, trainerv1.Objective_OBJECTIVE_UNSPECIFIED, task.Objective, "task %s", task.Name)
			assert.NotEmpty(t, task.ContentHash, "task %s", task.Name)
			assert.LessOrEqual(t, task.TrainExamples, task.Examples, "task %s", task.Name)
		}
		assert.True(t, slices.IsSorted(own), "tasks of %s sorted by name: %v", ds.Name, own)
	}
	assert.True(t, slices.IsSorted(names), "datasets sorted by name: %v", names)
	slices.Sort(tasks)
	assert.Len(t, slices.Compact(slices.Clone(tasks)), len(tasks), "task names unique: %v", tasks)

	require.NotEmpty(t, d.EvalSuites)
	var suites []string
	for _, s := range d.EvalSuites {
		suites = append(suites, s.Name)
		require.NotEmpty(t, s.Subsets, "suite %s", s.Name)
		var sum int64
		for _, sub := range s.Subsets {
			assert.Positive(t, sub.Examples, "suite %s subset %s", s.Name, sub.Name)
			sum += sub.Examples
		}
		assert.Equal(t, s.Examples, sum, "suite %s: examples is the sum over its subsets", s.Name)
		assert.NotEmpty(t, s.ContentHash, "suite %s", s.Name)
	}
	assert.True(t, slices.IsSorted(suites), "eval suites sorted by name: %v", suites)
}

func testHealth(t *testing.T, h *harness) {
	hc := healthpb.NewHealthClient(h.conn)
	for _, svc := range []string{"", trainerv1.TrainerService_ServiceDesc.ServiceName} {
		resp, err := hc.Check(ctx(t), &healthpb.HealthCheckRequest{Service: svc})
		require.NoError(t, err, "health of %q", svc)
		assert.Equal(t, healthpb.HealthCheckResponse_SERVING, resp.Status, "health of %q", svc)
	}
}

func testSubmitIdempotent(t *testing.T, h *harness) {
	c, spec := h.c, h.spec(t, 1)
	first, err := c.SubmitJob(ctx(t), &trainerv1.SubmitJobRequest{JobId: "idem", Spec: spec})
	require.NoError(t, err)
	assert.True(t, first.Created)
	assert.Equal(t, "idem", first.Job.JobId)
	assert.True(t, proto.Equal(spec, first.Job.Spec), "the status carries the spec")

	again, err := c.SubmitJob(ctx(t), &trainerv1.SubmitJobRequest{JobId: "idem", Spec: spec})
	require.NoError(t, err)
	assert.False(t, again.Created, "the same id and spec find the existing job")
	assert.Equal(t, "idem", again.Job.JobId)

	other := proto.Clone(spec).(*trainerv1.JobSpec)
	other.Seed++
	_, err = c.SubmitJob(ctx(t), &trainerv1.SubmitJobRequest{JobId: "idem", Spec: other})
	assert.Equal(t, codes.AlreadyExists, status.Code(err), "a different spec under a taken id: %v", err)
	assert.Contains(t, status.Convert(err).Message(), "job_id")

	ckpt := checkpointOf(t, h.watch(t, "idem", 0))
	done, err := c.SubmitJob(ctx(t), &trainerv1.SubmitJobRequest{JobId: "idem", Spec: spec})
	require.NoError(t, err)
	assert.False(t, done.Created, "resubmitting a finished job is safe")
	assert.Equal(t, trainerv1.JobState_JOB_STATE_SUCCEEDED, done.Job.State)
	assert.Equal(t, ckpt, done.Job.CheckpointId)
}

func testWatch(t *testing.T, h *harness) {
	spec := h.spec(t, 2)
	all := h.run(t, "watch", spec)
	require.NotEmpty(t, all)
	var evals []*trainerv1.WatchJobResponse
	for i, ev := range all {
		assert.Equal(t, uint64(i+1), ev.Seq, "events are numbered from 1 without gaps")
		assert.Equal(t, "watch", ev.JobId)
		assert.NotNil(t, ev.Event, "event %d carries an event", ev.Seq)
		if i < len(all)-1 {
			assert.False(t, terminal(ev.State), "event %d: only the last event is terminal, got %v", ev.Seq, ev.State)
		}
		if i > 0 {
			assert.GreaterOrEqual(t, ev.Step, all[i-1].Step, "event %d: steps never go back within an attempt", ev.Seq)
		}
		if e := ev.GetEvaluation(); e != nil {
			assert.Equal(t, spec.Eval.Suite, e.Suite)
			evals = append(evals, ev)
		}
	}
	ckpt := checkpointOf(t, all)
	last := all[len(all)-1]
	assert.Equal(t, spec.Steps, last.Step, "the result comes after the last step")

	// every_steps=4 over 8 steps evaluates at 4 and 8.
	require.Len(t, evals, 2, "evaluations at every_steps and after the last step")
	assert.Equal(t, int64(4), evals[0].Step)
	assert.Equal(t, spec.Steps, evals[1].Step)
	final, err := h.c.Evaluate(ctx(t), &trainerv1.EvaluateRequest{CheckpointId: ckpt, Suite: spec.Eval.Suite})
	require.NoError(t, err)
	assert.True(t, equalCounts(final.Subsets, evals[1].GetEvaluation().Subsets),
		"the final evaluation event scores the final checkpoint: event %v, Evaluate %v", evals[1].GetEvaluation().Subsets, final.Subsets)

	st, err := h.c.GetJob(ctx(t), &trainerv1.GetJobRequest{JobId: "watch"})
	require.NoError(t, err)
	assert.Equal(t, trainerv1.JobState_JOB_STATE_SUCCEEDED, st.Job.State)
	assert.Equal(t, ckpt, st.Job.CheckpointId)
	assert.Equal(t, last.Seq, st.Job.LastSeq)
	assert.Equal(t, spec.Steps, st.Job.Step)
	assert.GreaterOrEqual(t, st.Job.Attempts, int32(1))

	// A client that processed up to seq k re-attaches and gets exactly the
	// rest; one that saw everything gets an empty stream that ends.
	for _, k := range []uint64{0, 1, last.Seq / 2, last.Seq - 1, last.Seq} {
		rest := h.watch(t, "watch", k)
		require.Len(t, rest, len(all)-int(k), "watch after %d", k)
		for i, ev := range rest {
			assert.True(t, proto.Equal(all[int(k)+i], ev), "replay after %d: event %d differs", k, ev.Seq)
		}
	}
}

func testDeterministic(t *testing.T, h *harness) {
	spec := h.spec(t, 3)
	a := checkpointOf(t, h.run(t, "det-a", spec))
	b := checkpointOf(t, h.run(t, "det-b", spec))
	assert.Equal(t, a, b, "the same spec under another job id gives the same checkpoint")
	other := proto.Clone(spec).(*trainerv1.JobSpec)
	other.Seed++
	assert.NotEqual(t, a, checkpointOf(t, h.run(t, "det-c", other)), "another seed gives another checkpoint")
}

func testCancel(t *testing.T, h *harness) {
	// A long job: cancelled while queued or running on a real trainer; a
	// fake may have finished it already, which CancelJob must report.
	spec := h.spec(t, 4)
	spec.Eval = nil
	spec.Steps = 1_000_000
	if m := h.desc.GetLimits().GetMaxSteps(); m > 0 {
		spec.Steps = min(spec.Steps, m)
	}
	_, err := h.c.SubmitJob(ctx(t), &trainerv1.SubmitJobRequest{JobId: "cancel", Spec: spec})
	require.NoError(t, err)
	first, err := h.c.CancelJob(ctx(t), &trainerv1.CancelJobRequest{JobId: "cancel"})
	require.NoError(t, err)
	evs := h.watch(t, "cancel", 0)
	require.NotEmpty(t, evs)
	last := evs[len(evs)-1]
	require.True(t, terminal(last.State), "the watch ends after a terminal event, got %v", last.State)
	if last.State == trainerv1.JobState_JOB_STATE_CANCELLED {
		assert.Equal(t, "CANCELLED", last.GetFailure().GetCode())
	} else {
		assert.Equal(t, trainerv1.JobState_JOB_STATE_SUCCEEDED, last.State, "a job that was not cancelled had finished")
	}
	if terminal(first.Job.State) {
		assert.Equal(t, last.State, first.Job.State, "CancelJob reports the state the job ends in")
	}
	again, err := h.c.CancelJob(ctx(t), &trainerv1.CancelJobRequest{JobId: "cancel"})
	require.NoError(t, err, "CancelJob is idempotent")
	assert.Equal(t, last.State, again.Job.State)
	assert.Equal(t, last.Seq, again.Job.LastSeq, "cancelling a stopped job adds no event")
	st, err := h.c.GetJob(ctx(t), &trainerv1.GetJobRequest{JobId: "cancel"})
	require.NoError(t, err)
	assert.Equal(t, last.State, st.Job.State)

	// A finished job stays finished.
	ckpt := checkpointOf(t, h.run(t, "cancel-done", h.spec(t, 5)))
	done, err := h.c.CancelJob(ctx(t), &trainerv1.CancelJobRequest{JobId: "cancel-done"})
	require.NoError(t, err)
	assert.Equal(t, trainerv1.JobState_JOB_STATE_SUCCEEDED, done.Job.State)
	assert.Equal(t, ckpt, done.Job.CheckpointId)
}

func testEvaluate(t *testing.T, h *harness) {
	suite := h.suite(t)
	ckpt := checkpointOf(t, h.run(t, "eval", h.spec(t, 6)))
	var order []string // example ids in suite order
	for _, cp := range []string{"init", ckpt} {
		full, err := h.c.Evaluate(ctx(t), &trainerv1.EvaluateRequest{CheckpointId: cp, Suite: suite.Name, IncludeExamples: true})
		require.NoError(t, err, "checkpoint %s", cp)
		assert.Equal(t, cp, full.CheckpointId)
		assert.Equal(t, suite.Name, full.Suite)
		require.Len(t, full.Examples, int(suite.Examples), "checkpoint %s: one outcome per example", cp)

		// Subsets come in suite order with their sections; counts are the
		// tallies of the outcomes, and ties are wrong. Examples come in
		// suite order (which need not group them by subset): the same order
		// for every checkpoint.
		sections := map[string]string{}
		for _, s := range suite.Subsets {
			sections[s.Name] = s.Section
		}
		tally := map[string][2]int64{}
		var ids []string
		for _, e := range full.Examples {
			assert.Equal(t, e.ChosenScore > e.RejectedScore, e.Correct, "example %s: correct iff chosen outscores rejected (ties are wrong): %v vs %v", e.ExampleId, e.ChosenScore, e.RejectedScore)
			_, ok := sections[e.Subset]
			require.True(t, ok, "example %s: subset %q not in Describe", e.ExampleId, e.Subset)
			ids = append(ids, e.ExampleId)
			c := tally[e.Subset]
			c[1]++
			if e.Correct {
				c[0]++
			}
			tally[e.Subset] = c
		}
		if order == nil {
			order = ids
			unique := slices.Compact(slices.Sorted(slices.Values(ids)))
			assert.Len(t, unique, len(ids), "every example is listed once")
		} else {
			assert.Equal(t, order, ids, "examples come in the same (suite) order for every checkpoint")
		}
		require.Len(t, full.Subsets, len(suite.Subsets))
		for i, s := range full.Subsets {
			assert.Equal(t, suite.Subsets[i].Name, s.Subset, "subsets in suite order")
			assert.Equal(t, sections[s.Subset], s.Section)
			assert.Equal(t, suite.Subsets[i].Examples, s.Total)
			assert.Equal(t, tally[s.Subset], [2]int64{s.Correct, s.Total}, "subset %s counts match its outcomes", s.Subset)
		}

		counts, err := h.c.Evaluate(ctx(t), &trainerv1.EvaluateRequest{CheckpointId: cp, Suite: suite.Name})
		require.NoError(t, err)
		assert.Empty(t, counts.Examples, "no outcomes unless asked for")
		assert.True(t, equalCounts(full.Subsets, counts.Subsets), "counts do not depend on include_examples")

		// A restriction scores just those examples, in suite order, as the
		// full evaluation did; subsets without a scored example are left out.
		n := len(full.Examples)
		pick := []*trainerv1.ExampleOutcome{full.Examples[n-1], full.Examples[0], full.Examples[n/2]}
		part, err := h.c.Evaluate(ctx(t), &trainerv1.EvaluateRequest{CheckpointId: cp, Suite: suite.Name,
			ExampleIds: []string{pick[0].ExampleId, pick[1].ExampleId, pick[2].ExampleId}, IncludeExamples: true})
		require.NoError(t, err)
		require.Len(t, part.Examples, 3)
		for i, want := range []*trainerv1.ExampleOutcome{pick[1], pick[2], pick[0]} {
			assert.True(t, proto.Equal(want, part.Examples[i]), "restricted outcome %d: got %v, want %v", i, part.Examples[i], want)
		}
		var total int64
		for _, s := range part.Subsets {
			assert.Positive(t, s.Total, "subset %s has no scored example and should be omitted", s.Subset)
			total += s.Total
		}
		assert.Equal(t, int64(3), total)
	}
}

func testErrors(t *testing.T, h *harness) {
	mod := func(f func(*trainerv1.JobSpec)) *trainerv1.JobSpec {
		s := h.spec(t, 7)
		f(s)
		return s
	}
	submit := []struct {
		name  string
		id    string
		spec  *trainerv1.JobSpec
		code  codes.Code
		field string
	}{
		{"empty job id", "", h.spec(t, 7), codes.InvalidArgument, "job_id"},
		{"bad job id", "../escape", h.spec(t, 7), codes.InvalidArgument, "job_id"},
		{"no spec", "x", nil, codes.InvalidArgument, "spec"},
		{"no base", "x", mod(func(s *trainerv1.JobSpec) { s.BaseCheckpoint = "" }), codes.InvalidArgument, "spec.base_checkpoint"},
		{"unknown base", "x", mod(func(s *trainerv1.JobSpec) { s.BaseCheckpoint = "ck-0123456789abcdef0123456789abcdef" }), codes.NotFound, "spec.base_checkpoint"},
		{"no mixture", "x", mod(func(s *trainerv1.JobSpec) { s.Mixture = nil }), codes.InvalidArgument, "spec.mixture"},
		{"unknown task", "x", mod(func(s *trainerv1.JobSpec) { s.Mixture[0].Task = "no-such-task" }), codes.NotFound, "spec.mixture[0].task"},
		{"duplicate task", "x", mod(func(s *trainerv1.JobSpec) { s.Mixture = append(s.Mixture, s.Mixture[0]) }), codes.InvalidArgument, "spec.mixture[1].task"},
		{"zero weight", "x", mod(func(s *trainerv1.JobSpec) { s.Mixture[0].Weight = 0 }), codes.InvalidArgument, "spec.mixture[0].weight"},
		{"hash mismatch", "x", mod(func(s *trainerv1.JobSpec) { s.Mixture[0].ExpectedContentHash = "sha256:00" }), codes.FailedPrecondition, "spec.mixture[0].expected_content_hash"},
		{"no steps", "x", mod(func(s *trainerv1.JobSpec) { s.Steps = 0 }), codes.InvalidArgument, "spec.steps"},
		{"bad batch", "x", mod(func(s *trainerv1.JobSpec) { s.BatchSize = -1 }), codes.InvalidArgument, "spec.batch_size"},
		{"bad learning rate", "x", mod(func(s *trainerv1.JobSpec) { s.LearningRate = 0 }), codes.InvalidArgument, "spec.learning_rate"},
		{"unknown suite", "x", mod(func(s *trainerv1.JobSpec) { s.Eval.Suite = "no-such-suite" }), codes.NotFound, "spec.eval.suite"},
		{"unknown example", "x", mod(func(s *trainerv1.JobSpec) { s.Eval.ExampleIds = []string{"no-such-example"} }), codes.NotFound, "spec.eval.example_ids"},
	}
	for _, tc := range submit {
		t.Run("SubmitJob/"+tc.name, func(t *testing.T) {
			_, err := h.c.SubmitJob(ctx(t), &trainerv1.SubmitJobRequest{JobId: tc.id, Spec: tc.spec})
			assert.Equal(t, tc.code, status.Code(err), "error: %v", err)
			assert.Contains(t, status.Convert(err).Message(), tc.field, "the message names the field")
		})
	}
	_, err := h.c.GetJob(ctx(t), &trainerv1.GetJobRequest{JobId: "x"})
	assert.Equal(t, codes.NotFound, status.Code(err), "a rejected job is not created: %v", err)

	suite := h.suite(t).Name
	calls := []struct {
		name  string
		call  func() error
		code  codes.Code
		field string
	}{
		{"GetJob/empty", func() error { _, err := h.c.GetJob(ctx(t), &trainerv1.GetJobRequest{}); return err }, codes.InvalidArgument, "job_id"},
		{"GetJob/unknown", func() error {
			_, err := h.c.GetJob(ctx(t), &trainerv1.GetJobRequest{JobId: "no-such-job"})
			return err
		}, codes.NotFound, "no-such-job"},
		{"CancelJob/empty", func() error { _, err := h.c.CancelJob(ctx(t), &trainerv1.CancelJobRequest{}); return err }, codes.InvalidArgument, "job_id"},
		{"CancelJob/unknown", func() error {
			_, err := h.c.CancelJob(ctx(t), &trainerv1.CancelJobRequest{JobId: "no-such-job"})
			return err
		}, codes.NotFound, "no-such-job"},
		{"WatchJob/empty", func() error { return firstRecv(ctx(t), h.c, "") }, codes.InvalidArgument, "job_id"},
		{"WatchJob/unknown", func() error { return firstRecv(ctx(t), h.c, "no-such-job") }, codes.NotFound, "no-such-job"},
		{"Evaluate/no checkpoint", func() error {
			_, err := h.c.Evaluate(ctx(t), &trainerv1.EvaluateRequest{Suite: suite})
			return err
		}, codes.InvalidArgument, "checkpoint_id"},
		{"Evaluate/no suite", func() error {
			_, err := h.c.Evaluate(ctx(t), &trainerv1.EvaluateRequest{CheckpointId: "init"})
			return err
		}, codes.InvalidArgument, "suite"},
		{"Evaluate/unknown checkpoint", func() error {
			_, err := h.c.Evaluate(ctx(t), &trainerv1.EvaluateRequest{CheckpointId: "ck-0123456789abcdef0123456789abcdef", Suite: suite})
			return err
		}, codes.NotFound, "checkpoint_id"},
		{"Evaluate/unknown suite", func() error {
			_, err := h.c.Evaluate(ctx(t), &trainerv1.EvaluateRequest{CheckpointId: "init", Suite: "no-such-suite"})
			return err
		}, codes.NotFound, "suite"},
		{"Evaluate/unknown example", func() error {
			_, err := h.c.Evaluate(ctx(t), &trainerv1.EvaluateRequest{CheckpointId: "init", Suite: suite, ExampleIds: []string{"no-such-example"}})
			return err
		}, codes.NotFound, "no-such-example"},
	}
	for _, tc := range calls {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			assert.Equal(t, tc.code, status.Code(err), "error: %v", err)
			assert.Contains(t, status.Convert(err).Message(), tc.field)
		})
	}
}

// firstRecv opens a watch and returns the error of its first message.
func firstRecv(ctx context.Context, c trainerv1.TrainerServiceClient, id string) error {
	stream, err := c.WatchJob(ctx, &trainerv1.WatchJobRequest{JobId: id})
	if err != nil {
		return err
	}
	_, err = stream.Recv()
	if err == nil {
		return fmt.Errorf("watch %q: got an event, want an error", id)
	}
	return err
}

func terminal(s trainerv1.JobState) bool {
	return s == trainerv1.JobState_JOB_STATE_SUCCEEDED || s == trainerv1.JobState_JOB_STATE_FAILED || s == trainerv1.JobState_JOB_STATE_CANCELLED
}

func equalCounts(a, b []*trainerv1.SubsetResult) bool {
	return slices.EqualFunc(a, b, func(x, y *trainerv1.SubsetResult) bool { return proto.Equal(x, y) })
}
