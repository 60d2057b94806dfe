package faketrainer_test

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/mixopt/mixopt/internal/faketrainer"
	"github.com/mixopt/mixopt/internal/trainertest"
	trainerv1 "github.com/mixopt/mixopt/proto/mixopt/trainer/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
)

func dial(t *testing.T, addr string, opts ...grpc.DialOption) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(addr, append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	return conn
}

func TestConformance(t *testing.T) {
	t.Run("Instant", func(t *testing.T) {
		trainertest.Run(t, func(t *testing.T) grpc.ClientConnInterface {
			return dial(t, faketrainer.Serve(t, faketrainer.Config{}).Addr())
		})
	})
	// Paced jobs are still running when the checks cancel and re-attach.
	t.Run("PacedBufconn", func(t *testing.T) {
		trainertest.Run(t, func(t *testing.T) grpc.ClientConnInterface {
			f := faketrainer.New(faketrainer.Config{EventDelay: time.Millisecond})
			lis := bufconn.Listen(1 << 20)
			f.Serve(lis)
			t.Cleanup(f.Close)
			return dial(t, "passthrough:///bufnet", grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }))
		})
	})
}

func spec(seed uint64) *trainerv1.JobSpec {
	return &trainerv1.JobSpec{
		BaseCheckpoint: "init", Mixture: []*trainerv1.MixtureComponent{{Task: "chat_prefs", Weight: 1}},
		Steps: 10, BatchSize: 2, LearningRate: 0.1, Seed: seed,
		Eval: &trainerv1.EvalSpec{Suite: faketrainer.SuiteName, EverySteps: 5},
	}
}

// watchAll reads a job's events until the stream ends and returns them
// with the error that ended it (nil for a clean end).
func watchAll(ctx context.Context, c trainerv1.TrainerServiceClient, id string) ([]*trainerv1.WatchJobResponse, error) {
	stream, err := c.WatchJob(ctx, &trainerv1.WatchJobRequest{JobId: id})
	if err != nil {
		return nil, err
	}
	var evs []*trainerv1.WatchJobResponse
	for {
		ev, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return evs, nil
		}
		if err != nil {
			return evs, err
		}
		evs = append(evs, ev)
	}
}

func TestFailNext(t *testing.T) {
	for _, code := range []codes.Code{codes.Unavailable, codes.DeadlineExceeded, codes.ResourceExhausted} {
		t.Run(code.String(), func(t *testing.T) {
			f := faketrainer.Serve(t, faketrainer.Config{})
			c := trainerv1.NewTrainerServiceClient(dial(t, f.Addr()))
			f.FailNext("SubmitJob", 2, code)
			for range 2 {
				_, err := c.SubmitJob(t.Context(), &trainerv1.SubmitJobRequest{JobId: "j", Spec: spec(1)})
				assert.Equal(t, code, status.Code(err))
			}
			_, err := c.SubmitJob(t.Context(), &trainerv1.SubmitJobRequest{JobId: "j", Spec: spec(1)})
			require.NoError(t, err)
			assert.Equal(t, 3, f.Calls("SubmitJob"), "failed calls are counted")
			assert.Equal(t, 1, f.Starts("j"))
			assert.Equal(t, trainerv1.JobState_JOB_STATE_SUCCEEDED, f.JobState("j"))
		})
	}
}

func TestStall(t *testing.T) {
	f := faketrainer.Serve(t, faketrainer.Config{MaxConcurrentJobs: 1})
	c := trainerv1.NewTrainerServiceClient(dial(t, f.Addr()))
	f.SetFaults(faketrainer.Faults{Stall: true})
	_, err := c.SubmitJob(t.Context(), &trainerv1.SubmitJobRequest{JobId: "stuck", Spec: spec(1)})
	require.NoError(t, err)
	f.SetFaults(faketrainer.Faults{})
	_, err = c.SubmitJob(t.Context(), &trainerv1.SubmitJobRequest{JobId: "waits", Spec: spec(2)})
	require.NoError(t, err)
	assert.Equal(t, trainerv1.JobState_JOB_STATE_RUNNING, f.JobState("stuck"), "a stalled job keeps running")
	assert.Equal(t, trainerv1.JobState_JOB_STATE_QUEUED, f.JobState("waits"), "and keeps its slot")

	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	evs, err := watchAll(ctx, c, "stuck")
	assert.Equal(t, codes.DeadlineExceeded, status.Code(err))
	require.Len(t, evs, 2, "QUEUED, RUNNING, then nothing")
	assert.Equal(t, trainerv1.JobState_JOB_STATE_RUNNING, evs[1].State)

	_, err = c.CancelJob(t.Context(), &trainerv1.CancelJobRequest{JobId: "stuck"})
	require.NoError(t, err)
	assert.Equal(t, trainerv1.JobState_JOB_STATE_SUCCEEDED, f.JobState("waits"), "cancelling the stalled job frees its slot")
}

