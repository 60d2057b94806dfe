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
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cmd := NewRootCommand(os.Stdout, os.Stderr)
	if err := cmd.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "mixopt:", err)
		os.Exit(1)
	}
}
