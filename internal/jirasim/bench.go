package jirasim

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tap-jira/tap-jira/internal/config"
)

// benchCommand is `jira-sim bench`: whole-sync benchmarks of a tap-jira
// binary against a simulated site with Cloud-like latency, printed side by
// side for each site size and concurrency.
func benchCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("jira-sim bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	tap := fs.String("tap", "bin/tap-jira", "the tap-jira binary")
	sizes := fs.String("issues", "20000,100000", "site sizes, comma-separated")
	concs := fs.String("concurrency", "1,default", `max_concurrency values, comma-separated; "default" leaves it unset (the tap's default for the flavor, marked *)`)
	seqMax := fs.Int("sequential-max", 20000, "skip max_concurrency=1 on sites bigger than this (it only shows memory)")
	latency := fs.Duration("latency", 50*time.Millisecond, "latency per request")
	jitter := fs.Duration("jitter", 10*time.Millisecond, "jitter around --latency")
	flavor := fs.String("flavor", "cloud", "cloud or datacenter")
	long := fs.Int("long-histories", 0, "changelog length of each project's issue with the most history (default 260 to 320)")
	longCom := fs.Int("long-comments", 0, "comments of each project's issue with the most comments (default 160 to 200)")
	every := fs.Int("histories", 0, "changelog length of every issue (default 0 to 8, more on a few)")
	inFlight := fs.Int("max-in-flight", 0, "the site's limit: a request arriving while this many are answered gets 429 with Retry-After 1 and no RateLimit-Reason (0: none)")
	perEndpoint := fs.Int("endpoint-max-in-flight", 0, "Jira Cloud's burst limit, per endpoint and method: a request arriving while this many to its endpoint are answered gets 429 with Retry-After 1 and RateLimit-Reason: jira-burst-based (0: none)")
	dcWhole := fs.Bool("dc-search-whole", false, "Data Center search embeds every changelog entry and comment, not the last 100 entries and first 20 comments")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	// The simulator shares the cores with the tap, and collecting its heap
	// (the site and its rendered pages) was a third of its CPU: real
	// Jira's collector runs on Jira's machines. A soft limit keeps the
	// larger sites from growing this process without end.
	defer debug.SetGCPercent(debug.SetGCPercent(800))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(2 << 30))
	fmt.Fprintf(stdout, "whole-sync benchmark: %s, latency %v ±%v, every stream, start_date one year back, %d cores\n", *flavor, *latency, *jitter, runtime.NumCPU())
	if *long > 0 {
		fmt.Fprintf(stdout, "each project's issue with the most history has %d changelog entries\n", *long)
	}
	if *every > 0 {
		fmt.Fprintf(stdout, "every issue has %d changelog entries\n", *every)
	}
	if *longCom > 0 {
		fmt.Fprintf(stdout, "each project's issue with the most comments has %d of them\n", *longCom)
	}
	if *dcWhole {
		fmt.Fprintf(stdout, "the Data Center search embeds every changelog entry and comment\n")
	}
	if *inFlight > 0 {
		fmt.Fprintf(stdout, "the site answers 429 (Retry-After 1) to a request that arrives while %d are being answered\n", *inFlight)
	}
	if *perEndpoint > 0 {
		fmt.Fprintf(stdout, "the site answers 429 (Retry-After 1, jira-burst-based) to a request that arrives while %d to its endpoint are being answered\n", *perEndpoint)
	}
	fmt.Fprintf(stdout, "CPU floor: (the tap's CPU + this process's, the simulator and the reader of the output) / cores, the shortest wall time these cores allow\n")
	fmt.Fprintf(stdout, "wire floor: the requests, conc at a time, each taking --latency: the shortest wall time conc requests in flight allow\n")
	fmt.Fprintf(stdout, "at most: the sequential wall time over the higher floor, the most a speed-up over it can be here\n")
	fmt.Fprintf(stdout, "*: max_concurrency not set, the tap's default for the flavor\n\n")
	fmt.Fprintf(stdout, "%8s %5s %9s %7s %9s %10s %9s %5s %12s %9s %10s %9s %9s %10s %7s\n", "issues", "conc", "wall", "vs 1", "records", "records/s", "requests", "429s", "req/1k iss.", "peak RSS", "CPU/record", "sim CPU", "CPU floor", "wire floor", "at most")
	for _, sz := range strings.Split(*sizes, ",") {
		issues, err := strconv.Atoi(strings.TrimSpace(sz))
		if err != nil {
			fmt.Fprintln(stderr, "jira-sim bench: bad --issues:", sz)
			return 2
		}
		sim := New(Options{
			Flavor: Flavor(*flavor), TZ: mustZone("America/Los_Angeles"), Email: "bench@example.com", Token: "bench-token",
			Faults:        Faults{Seed: 1, Latency: *latency, Jitter: *jitter, MaxInFlight: *inFlight, EndpointMaxInFlight: *perEndpoint},
			Gen:           GenOptions{Seed: 42, Issues: issues, Projects: 10, Users: 200, LongHistories: *long, Histories: *every, LongComments: *longCom},
			DCSearchWhole: *dcWhole,
		})
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			fmt.Fprintln(stderr, "jira-sim bench:", err)
			return 1
		}
		srv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = srv.Serve(ln) }()
		url := "http://" + ln.Addr().String()
		// A first sync renders every issue into the simulator's cache, so
		// the measured runs time the tap, not the simulator's JSON encoder
		// (real Jira's work happens on another machine).
		if _, err := benchRun(ctx, *tap, url, "8"); err != nil {
			fmt.Fprintln(stderr, "jira-sim bench: warm-up:", err)
			return 1
		}
		var sequential time.Duration // max_concurrency=1's wall time, for the speed-up
		for _, cs := range strings.Split(*concs, ",") {
			conc, label, err := benchConcurrency(cs, Flavor(*flavor))
			if err != nil {
				fmt.Fprintln(stderr, "jira-sim bench: bad --concurrency:", cs)
				return 2
			}
			if conc == 1 && issues > *seqMax {
				continue
			}
			sim.ResetStats()
			selfBefore := selfCPU()
			r, err := benchRun(ctx, *tap, url, label)
			simCPU := selfCPU() - selfBefore
			if err != nil {
				fmt.Fprintln(stderr, "jira-sim bench:", err)
				return 1
			}
			total, throttled := int64(0), int64(0)
			for _, byStatus := range sim.Stats() {
				for _, n := range byStatus {
					total += n
				}
				throttled += byStatus[http.StatusTooManyRequests]
			}
			synced := len(sim.Truth().Expected(r.start)["issues"])
			floor := (r.cpu + simCPU) / time.Duration(runtime.NumCPU())
			wire := wireFloor(total, conc, *latency)
			shown := strconv.Itoa(conc)
			if label == "" {
				shown += "*"
			}
			best := "—"
			if conc == 1 {
				sequential = r.wall
			} else {
				best = speedUp(sequential, max(floor, wire))
			}
			fmt.Fprintf(stdout, "%8d %5s %9s %7s %9d %10.0f %9d %5d %12.1f %8.0fM %9.1fµs %9s %9s %10s %7s\n",
				issues, shown, r.wall.Round(10*time.Millisecond), speedUp(sequential, r.wall), r.records, float64(r.records)/r.wall.Seconds(), total, throttled,
				float64(total)*1000/float64(max(synced, 1)), float64(r.maxRSS)/1024, float64(r.cpu.Microseconds())/float64(max(r.records, 1)),
				simCPU.Round(10*time.Millisecond), floor.Round(10*time.Millisecond), wire.Round(10*time.Millisecond), best)
		}
		_ = srv.Close()
	}
	return 0
}