func TestDieAndRestart(t *testing.T) {
	f := faketrainer.Serve(t, faketrainer.Config{EventDelay: 5 * time.Millisecond})
	addr := f.Addr()
	c := trainerv1.NewTrainerServiceClient(dial(t, addr))
	f.SetFaults(faketrainer.Faults{DieAfterEvents: 3})
	_, err := c.SubmitJob(t.Context(), &trainerv1.SubmitJobRequest{JobId: "j", Spec: spec(1)})
	require.NoError(t, err)
	evs, err := watchAll(t.Context(), c, "j")
	assert.Equal(t, codes.Unavailable, status.Code(err), "the stream breaks when the trainer dies: %v", err)
	assert.LessOrEqual(t, len(evs), 3)
	_, err = c.GetJob(t.Context(), &trainerv1.GetJobRequest{JobId: "j"})
	assert.Equal(t, codes.Unavailable, status.Code(err), "a dead trainer answers nothing")

	got, err := f.Start()
	require.NoError(t, err)
	assert.Equal(t, addr, got, "a restart listens on the same address")
	require.Eventually(t, func() bool {
		_, err := c.GetJob(t.Context(), &trainerv1.GetJobRequest{JobId: "j"})
		return err == nil
	}, 10*time.Second, 10*time.Millisecond, "the client reconnects")
	evs, err = watchAll(t.Context(), c, "j")
	require.NoError(t, err)
	last := evs[len(evs)-1]
	assert.Equal(t, trainerv1.JobState_JOB_STATE_SUCCEEDED, last.State)
	assert.Equal(t, faketrainer.CheckpointID(spec(1)), last.GetResult().GetCheckpointId(), "the job starts over and gives the same result")
	assert.Equal(t, 2, f.Starts("j"))
	var restarted bool
	for i, ev := range evs {
		assert.Equal(t, uint64(i+1), ev.Seq, "the event log continues across the restart")
		restarted = restarted || ev.GetStateChange().GetMessage() == "trainer restarted; job queued again"
	}
	assert.True(t, restarted)
}

func TestMalformations(t *testing.T) {
	f := faketrainer.Serve(t, faketrainer.Config{})
	c := trainerv1.NewTrainerServiceClient(dial(t, f.Addr()))
	evaluate := func() *trainerv1.EvaluateResponse {
		resp, err := c.Evaluate(t.Context(), &trainerv1.EvaluateRequest{CheckpointId: "init", Suite: faketrainer.SuiteName, IncludeExamples: true})
		require.NoError(t, err)
		return resp
	}
	good := evaluate()
	total := func(r *trainerv1.EvaluateResponse) (correct, n int64) {
		for _, s := range r.Subsets {
			correct, n = correct+s.Correct, n+s.Total
		}
		return
	}
	cases := []struct {
		name  string
		m     faketrainer.Malformation
		check func(t *testing.T, r *trainerv1.EvaluateResponse)
	}{
		{"wrong counts", faketrainer.WrongCounts, func(t *testing.T, r *trainerv1.EvaluateResponse) {
			_, n := total(r)
			assert.Equal(t, int64(len(r.Examples)+1), n)
		}},
		{"tie marked correct", faketrainer.TieCorrect, func(t *testing.T, r *trainerv1.EvaluateResponse) {
			e := r.Examples[0]
			assert.Equal(t, e.ChosenScore, e.RejectedScore)
			assert.True(t, e.Correct)
		}},
		{"missing example", faketrainer.MissingExample, func(t *testing.T, r *trainerv1.EvaluateResponse) {
			assert.Len(t, r.Examples, len(good.Examples)-1)
			_, n := total(r)
			assert.Equal(t, int64(len(r.Examples)), n, "counts follow, so only the missing example shows")
		}},
		{"renamed example", faketrainer.RenamedExample, func(t *testing.T, r *trainerv1.EvaluateResponse) {
			assert.Equal(t, good.Examples[0].ExampleId+"-renamed", r.Examples[0].ExampleId)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f.SetFaults(faketrainer.Faults{Malform: tc.m})
			defer f.SetFaults(faketrainer.Faults{})
			tc.check(t, evaluate())
		})
	}
}

func TestStatsTrackConcurrency(t *testing.T) {
	f := faketrainer.Serve(t, faketrainer.Config{MaxConcurrentJobs: 2, EventDelay: 2 * time.Millisecond})
	c := trainerv1.NewTrainerServiceClient(dial(t, f.Addr()))
	for i := range 5 {
		_, err := c.SubmitJob(t.Context(), &trainerv1.SubmitJobRequest{JobId: string(rune('a' + i)), Spec: spec(uint64(i))})
		require.NoError(t, err)
	}
	for i := range 5 {
		_, err := watchAll(t.Context(), c, string(rune('a'+i)))
		require.NoError(t, err)
	}
	st := f.Stats()
	assert.Equal(t, 2, st.MaxRunning, "the fake runs at most its limit and queues the rest")
	assert.Equal(t, 5, st.MaxActive, "five jobs were submitted at once")
	assert.Equal(t, 5, st.Succeeded)
	assert.Zero(t, st.Running)
	assert.Zero(t, st.Active)
}
