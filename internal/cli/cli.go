// Package cli is tap-jira's command line: flags, logging, signals, exit
// codes and the wiring of the other packages. Run is its testable core.
package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/tap-jira/tap-jira/internal/config"
	"github.com/tap-jira/tap-jira/internal/jira"
	"github.com/tap-jira/tap-jira/internal/metrics"
	"github.com/tap-jira/tap-jira/internal/schema"
	"github.com/tap-jira/tap-jira/internal/singer"
	"github.com/tap-jira/tap-jira/internal/state"
	"github.com/tap-jira/tap-jira/internal/streams"
	"github.com/tap-jira/tap-jira/internal/tap"
)

// Exit codes, documented in the README.
const (
	ExitOK          = 0
	ExitRuntime     = 1
	ExitUsage       = 2
	ExitInterrupted = 130 // SIGINT
	ExitTerminated  = 143 // SIGTERM
)

// version is stamped at build time with -ldflags "-X .../internal/cli.version=v1.2.3".
var version = ""

// Version returns the tap's version: the stamped one, else the module
// version go install recorded, else "dev".
func Version() string {
	if version != "" {
		return version
	}
	return buildVersion()
}

// signalError is the cancel cause when a signal stops the run.
type signalError struct{ sig os.Signal }

func (e *signalError) Error() string { return "interrupted by " + e.sig.String() }

// Main runs the command with the process's arguments and streams and stops
// cleanly on SIGINT or SIGTERM. A second signal kills the process.
func Main() int {
	tap.TuneGC()
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	// With SIGPIPE ignored, writing to a closed stdout returns EPIPE, which
	// the run reports, instead of killing the process silently.
	signal.Ignore(syscall.SIGPIPE)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		s, ok := <-sigs
		if !ok {
			return
		}
		signal.Stop(sigs)
		cancel(&signalError{sig: s})
	}()
	defer signal.Stop(sigs)
	return Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
}

type options struct {
	configPath  string
	statePath   string
	catalogPath string
	properties  string
	discover    bool
	about       bool
	format      string
	showVersion bool
	logLevel    string
	logFormat   string
	cpuProfile  string
	observe     observeOptions
}

// usageError is a mistake in the command line itself.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// Run executes tap-jira with args (without the program name) and returns the
// exit code. Singer messages go to stdout, logs to stderr.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	var opts options
	var log *slog.Logger
	// One lock for every writer of stderr: logs, metrics, progress.
	opts.observe.stderrTTY = metrics.IsTerminal(stderr)
	stderr = metrics.NewLockedWriter(stderr)
	opts.observe.stderr = stderr
	cmd := &cobra.Command{
		Use:   "tap-jira --config CONFIG [--state STATE] [--catalog CATALOG]",
		Short: "A Singer tap for Jira Cloud and Jira Data Center",
		Long: "tap-jira extracts a Jira site as Singer messages on stdout.\n\n" +
			"  tap-jira --config config.json --discover > catalog.json\n" +
			"  tap-jira --config config.json --catalog catalog.json [--state state.json]",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return &usageError{msg: fmt.Sprintf("unknown command %q: tap-jira takes flags only (see --help)", args[0])}
			}
			return nil
		},
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			l, err := newLogger(stderr, opts.logLevel, opts.logFormat)
			if err != nil {
				return err
			}
			log = l
			if opts.cpuProfile != "" {
				stop, err := startCPUProfile(opts.cpuProfile)
				if err != nil {
					return &usageError{msg: fmt.Sprintf("--cpu-profile: %v", err)}
				}
				defer stop()
			}
			return run(cmd.Context(), &opts, log, stdout)
		},
	}
	cmd.SetArgs(args)
	cmd.SetIn(stdin)
	cmd.SetOut(stdout)
	cmd.SetErr(stderr)
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{msg: err.Error()} })
	f := cmd.Flags()
	f.StringVarP(&opts.configPath, "config", "c", "", "path to the config JSON file")
	f.StringVarP(&opts.statePath, "state", "s", "", "path to a state JSON file from an earlier run")
	f.StringVar(&opts.catalogPath, "catalog", "", "path to the catalog JSON file (streams and fields to sync)")
	f.StringVarP(&opts.properties, "properties", "p", "", "legacy name of --catalog")
	f.BoolVarP(&opts.discover, "discover", "d", false, "print the catalog of every stream and exit")
	f.BoolVar(&opts.about, "about", false, "print the tap's name, version, capabilities and settings and exit")
	f.StringVar(&opts.format, "format", "text", "format of --about: text, json or markdown")
	f.BoolVar(&opts.showVersion, "version", false, "print the version and exit")
	f.StringVar(&opts.logLevel, "log-level", "info", "debug, info, warn or error")
	f.StringVar(&opts.logFormat, "log-format", envOr("LOG_FORMAT", "text"), "text or json (default from LOG_FORMAT)")
	f.StringVar(&opts.cpuProfile, "cpu-profile", "", "write a Go CPU profile of the run to this file (for performance work)")
	_ = f.MarkHidden("cpu-profile")
	addObserveFlags(cmd, &opts.observe)

	err := cmd.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	code := exitCode(ctx, err)
	if log == nil {
		// The logger could not be built (or flags failed to parse): fall
		// back to a plain one so the reason still reaches stderr.
		log = slog.New(slog.NewTextHandler(stderr, nil))
	}
	log.Error("tap-jira stopped", "error", err.Error(), "exit_code", code)
	return code
}

func startCPUProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
	}, nil
}

func envOr(key, fallback string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return fallback
}

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, &usageError{msg: fmt.Sprintf("--log-level %q: want debug, info, warn or error", level)}
	}
	ho := &slog.HandlerOptions{Level: lvl}
	switch strings.ToLower(format) {
	case "", "text":
		return slog.New(slog.NewTextHandler(w, ho)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, ho)), nil
	default:
		return nil, &usageError{msg: fmt.Sprintf("--log-format (or LOG_FORMAT) %q: want text or json", format)}
	}
}

func exitCode(ctx context.Context, err error) int {
	var sig *signalError
	if errors.As(context.Cause(ctx), &sig) {
		if sig.sig == syscall.SIGTERM {
			return ExitTerminated
		}
		return ExitInterrupted
	}
	var (
		ue  *usageError
		ce  *config.Error
		se  *state.Error
		cat *singer.CatalogError
		tu  *tap.UsageError
	)
	switch {
	case errors.As(err, &ue), errors.As(err, &ce), errors.As(err, &se), errors.As(err, &cat), errors.As(err, &tu):
		return ExitUsage
	default:
		return ExitRuntime
	}
}

func run(ctx context.Context, opts *options, log *slog.Logger, stdout io.Writer) error {
	switch {
	case opts.showVersion:
		_, err := fmt.Fprintf(stdout, "tap-jira %s\n", Version())
		return err
	case opts.about:
		return writeAbout(stdout, opts.format)
	}
	if err := opts.observe.validate(); err != nil {
		return err
	}
	if opts.catalogPath != "" && opts.properties != "" {
		return &usageError{msg: "give either --catalog or --properties, not both"}
	}
	lookup := lookupEnvFrom(ctx)
	if opts.configPath == "" {
		if len(config.EnvSettings(lookup)) == 0 {
			return &usageError{msg: "--config is required (or set " + config.EnvPrefix + "* environment variables, or use --about or --version)"}
		}
		opts.configPath = config.EnvConfig
	}
	cfg, err := loadConfig(opts.configPath, lookup, log)
	if err != nil {
		return err
	}
	log.Debug("config loaded", "config", cfg)
	schemas, err := schema.Bundled()
	if err != nil {
		return fmt.Errorf("loading bundled schemas: %w", err)
	}
	if opts.discover {
		cat, err := discover(ctx, cfg, log, schemas)
		if err != nil {
			return err
		}
		return singer.WriteCatalog(stdout, cat)
	}
	return syncCommand(ctx, opts, cfg, log, stdout, schemas)
}

func syncCommand(ctx context.Context, opts *options, cfg *config.Config, log *slog.Logger, stdout io.Writer, schemas map[string]*schema.Schema) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	st := state.New()
	if opts.statePath != "" {
		data, err := readInput(opts.statePath, "state")
		if err != nil {
			return err
		}
		parsed, warnings, err := state.Parse(bytes.NewReader(data), streams.Names())
		if err != nil {
			return err
		}
		for _, w := range warnings {
			log.Warn(w, "file", opts.statePath)
		}
		st = parsed
	}
	catPath := opts.catalogPath
	if catPath == "" {
		catPath = opts.properties
	}
	var plan []*tap.Selected
	if catPath == "" {
		log.Warn("no --catalog given, so no stream is selected; run --discover, mark streams \"selected\": true and pass the catalog with --catalog")
	} else {
		data, err := readInput(catPath, "catalog")
		if err != nil {
			return err
		}
		cat, err := singer.ParseCatalog(bytes.NewReader(data))
		if err != nil {
			return err
		}
		plan, err = tap.Plan(cat, schemas, log)
		if err != nil {
			return err
		}
		if len(plan) == 0 {
			log.Warn("the catalog selects no stream, so nothing is synced; mark streams with \"selected\": true in the metadata entry whose breadcrumb is []", "catalog", catPath)
		}
	}
	if err := singer.GrowPipe(stdout); err != nil {
		log.Debug("the output's pipe keeps its size", "error", err)
	}
	w := singer.NewWriter(stdout)
	if len(plan) == 0 {
		// Nothing to sync: hand the state back unchanged so a runner that
		// keeps the last STATE does not lose its bookmarks.
		if err := w.WriteState(st.Value()); err != nil {
			return err
		}
		return w.Flush()
	}
	return runSync(ctx, cfg, log, w, plan, st, &opts.observe)
}

