package tailpatch_test

import (
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/mixopt/mixopt/internal/faketrainer"
	trainerv1 "github.com/mixopt/mixopt/proto/mixopt/trainer/v1"
	"github.com/mixopt/mixopt/tailpatch"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// BenchmarkSchedulingOverhead measures what the driver costs per patch
// against a trainer that finishes jobs instantly over loopback gRPC: the
// scheduler runs b.N patches with the ledger on (each is a SubmitJob, a
// WatchJob stream, an Evaluate with per-example outcomes and two ledger
// transactions), and the same server answers b.N raw unary calls
// (GetJob), one at a time and at the scheduler's concurrency. Reported:
// patches/s, calls/s both ways, and patches/s over calls/s.
//
//	go test -run '^$' -bench SchedulingOverhead -benchtime 10000x ./tailpatch
func BenchmarkSchedulingOverhead(b *testing.B) {
	const concurrency = 8
	f, ep := fake(b, "A", faketrainer.Config{MaxConcurrentJobs: concurrency})
	conn, err := grpc.NewClient(f.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(b, err)
	defer conn.Close()
	raw := trainerv1.NewTrainerServiceClient(conn)
	ctx := b.Context()
	_, err = raw.SubmitJob(ctx, &trainerv1.SubmitJobRequest{JobId: "probe", Spec: &trainerv1.JobSpec{
		BaseCheckpoint: "init", Mixture: []*trainerv1.MixtureComponent{{Task: "chat_prefs", Weight: 1}},
		Steps: 1, BatchSize: 1, LearningRate: 1,
	}})
	require.NoError(b, err)

	jobs := fakeJobs(b.N)
	l, err := tailpatch.OpenLedger(filepath.Join(b.TempDir(), tailpatch.LedgerFile))
	require.NoError(b, err)
	defer l.Close()
	require.NoError(b, l.Plan(jobs))
	cfg := fastScheduler()
	sched, err := tailpatch.NewScheduler(l, []tailpatch.Endpoint{ep}, []int{concurrency}, cfg)
	require.NoError(b, err)

	b.ResetTimer()
	start := time.Now()
	require.NoError(b, sched.Run(ctx, jobs, faketrainer.SuiteName, nil))
	patches := time.Since(start)
	b.StopTimer()

	start = time.Now()
	for range b.N {
		_, err := raw.GetJob(ctx, &trainerv1.GetJobRequest{JobId: "probe"})
		require.NoError(b, err)
	}
	sequential := time.Since(start)

	start = time.Now()
	var wg sync.WaitGroup
	for w := range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < b.N; i += concurrency {
				if _, err := raw.GetJob(ctx, &trainerv1.GetJobRequest{JobId: "probe"}); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	parallel := time.Since(start)

	n := float64(b.N)
	pps, seq, par := n/patches.Seconds(), n/sequential.Seconds(), n/parallel.Seconds()
	b.ReportMetric(pps, "patches/s")
	b.ReportMetric(seq, "calls/s")
	b.ReportMetric(par, "calls/s@8")
	b.ReportMetric(pps/seq, "ratio")
	b.ReportMetric(pps/par, "ratio@8")
	require.Equal(b, b.N, f.Stats().Succeeded-1, "every patch ran")
}