// speedUp is how many times faster than sequential a run of wall was, "—"
// without a sequential run to compare with.
func speedUp(sequential, wall time.Duration) string {
	if sequential <= 0 || wall <= 0 {
		return "—"
	}
	return fmt.Sprintf("%.1fx", sequential.Seconds()/wall.Seconds())
}

// wireFloor is the shortest wall time in which requests round trips of
// latency each can be made, conc at a time: however little CPU they take
// and whatever waits on what, a speed-up over one at a time cannot pass
// conc, nor what the rounds leave of it.
func wireFloor(requests int64, conc int, latency time.Duration) time.Duration {
	if conc < 1 {
		return 0
	}
	rounds := (requests + int64(conc) - 1) / int64(conc)
	return time.Duration(rounds) * latency
}

type benchResult struct {
	start   time.Time
	wall    time.Duration
	records int
	maxRSS  int64 // KiB
	cpu     time.Duration
}

// benchRun runs one full sync of every stream and counts what came out
// without keeping it.
// benchConcurrency reads one --concurrency value: a number, or "default"
// for the tap's default on the flavor (label "", so that the config leaves
// max_concurrency out).
func benchConcurrency(v string, flavor Flavor) (conc int, label string, err error) {
	v = strings.TrimSpace(v)
	if v == "default" {
		if flavor == DataCenter {
			return config.DefaultConcurrencyDataCenter, "", nil
		}
		return config.DefaultConcurrencyCloud, "", nil
	}
	conc, err = strconv.Atoi(v)
	if err != nil || conc < 1 {
		return 0, "", fmt.Errorf("bad max_concurrency %q", v)
	}
	return conc, v, nil
}