func runSync(ctx context.Context, cfg *config.Config, log *slog.Logger, w *singer.Writer, plan []*tap.Selected, st *state.State, oo *observeOptions) error {
	obs := newObservers(ctx, oo, log)
	client, err := newClient(ctx, cfg, log, obs.onRequest())
	if err != nil {
		return err
	}
	// The user's time zone does not depend on the flavor: its request goes
	// out alongside serverInfo's instead of after it, one round trip less
	// before the first issue search.
	if streams.NeedsTimeZone(func(name string) bool {
		return slices.ContainsFunc(plan, func(p *tap.Selected) bool { return p.Stream.Name == name })
	}) {
		zoneCtx, cancel := context.WithCancel(ctx)
		wait := client.StartMyself(zoneCtx)
		defer wait()
		defer cancel()
	}
	cloud := cfg.Deployment == config.DeploymentCloud
	var siteStart time.Time
	if cfg.Deployment == config.DeploymentAuto {
		info, err := client.ServerInfo(ctx)
		if err != nil {
			var apiErr *jira.APIError
			if errors.Is(err, jira.ErrNotJSON) || (errors.As(err, &apiErr) && apiErr.Status == http.StatusNotFound) {
				if cfg.CloudID != "" {
					return fmt.Errorf("the API gateway %s does not know this site (check cloud_id and api_gateway_url): %w", cfg.BaseURL.Redacted(), err)
				}
				return fmt.Errorf("base_url %s does not answer like a Jira site (check the URL): %w", cfg.BaseURL.Redacted(), err)
			}
			return authHint(cfg, err)
		}
		cloud = info.Cloud()
		log.Info("connected", "deployment_type", info.DeploymentType, "version", info.Version)
		siteStart, _ = info.Now()
	}
	concurrency := cfg.Concurrency(cloud)
	client.SetMaxInFlight(concurrency)
	if cfg.MaxConcurrency == 0 {
		log.Info("requests in flight at once: the flavor's default (max_concurrency not set)", "max_concurrency", concurrency)
	}
	start := time.Now()
	env := &streams.Env{
		Client: client, Cloud: cloud, Log: log,
		StartDate: cfg.StartDate, RunStart: start, SiteStart: siteStart, Lookback: cfg.Lookback,
		PageSize: cfg.PageSize, Projects: cfg.Projects, JQL: cfg.JQL, RenderedFields: cfg.RenderedFields,
		Concurrency: concurrency, ReconcileDeletedIssues: cfg.ReconcileDeletedIssues,
	}
	stop := obs.start(ctx, start, client.Stats)
	sum, err := tap.Sync(ctx, w, log, plan, st, env, time.Now, obs.reporter)
	stop()
	stats := client.Stats()
	args := []any{"elapsed", time.Since(start).Round(time.Millisecond), "requests", stats.Requests, "retries", stats.Retries}
	for _, name := range streams.Names() {
		if n, ok := sum.Records[name]; ok {
			args = append(args, name, n)
		}
	}
	if err != nil {
		log.Info("sync stopped; records emitted", args...)
		return authHint(cfg, err)
	}
	log.Info("sync complete; records emitted", args...)
	return nil
}

// authHint says which keys to check when Jira refused the credentials.
func authHint(cfg *config.Config, err error) error {
	var apiErr *jira.APIError
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusUnauthorized {
		return err
	}
	var keys string
	switch cfg.Auth {
	case config.AuthBasic:
		keys = "username and password (on Jira Cloud, an API token of that account)"
	case config.AuthScopedToken:
		keys = "username, password (a scoped API token of that account) and cloud_id"
	case config.AuthPAT:
		keys = "personal_access_token"
	case config.AuthOAuth:
		keys = "the OAuth 2.0 app's scopes and cloud_id (a fresh access token was refused)"
	default:
		return err
	}
	return fmt.Errorf("authentication failed: Jira refused the credentials (check %s): %w", keys, err)
}

func retryPolicy(attempts int) jira.RetryPolicy {
	p := jira.DefaultRetryPolicy
	p.MaxAttempts = uint(attempts)
	return p
}

// loadConfig reads the config file, with settings it lacks taken from
// TAP_JIRA_* variables; path ENV (the Meltano SDK's --config ENV) reads the
// environment only.
func loadConfig(path string, lookup func(string) (string, bool), log *slog.Logger) (*config.Config, error) {
	var data []byte
	if path != config.EnvConfig {
		var err error
		if data, err = readInput(path, "config"); err != nil {
			return nil, err
		}
	}
	data, fromEnv, err := config.MergeEnv(data, lookup)
	if err != nil {
		return nil, err
	}
	if data == nil {
		return nil, &usageError{msg: "--config " + config.EnvConfig + ": no " + config.EnvPrefix + "* environment variable is set (e.g. " + config.EnvVar("base_url") + ")"}
	}
	if len(fromEnv) > 0 {
		// Names only: the values may be secrets.
		log.Info("settings read from the environment", "settings", fromEnv)
	}
	cfg, warnings, err := config.Load(bytes.NewReader(data), time.Now(), Version())
	if err != nil {
		return nil, err
	}
	for _, w := range warnings {
		log.Warn(w, "file", path)
	}
	return cfg, nil
}

// readInput reads a file named on the command line. A missing or unreadable
// file is a usage error: the command line points at the wrong place.
func readInput(path, what string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &usageError{msg: fmt.Sprintf("reading %s file: %v", what, err)}
	}
	return data, nil
}
