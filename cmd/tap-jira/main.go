// Command tap-jira is a Singer tap for Jira.
package main

import (
	"os"

	"github.com/tap-jira/tap-jira/internal/cli"
)

func main() { os.Exit(cli.Main()) }
