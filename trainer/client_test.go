package trainer_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	trainerv1 "github.com/mixopt/mixopt/proto/mixopt/trainer/v1"
	"github.com/mixopt/mixopt/trainer"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
)

// failing answers every GetJob with the status code the job id names.
type failing struct {
	trainerv1.UnimplementedTrainerServiceServer
	calls int
}

func (f *failing) GetJob(_ context.Context, req *trainerv1.GetJobRequest) (*trainerv1.GetJobResponse, error) {
	f.calls++
	var c codes.Code
	if err := c.UnmarshalJSON([]byte(`"` + req.JobId + `"`)); err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	if c == codes.OK {
		return &trainerv1.GetJobResponse{Job: &trainerv1.JobStatus{JobId: req.JobId, State: trainerv1.JobState_JOB_STATE_RUNNING}}, nil
	}
	return nil, status.Errorf(c, "job_id: said %s", c)
}

func client(t *testing.T, srv trainerv1.TrainerServiceServer) *trainer.Client {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	s := grpc.NewServer()
	trainerv1.RegisterTrainerServiceServer(s, srv)
	go func() { _ = s.Serve(lis) }()
	t.Cleanup(s.Stop)
	c, err := trainer.Dial("passthrough:///bufnet", grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }))
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

func TestErrorsMapToDomainErrors(t *testing.T) {
	c := client(t, &failing{})
	cases := []struct {
		code      string
		want      error
		retryable bool
	}{
		{"NOT_FOUND", trainer.ErrNotFound, false},
		{"INVALID_ARGUMENT", trainer.ErrInvalid, false},
		{"ALREADY_EXISTS", trainer.ErrConflict, false},
		{"FAILED_PRECONDITION", trainer.ErrPrecondition, false},
		{"UNAVAILABLE", trainer.ErrUnavailable, true},
		{"DEADLINE_EXCEEDED", trainer.ErrUnavailable, true},
		{"RESOURCE_EXHAUSTED", trainer.ErrUnavailable, true},
		{"INTERNAL", trainer.ErrTrainer, false},
	}
	for _, tc := range cases {
		t.Run(tc.code, func(t *testing.T) {
			_, err := c.Get(t.Context(), tc.code)
			require.Error(t, err)
			assert.ErrorIs(t, err, tc.want)
			assert.Equal(t, tc.retryable, trainer.Retryable(err))
			assert.Contains(t, err.Error(), "job_id: said", "the trainer's message is kept")
		})
	}
	st, err := c.Get(t.Context(), "OK")
	require.NoError(t, err)
	assert.Equal(t, trainer.StateRunning, st.State)
}

func TestBackoffRetriesOnlyRetryable(t *testing.T) {
	f := &failing{}
	c := client(t, f)
	b := trainer.Backoff{Initial: time.Millisecond, Max: 2 * time.Millisecond, Attempts: 4}
	err := b.Retry(t.Context(), func(ctx context.Context) error { _, err := c.Get(ctx, "UNAVAILABLE"); return err })
	assert.ErrorIs(t, err, trainer.ErrUnavailable)
	assert.Equal(t, 4, f.calls, "retryable: tried Attempts times")

	f.calls = 0
	err = b.Retry(t.Context(), func(ctx context.Context) error { _, err := c.Get(ctx, "INVALID_ARGUMENT"); return err })
	assert.ErrorIs(t, err, trainer.ErrInvalid)
	assert.Equal(t, 1, f.calls, "final: tried once")

	n := 0
	err = b.Retry(t.Context(), func(ctx context.Context) error {
		n++
		if n < 3 {
			_, err := c.Get(ctx, "UNAVAILABLE")
			return err
		}
		return nil
	})
	assert.NoError(t, err)
	assert.Equal(t, 3, n)

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err = trainer.Backoff{Initial: time.Hour, Attempts: 3}.Retry(ctx, func(ctx context.Context) error { return fmt.Errorf("down: %w", trainer.ErrUnavailable) })
	assert.True(t, errors.Is(err, context.Canceled), "a cancelled context ends the wait: %v", err)
}
