// Command jira-sim serves a simulated Jira site on loopback for tap-jira's
// tests, benchmarks and demo.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/tap-jira/tap-jira/internal/jirasim"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := jirasim.Command(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
