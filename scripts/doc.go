// Package scripts holds the tests of the shell scripts beside it
// (cron-sync.sh); it has no code of its own.
package scripts
