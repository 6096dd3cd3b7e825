package jirasim

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// Command runs the jira-sim binary: it serves a generated site on a
// loopback address until ctx ends, or with "summary" compares a tap's
// output with a running simulator's ground truth. It returns the process
// exit code.
func Command(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "summary" {
		return summaryCommand(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "bench" {
		return benchCommand(ctx, args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("jira-sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		addr      = fs.String("addr", "127.0.0.1:0", "loopback address to listen on (port 0 picks a free one)")
		portFile  = fs.String("port-file", "", "write the chosen port here once listening")
		seed      = fs.Uint64("seed", 1, "seed of the generated data")
		projects  = fs.Int("projects", 5, "number of projects")
		issues    = fs.Int("issues", 2000, "number of issues")
		users     = fs.Int("users", 40, "number of users")
		flavor    = fs.String("flavor", "cloud", "cloud or datacenter")
		tz        = fs.String("tz", "America/Los_Angeles", "the authenticated user's time zone (IANA name)")
		now       = fs.String("now", "", "the site's clock at start (RFC 3339); default the real time")
		latency   = fs.Duration("latency", 0, "added to every response")
		jitter    = fs.Duration("jitter", 0, "uniform jitter around --latency")
		failRate  = fs.Float64("fail-rate", 0, "share of requests answered 500/502/503")
		throttle  = fs.Float64("throttle-rate", 0, "share of requests answered 429 with Retry-After")
		cutRate   = fs.Float64("cut-rate", 0, "share of responses cut mid-body")
		feedPage  = fs.Int("feed-page", 0, "items per page of the worklog feeds (0: Jira's 1000)")
		stallRate = fs.Float64("stall-rate", 0, "share of responses that stall (nothing, or half the body, then silence until the client gives up or --stall-for passes)")
		stallFor  = fs.Duration("stall-for", 2*time.Minute, "how long a stalled response stays silent before its connection is closed")
		inFlight  = fs.Int("max-in-flight", 0, "site-wide limit: a request arriving while this many are answered gets 429, naming no limit (0: none)")
		perEndpt  = fs.Int("endpoint-max-in-flight", 0, "burst limit per endpoint and method: a request arriving while this many to its endpoint are answered gets 429 with RateLimit-Reason: jira-burst-based (0: none)")
		faultSeed = fs.Uint64("fault-seed", 1, "seed of the fault decisions")
		email     = fs.String("email", "sim@example.com", "basic-auth user (Cloud)")
		token     = fs.String("token", "sim-token", "basic-auth API token (Cloud)")
		pat       = fs.String("pat", "", "personal access token (Data Center bearer auth)")
		cloudID   = fs.String("cloud-id", "", "also serve the API under /ex/jira/{cloud-id}/, as Atlassian's API gateway does")
		scoped    = fs.String("scoped-token", "", "scoped API token: basic auth accepted through the gateway prefix only (needs --cloud-id)")
		oauthID   = fs.String("oauth-client-id", "", "serve POST /oauth/token for this OAuth 2.0 client (needs --cloud-id)")
		oauthSec  = fs.String("oauth-client-secret", "", "the OAuth 2.0 client's secret")
		oauthRT   = fs.String("oauth-refresh-token", "", "the refresh token valid at start (rotated on every grant)")
		oauthTTL  = fs.Duration("oauth-ttl", time.Hour, "access tokens' lifetime")
		long      = fs.Int("long-histories", 0, "changelog length of each project's issue with the most history (default 260 to 320)")
		longCom   = fs.Int("long-comments", 0, "comments of each project's issue with the most comments (default 160 to 200)")
		every     = fs.Int("histories", 0, "changelog length of every issue (default 0 to 8, more on a few)")
		dcWhole   = fs.Bool("dc-search-whole", false, "Data Center search embeds every changelog entry and comment, not the last 100 entries and first 20 comments")
		searchLag = fs.Duration("search-lag", 0, "how long a change to an issue takes to reach search (Jira's index trails its database)")
	)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	fail := func(msg string, args ...any) int {
		log.Error(msg, args...)
		return 2
	}
	if *flavor != string(Cloud) && *flavor != string(DataCenter) {
		return fail("--flavor must be cloud or datacenter", "flavor", *flavor)
	}
	loc, err := time.LoadLocation(*tz)
	if err != nil {
		return fail("--tz is not a known time zone", "tz", *tz)
	}
	host, _, err := net.SplitHostPort(*addr)
	if err != nil {
		return fail("--addr must be host:port", "addr", *addr)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fail("jira-sim listens on loopback addresses only", "addr", *addr)
	}
	opts := Options{
		Flavor: Flavor(*flavor), TZ: loc, Email: *email, Token: *token, PAT: *pat,
		Faults: Faults{Seed: *faultSeed, Latency: *latency, Jitter: *jitter, FailRate: *failRate, ThrottleRate: *throttle, CutRate: *cutRate, StallRate: *stallRate, StallFor: *stallFor, MaxInFlight: *inFlight, EndpointMaxInFlight: *perEndpt},
		Gen:    GenOptions{Seed: *seed, Projects: *projects, Issues: *issues, Users: *users, LongHistories: *long, Histories: *every, LongComments: *longCom},
	}
	opts.CloudID, opts.ScopedToken, opts.DCSearchWhole, opts.SearchLag, opts.FeedPage = *cloudID, *scoped, *dcWhole, *searchLag, *feedPage
	if *oauthID != "" {
		opts.OAuth = &OAuthOptions{ClientID: *oauthID, ClientSecret: *oauthSec, RefreshToken: *oauthRT, TTL: *oauthTTL}
	}
	if err := opts.Faults.Validate(); err != nil {
		return fail("bad fault settings", "error", err)
	}
	if *now != "" {
		t, err := time.Parse(time.RFC3339, *now)
		if err != nil {
			return fail("--now must be RFC 3339", "now", *now)
		}
		opts.Gen.Now = t
	}
	start := time.Now()
	sim := New(opts)
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Error("listening", "addr", *addr, "error", err)
		return 1
	}
	port := ln.Addr().(*net.TCPAddr).Port
	if *portFile != "" {
		// Write then rename, so a script polling the file never reads half
		// a port number.
		tmp := filepath.Join(filepath.Dir(*portFile), "."+filepath.Base(*portFile)+".tmp")
		if err := os.WriteFile(tmp, []byte(strconv.Itoa(port)+"\n"), 0o644); err != nil {
			log.Error("writing port file", "error", err)
			return 1
		}
		if err := os.Rename(tmp, *portFile); err != nil {
			log.Error("writing port file", "error", err)
			return 1
		}
	}
	log.Info("jira-sim listening", "url", fmt.Sprintf("http://%s", ln.Addr()), "flavor", *flavor, "issues", len(sim.Data().Issues),
		"tz", loc.String(), "generated_in", time.Since(start).Round(time.Millisecond))
	srv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		log.Error("serving", "error", err)
		return 1
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error("shutting down", "error", err)
		return 1
	}
	return 0
}
