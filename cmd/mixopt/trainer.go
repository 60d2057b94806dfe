package main

import (
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/mixopt/mixopt/reftrainer"
	"github.com/spf13/cobra"
	"google.golang.org/grpc"
)

func newTrainerCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "trainer",
		Short: "Run mixopt's reference trainer",
	}
	cmd.AddCommand(newTrainerServeCommand(a))
	return cmd
}

func newTrainerServeCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the reference trainer over the Trainer gRPC API",
		Long: `serve trains the reference reward model (hashed n-gram features, Bradley–Terry
and logistic losses, lazy Adam) on the datasets under --data and evaluates it on
the target suite there, over the mixopt.trainer.v1 gRPC API plus grpc.health.v1.
Checkpoints and job records live under --state; jobs that were running when the
server stopped run again when it starts on the same state directory.

It listens on loopback unless --listen names another address.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := a.v
			listen := v.GetString("listen")
			host, _, err := net.SplitHostPort(listen)
			if err != nil {
				return fmt.Errorf("--listen %q: %w", listen, err)
			}
			if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
				a.log.Warn("listening beyond loopback: the trainer has no authentication", "listen", listen)
			}
			svc, err := reftrainer.New(reftrainer.Config{
				DataDir:           v.GetString("data"),
				StateDir:          v.GetString("state"),
				SuiteName:         v.GetString("suite"),
				Dim:               v.GetInt("dim"),
				MaxConcurrentJobs: v.GetInt("max-jobs"),
				Logger:            a.log,
			})
			if err != nil {
				return err
			}
			defer svc.Close()
			lis, err := net.Listen("tcp", listen)
			if err != nil {
				return fmt.Errorf("--listen %q: %w", listen, err)
			}
			srv, hs := reftrainer.NewGRPCServer(svc)
			a.log.Info("reference trainer serving", "listen", lis.Addr().String(), "data", v.GetString("data"), "state", v.GetString("state"))
			fmt.Fprintln(a.stdout, lis.Addr().String())
			errc := make(chan error, 1)
			go func() { errc <- srv.Serve(lis) }()
			select {
			case err := <-errc:
				if errors.Is(err, grpc.ErrServerStopped) {
					return nil
				}
				return err
			case <-cmd.Context().Done():
				a.log.Info("shutting down")
				hs.Shutdown()
				stopped := make(chan struct{})
				go func() { srv.GracefulStop(); close(stopped) }()
				select {
				case <-stopped:
				case <-time.After(5 * time.Second):
					srv.Stop()
				}
				return nil
			}
		},
	}
	f := cmd.Flags()
	f.String("listen", "127.0.0.1:7070", "address to listen on (host:port; port 0 picks one)")
	f.String("data", "../shared/data", "data directory with train/ and target/")
	f.String("state", "trainer-state", "directory for checkpoints and job records")
	f.String("suite", "rewardbench", "name under which the target suite in <data>/target is served")
	f.Int("dim", 0, "hashed feature slots, a power of two (0: 2^18)")
	f.Int("max-jobs", 0, "jobs trained at once (0: number of CPUs)")
	return cmd
}