// benchRun syncs the site once; conc is max_concurrency as the config
// gives it, "" to leave it out.
func benchRun(ctx context.Context, tap, url, conc string) (benchResult, error) {
	dir, err := os.MkdirTemp("", "tap-jira-bench")
	if err != nil {
		return benchResult{}, err
	}
	defer os.RemoveAll(dir)
	start := time.Now().UTC().AddDate(-1, 0, 0).Truncate(time.Hour)
	cfg := filepath.Join(dir, "config.json")
	setting := ""
	if conc != "" {
		setting = `, "max_concurrency": ` + conc
	}
	conf := fmt.Sprintf(`{"base_url": %q, "username": "bench@example.com", "password": "bench-token", "start_date": %q%s}`,
		url, start.Format(time.RFC3339), setting)
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		return benchResult{}, err
	}
	catalog, err := exec.CommandContext(ctx, tap, "--config", cfg, "--discover").Output()
	if err != nil {
		return benchResult{}, fmt.Errorf("discovering: %w", err)
	}
	selected := bytes.ReplaceAll(catalog, []byte(`"selected-by-default": false`), []byte(`"selected": true, "selected-by-default": false`))
	cat := filepath.Join(dir, "catalog.json")
	if err := os.WriteFile(cat, selected, 0o600); err != nil {
		return benchResult{}, err
	}
	cmd := exec.CommandContext(ctx, tap, "--config", cfg, "--catalog", cat, "--log-level", "warn")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return benchResult{}, err
	}
	began := time.Now()
	if err := cmd.Start(); err != nil {
		return benchResult{}, err
	}
	// ru_maxrss of a child started from this (large) process counts memory
	// shared before exec, so read the tap's own peak from /proc instead.
	peak := make(chan int64, 1)
	stopPoll := make(chan struct{})
	go func() {
		var hwm int64
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			if v := vmHWM(cmd.Process.Pid); v > hwm {
				hwm = v
			}
			select {
			case <-stopPoll:
				peak <- hwm
				return
			case <-t.C:
			}
		}
	}()
	records := 0
	sc := bufio.NewScanner(out)
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		if bytes.HasPrefix(sc.Bytes(), []byte(`{"type":"RECORD"`)) {
			records++
		}
	}
	wall := time.Since(began)
	close(stopPoll)
	maxRSS := <-peak
	if err := cmd.Wait(); err != nil {
		return benchResult{}, fmt.Errorf("tap-jira failed: %w\n%s", err, stderr.String())
	}
	res := benchResult{start: start, wall: wall, records: records, maxRSS: maxRSS}
	res.cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	return res, nil
}

// selfCPU is this process's user and system CPU so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// vmHWM reads a process's peak resident set (KiB) from /proc; 0 when it
// cannot.
func vmHWM(pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return n
		}
	}
	return 0
}

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		return time.UTC
	}
	return loc
}
