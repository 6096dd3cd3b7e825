// Package scripts holds the tests of the shell scripts beside it
// (cron-sync.sh, fuzz.sh); it has no code of its own.
package scripts
