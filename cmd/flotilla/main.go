// Command flotilla is the one Flotilla binary: controller, server, agent,
// local fleet and CLI.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/flotilla-dev/flotilla/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := cli.Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if msg := cli.ErrorMessage(err); msg != "" {
		fmt.Fprintln(os.Stderr, "Error:", msg)
	}
	os.Exit(cli.ExitCode(err))
}
