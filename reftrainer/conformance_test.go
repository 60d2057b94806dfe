package reftrainer_test

import (
	"testing"

	"github.com/mixopt/mixopt/internal/trainertest"
	"github.com/mixopt/mixopt/reftrainer"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// TestConformance holds the reference trainer to the Trainer API contract,
// served over loopback TCP on a small data directory of real files.
func TestConformance(t *testing.T) {
	data := miniData(t)
	trainertest.Run(t, func(t *testing.T) grpc.ClientConnInterface {
		local, err := reftrainer.StartLocal(reftrainer.Config{DataDir: data, StateDir: t.TempDir(), MaxConcurrentJobs: 2})
		require.NoError(t, err)
		t.Cleanup(local.Close)
		conn, err := grpc.NewClient(local.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		require.NoError(t, err)
		t.Cleanup(func() { conn.Close() })
		return conn
	})
}
