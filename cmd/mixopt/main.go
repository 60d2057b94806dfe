// Command mixopt optimises multitask data-mixture weights for reward models
// and LLM autoraters by tail-patch ablation (FLAMe-Opt-RM, arXiv 2407.10817).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	os.Exit(run())
}

func run() int {
	// The first Ctrl-C (or SIGTERM) asks long commands to stop cleanly; a
	// second one stops at once.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stop := make(chan struct{})
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		fmt.Fprintln(os.Stderr, "mixopt: stopping cleanly; press Ctrl-C again to stop at once")
		close(stop)
		<-sig
		cancel()
	}()
	cmd := NewRootCommand(os.Stdout, os.Stderr)
	cmd.SetContext(withStop(ctx, stop))
	if err := cmd.ExecuteContext(withStop(ctx, stop)); err != nil {
		fmt.Fprintln(os.Stderr, "mixopt:", err)
		return 1
	}
	return 0
}

type stopKey struct{}

// withStop attaches the clean-stop channel to ctx.
func withStop(ctx context.Context, stop <-chan struct{}) context.Context {
	return context.WithValue(ctx, stopKey{}, stop)
}

// stopOf returns the clean-stop channel of ctx (nil: never).
func stopOf(ctx context.Context) <-chan struct{} {
	s, _ := ctx.Value(stopKey{}).(<-chan struct{})
	return s
}
