package jirasim

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"
)

// GenOptions control the generated site.
type GenOptions struct {
	Seed     uint64
	Projects int       // default 5 when 0
	Issues   int       // default 2000 when 0
	Users    int       // default 40 when 0
	Now      time.Time // the site's "now"; data spreads over the two years before it
	// LongHistories, when set, is the changelog length of each project's
	// issue with the most history (otherwise 260 to 320): a site with
	// issues automation has written to for years.
	LongHistories int
	// Histories, when set, is the changelog length of every issue: a site
	// whose issues automation writes to.
	Histories int
	// LongComments, when set, is the number of comments of each project's
	// issue with the most comments (otherwise 160 to 200): an issue a bot
	// has commented on for years.
	LongComments int
}

const (
	genDefaultProjects = 5
	genDefaultIssues   = 2000
	genDefaultUsers    = 40

	// genStream is the fixed second PCG word: the seed alone picks the site.
	genStream = 0x6a69_7261_7369_6d31 // "jirasim1"

	// genSiteURL prefixes the "self" links stored inside custom field
	// values; the generator cannot know the server's address.
	genSiteURL = "https://jirasim.atlassian.net"

	genFirstID        = 10000 // projects, issues, versions, components, ...
	genFirstOptionID  = 10100
	genFirstCommentID = 100000
	genIDBlock        = 100000 // child kinds start on separate 100000 blocks

	genMinute = int64(time.Minute / time.Millisecond)
	genHour   = int64(time.Hour / time.Millisecond)
	genDay    = 24 * genHour

	// genHeavyMin is the site size from which the issues with huge child
	// lists are planted.
	genHeavyMin = 50
)

// genDefaultNow keeps a zero GenOptions deterministic.
func genDefaultNow() time.Time { return time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC) }

// Status and priority IDs match a stock Jira Cloud site (and render.go).
var genStatuses = [...]struct{ ID, Name string }{
	{"10000", "To Do"},
	{"3", "In Progress"},
	{"10001", "Done"},
}

const (
	genToDo = iota
	genInProgress
	genDone
)

var genPriorities = [...]struct{ ID, Name string }{
	{"1", "Highest"}, {"2", "High"}, {"3", "Medium"}, {"4", "Low"}, {"5", "Lowest"},
}

var genIssueTypes = [...]string{"Task", "Task", "Task", "Task", "Bug", "Bug", "Bug", "Story", "Story", "Story", "Epic"}

var genResolutions = [...]struct{ Name, Description string }{
	{"Done", "Work has been completed on this issue."},
	{"Won't Do", "This issue won't be actioned."},
	{"Duplicate", "The problem is a duplicate of an existing issue."},
	{"Cannot Reproduce", "All attempts at reproducing this issue failed, or not enough information was available."},
}

var genCategories = [...]struct{ Name, Description string }{
	{"Engineering", "Product & platform teams"},
	{"Customer Support & Success", "Help desks, \"VIP\" queues"},
	{"Marketing — Ürün", "Kampanyalar ve içerik"},
	{"研究開発 (R&D)", "実験的なプロジェクト"},
}

var genProjectTypes = [...]struct{ Key, Formatted, Color, SVG string }{
	{"software", "Software", "#8777D9", `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><path fill="#8777D9" d="M2 2h12v12H2z"/></svg>`},
	{"business", "Business", "#2684FF", `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><circle fill="#2684FF" cx="8" cy="8" r="6"/></svg>`},
	{"service_desk", "Service Desk", "#FFAB00", `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><path fill="#FFAB00" d="M8 1l7 14H1z"/></svg>`},
	{"product_discovery", "Product Discovery", "#F15C75", `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><path fill="#F15C75" d="M8 1l2 5h5l-4 3 2 6-5-4-5 4 2-6-4-3h5z"/></svg>`},
}

var genRoles = [...]struct {
	ID          int
	Name        string
	Description string
}{
	{10000, "Users", "A project role that represents users in a project"},
	{10001, "Developers", "A project role that represents developers in a project"},
	{10002, "Administrators", "A project role that represents administrators in a project"},
	{10003, "Service Desk Team", "Members of the service desk team"},
	{10004, "atlassian-addons-project-access", "A project role that represents Connect add-ons declaring a scope that requires more than read issue permissions"},
}

// genPeople come first so that every site of a handful of users already has
// accents, CJK, right-to-left scripts, emoji and markup in display names.
var genPeople = [...]struct{ Display, Username string }{
	{"Alex Morgan", "amorgan"},
	{"山田太郎", "tyamada"},
	{"דנה לוי", "dlevi"},
	{"José Álvarez", "jalvarez"},
	{"محمد العلي", "malali"},
	{"Zoë Bergström 🚀", "zbergstrom"},
	{"Łukasz Żółć", "lzolc"},
	{"김민준", "mkim"},
	{"Renée \"Rae\" O'Connor", "roconnor"},
	{"Nguyễn Văn An", "anguyen"},
	{"Σοφία Παπαδοπούλου", "spapadopoulou"},
	{"Иван Петров", "ipetrov"},
	{"Chloé <Ops> & Co", "cdubois"},
	{"李小龍", "xlli"},
	{"Björn Þórsson", "bthorsson"},
	{"Priya Raman", "praman"},
}

var genFirstNames = [...]string{"Sam", "Jordan", "Taylor", "Maria", "Lena", "Omar", "Yuki", "Noa", "Kai", "Inés", "Mateo", "Aisha", "Lars", "Mei", "Tomás", "Fatima"}
var genLastNames = [...]string{"Carter", "Schmidt", "Rossi", "Tanaka", "Cohen", "Haddad", "Novák", "Silva", "Johansson", "Müller", "García", "Kowalski", "Dubois", "Khan"}

var genApps = [...]string{"Automation for Jira", "Slack 🤖", "Jira Service Management Widget"}
var genCustomers = [...]struct{ Display, Email string }{
	{"Émilie Durand (customer)", "emilie.durand@example.com"},
	{"Kunde Müller GmbH", "support@mueller-gmbh.example.de"},
}

// Half-hour and 45-minute offsets and southern-hemisphere DST are on purpose.
var genTimeZones = [...]string{"UTC", "Europe/Berlin", "America/Los_Angeles", "Asia/Tokyo", "Asia/Kolkata",
	"Australia/Adelaide", "America/St_Johns", "Asia/Kathmandu", "Asia/Jerusalem", "America/Sao_Paulo", "Pacific/Chatham"}
var genLocales = [...]string{"en_US", "en_GB", "de_DE", "ja_JP", "he_IL", "ar", "fr_FR", "pt_BR"}

var genProjectKeys = [...]struct{ Key, Name string }{
	{"ALPHA", "Alpha Platform"},
	{"BETA", "Beta Mobile — Ürün"},
	{"GAMMA", "Gamma Support Desk 🎧"},
	{"DELTA", "Delta Marketing & Growth"},
	{"EPSILON", "Epsilon 研究開発"},
	{"ZETA", "Zeta \"Core\" Services"},
	{"ETA", "Eta תשתיות"},
	{"THETA", "Theta البيانات"},
	{"IOTA", "Iota Infra"}, {"KAPPA", "Kappa"}, {"LAMBDA", "Lambda"}, {"MU", "Mu"},
	{"NU", "Nu"}, {"XI", "Xi"}, {"OMICRON", "Omicron"}, {"PI", "Pi"}, {"RHO", "Rho"},
	{"SIGMA", "Sigma"}, {"TAU", "Tau"}, {"UPSILON", "Upsilon"}, {"PHI", "Phi"},
	{"CHI", "Chi"}, {"PSI", "Psi"}, {"OMEGA", "Omega"},
}

var genAreas = [...]string{"Backend", "Frontend", "API", "Mobile", "Billing", "Search", "Auth", "Reporting",
	"Infra", "Data", "Notifications", "Admin", "Onboarding", "Payments", "Exports", "Integrations",
	"Über-Cache", "国際化", "תמיכה", "Docs & Help"}
var genSubAreas = [...]string{"Core", "UI", "Jobs", "Storage", "Edge", "Legacy", "Next", "Tools"}
var genAssigneeTypes = [...]string{"PROJECT_DEFAULT", "COMPONENT_LEAD", "PROJECT_LEAD", "UNASSIGNED"}

var genLabels = [...]string{"backend", "frontend", "bug-bash", "needs_triage", "tech-debt", "customer",
	"ünïcode", "日本", "regression", "security", "p0", "ux"}

var genSummaryTemplates = [...]string{
	"Fix crash when %s 🚀",
	"日本語のテキスト: %s が表示されない",
	"תקלה ב-%s",
	"خطأ في %s",
	"Support \"smart quotes\" & <html> in %s",
	"%s — edge case with ümlauts",
	"[UI] %s: 'single' quotes & ampersands",
	"Emoji 🐛🔥 in %s",
	"Improve %s",
	"%s",
}

var genTopics = [...]string{"the login page", "the REST API", "CSV export", "dark mode", "Übersicht",
	"検索", "the <script> tag", "R&D dashboards", "payments retry", "webhooks", "the mobile app", "SSO"}

var genDescriptions = [...]string{
	"",
	"h2. Steps to reproduce\n# Open the *board*\n# Click {{Save}} & wait\n\nExpected: no error. Actual: 500 🚀",
	"{code:java}\nif (a < b && c > d) { return \"ok\"; }\n{code}\n\nSee [the docs|https://example.com/?a=1&b=2].",
	"||Column||Wert||\n|ä|ö|\n|日本語のテキスト|テスト|\n\n_emphasis_ and -strike-",
	"שלום! הטקסט הזה מימין לשמאל. مرحبا بالعالم — mixed with English.",
	"<b>Not HTML</b> &amp; not escaped: <img src=x onerror=alert(1)>",
	"Line one\r\nLine two with a tab\tand a NUL-free \\ backslash.",
	"{quote}Customer says: “it's broken” 😡{quote}\n\n[~accountid:5b10a2844c20165700ede21g] please check.",
}

var genCommentBodies = [...]string{
	"Looks good to me 👍",
	"Can't reproduce on staging & prod.",
	"日本語のテキスト — 確認しました。",
	"בדקתי, עובד.",
	"تم الإصلاح في الإصدار التالي",
	"{code}SELECT * FROM t WHERE a < 1 AND b > 2{code}",
	"*Bold* _italic_ {{mono}} <html> \"quoted\"",
	"Deployed 🚀🚀🚀",
	"Duplicate of the other ticket, closing.",
	"",
}

var genWorklogComments = [...]string{"", "Investigation", "Code review & fixes", "ミーティング", "Pairing 🍐", "תיעוד"}
var genWorklogMinutes = [...]int{1, 15, 30, 30, 60, 60, 90, 120, 240, 480}

var genNotes = [...]string{"Follow up next sprint", "Überprüfung nötig", "要確認 ✅", "<b>not bold</b> & co", "נבדק"}
var genCustomerNames = [...]string{"ACME \"Global\" Corp", "Müller & Söhne", "株式会社テスト", "شركة المثال", ""}

var genStoryPoints = [...]string{"0.5", "1", "2", "3", "5", "8", "13", "21"}
var genSeverities = [...]string{"Critical 🔥", "Major", "Minor", "Trivial"}
var genPlatforms = [...]string{"iOS", "Android", "Web", "Desktop — Windows", "Linux 🐧"}

// Custom field IDs, in /field order.
const (
	genCFStoryPoints = "customfield_10020"
	genCFNotes       = "customfield_10021"
	genCFSeverity    = "customfield_10022"
	genCFTags        = "customfield_10023"
	genCFPlatforms   = "customfield_10024"
	genCFReviewer    = "customfield_10025"
	genCFTargetDate  = "customfield_10026"
	genCFDeployedAt  = "customfield_10027"
	genCFCustomer    = "customfield_10028"
)

const genCFPrefix = "com.atlassian.jira.plugin.system.customfieldtypes:"

var genFields = [...]Field{
	{ID: "issuekey", Name: "Key"}, // Jira sends no schema for it
	{ID: "summary", Name: "Summary", Schema: FieldType{Type: "string"}},
	{ID: "description", Name: "Description", Schema: FieldType{Type: "string"}},
	{ID: "environment", Name: "Environment", Schema: FieldType{Type: "string"}},
	{ID: "status", Name: "Status", Schema: FieldType{Type: "status"}},
	{ID: "priority", Name: "Priority", Schema: FieldType{Type: "priority"}},
	{ID: "assignee", Name: "Assignee", Schema: FieldType{Type: "user"}},
	{ID: "reporter", Name: "Reporter", Schema: FieldType{Type: "user"}},
	{ID: "creator", Name: "Creator", Schema: FieldType{Type: "user"}},
	{ID: "created", Name: "Created", Schema: FieldType{Type: "datetime"}},
	{ID: "updated", Name: "Updated", Schema: FieldType{Type: "datetime"}},
	{ID: "lastViewed", Name: "Last Viewed", Schema: FieldType{Type: "datetime"}},
	{ID: "statuscategorychangedate", Name: "Status Category Changed", Schema: FieldType{Type: "datetime"}},
	{ID: "labels", Name: "Labels", Schema: FieldType{Type: "array", Items: "string"}},
	{ID: "components", Name: "Components", Schema: FieldType{Type: "array", Items: "component"}},
	{ID: "fixVersions", Name: "Fix versions", Schema: FieldType{Type: "array", Items: "version"}},
	{ID: "versions", Name: "Affects versions", Schema: FieldType{Type: "array", Items: "version"}},
	{ID: "issuetype", Name: "Issue Type", Schema: FieldType{Type: "issuetype"}},
	{ID: "project", Name: "Project", Schema: FieldType{Type: "project"}},
	{ID: "resolution", Name: "Resolution", Schema: FieldType{Type: "resolution"}},
	{ID: "resolutiondate", Name: "Resolved", Schema: FieldType{Type: "datetime"}},
	{ID: "duedate", Name: "Due date", Schema: FieldType{Type: "date"}},
	{ID: "comment", Name: "Comment", Schema: FieldType{Type: "comments-page"}},
	{ID: "worklog", Name: "Log Work", Schema: FieldType{Type: "array", Items: "worklog"}},
	{ID: "timetracking", Name: "Time tracking", Schema: FieldType{Type: "timetracking"}},
	{ID: "timespent", Name: "Time Spent", Schema: FieldType{Type: "number"}},
	{ID: "timeoriginalestimate", Name: "Original estimate", Schema: FieldType{Type: "number"}},
	{ID: "watches", Name: "Watchers", Schema: FieldType{Type: "watches"}},
	{ID: "attachment", Name: "Attachment", Schema: FieldType{Type: "array", Items: "attachment"}},
	{ID: "issuelinks", Name: "Linked Issues", Schema: FieldType{Type: "array", Items: "issuelinks"}},
	{ID: "subtasks", Name: "Sub-tasks", Schema: FieldType{Type: "array", Items: "issuelinks"}},
	{ID: genCFStoryPoints, Name: "Story Points", Custom: true, Schema: FieldType{Type: "number", Custom: genCFPrefix + "float"}},
	{ID: genCFNotes, Name: "Équipe — notes 📝", Custom: true, Schema: FieldType{Type: "string", Custom: genCFPrefix + "textarea"}},
	{ID: genCFSeverity, Name: "Severity", Custom: true, Schema: FieldType{Type: "option", Custom: genCFPrefix + "select"}},
	{ID: genCFTags, Name: "Tags (legacy)", Custom: true, Schema: FieldType{Type: "array", Items: "string", Custom: genCFPrefix + "labels"}},
	{ID: genCFPlatforms, Name: "Affected platforms", Custom: true, Schema: FieldType{Type: "array", Items: "option", Custom: genCFPrefix + "multiselect"}},
	{ID: genCFReviewer, Name: "Reviewer 👀", Custom: true, Schema: FieldType{Type: "user", Custom: genCFPrefix + "userpicker"}},
	{ID: genCFTargetDate, Name: "Target date", Custom: true, Schema: FieldType{Type: "date", Custom: genCFPrefix + "datepicker"}},
	{ID: genCFDeployedAt, Name: "Deployed at", Custom: true, Schema: FieldType{Type: "datetime", Custom: genCFPrefix + "datetime"}},
	{ID: genCFCustomer, Name: "顧客名 \"Customer\" & Co", Custom: true, Schema: FieldType{Type: "string", Custom: genCFPrefix + "textfield"}},
}

// Transition pointers are shared by the issues of a site.
var genTransitionDefs = [...]Transition{
	{ID: "11", Name: "To Do", ToStatus: "To Do"},
	{ID: "21", Name: "In Progress", ToStatus: "In Progress"},
	{ID: "31", Name: "Done", ToStatus: "Done"},
	{ID: "41", Name: "Reopen", ToStatus: "To Do"},
}

// Child-count tables: most issues are small so huge sites stay cheap.
var genCommentCounts = [...]int{0, 0, 0, 1, 1, 2, 2, 3, 4, 5}
var genHistoryCounts = [...]int{0, 1, 1, 2, 2, 3, 3, 4, 5, 6, 7, 8}
var genWorklogCounts = [...]int{0, 0, 0, 0, 1, 1, 2, 3}

// Trap roles an issue can play; an issue plays at most one.
const (
	genRoleFree uint8 = iota
	genRoleHeavyComments
	genRoleHeavyHistories
	genRoleHeavyWorklogs
	genRoleGroup  // shares its exact Updated with 1–2 other issues
	genRoleMinute // Updated on a whole minute
	genRoleRecent // Updated within the last hour
)

// Generate builds a site deterministically: the same options give the same
// Data, field for field. Issue-level custom values, transitions and user
// maps are shared between issues, so treat the Data as read-only except for
// replacing whole values.
func Generate(opts GenOptions) *Data {
	if opts.Projects <= 0 {
		opts.Projects = genDefaultProjects
	}
	if opts.Issues <= 0 {
		opts.Issues = genDefaultIssues
	}
	if opts.Users <= 0 {
		opts.Users = genDefaultUsers
	}
	if opts.Now.IsZero() {
		opts.Now = genDefaultNow()
	}
	now := opts.Now.UnixMilli()
	g := &genSite{
		long:         opts.LongHistories,
		every:        opts.Histories,
		longComments: opts.LongComments,
		r:            rand.New(rand.NewPCG(opts.Seed, genStream)),
		d:            &Data{},
		now:          now,
		start:        opts.Now.AddDate(-2, 0, 0).UnixMilli(),
		year:         opts.Now.AddDate(-1, 0, 0).UnixMilli(),
	}
	g.meta()
	g.users(opts.Users)
	g.roles()
	g.projects(opts.Projects)
	g.fields()
	g.issues(opts.Issues)
	g.childIDs()
	return g.d
}

// genSite holds the generator state; all randomness comes from r.
type genSite struct {
	long             int // GenOptions.LongHistories
	every            int // GenOptions.Histories
	longComments     int // GenOptions.LongComments
	r                *rand.Rand
	d                *Data
	now, start, year int64 // ms since the epoch

	assignable []*User // active atlassian accounts
	staff      []*User // all atlassian accounts
	apps       []*User
	customers  []*User
	userMaps   map[*User]map[string]any // lookup only, never iterated
	severity   []map[string]any
	platforms  []map[string]any
	trans      [3][3][]*Transition // by status, then variant
	weights    []float64           // cumulative issue share per project

	// Interface values boxed once: boxing per issue dominated allocations.
	points, notes, customerNames, labels []any
}

type genDeleted struct{ created, deleted int64 }

func genTime(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// between returns a uniform instant in [a, b].
func (g *genSite) between(a, b int64) int64 {
	if b <= a {
		return a
	}
	return a + g.r.Int64N(b-a+1)
}

func (g *genSite) chance(pct int) bool { return g.r.IntN(100) < pct }

func (g *genSite) uuid() string {
	hi, lo := g.r.Uint64(), g.r.Uint64()
	hi = hi&^0xf000 | 0x4000 // version 4
	lo = lo&^(0xc<<60) | 0x8<<60
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", hi>>32, hi>>16&0xffff, hi&0xffff, lo>>48, lo&0xffffffffffff)
}

func (g *genSite) meta() {
	nc := 3 + g.r.IntN(2)
	for i := range nc {
		c := genCategories[i]
		g.d.Categories = append(g.d.Categories, &Category{ID: genFirstID + i, Name: c.Name, Description: c.Description})
	}
	for _, t := range genProjectTypes {
		g.d.ProjectTypes = append(g.d.ProjectTypes, &ProjectType{
			Key:                t.Key,
			FormattedKey:       t.Formatted,
			DescriptionI18nKey: "jira.project.type." + t.Key + ".description",
			Icon:               base64.StdEncoding.EncodeToString([]byte(t.SVG)),
			Color:              t.Color,
		})
	}
	for i, r := range genResolutions {
		g.d.Resolutions = append(g.d.Resolutions, &Resolution{ID: genFirstID + i, Name: r.Name, Description: r.Description})
	}
	// Copies, so that no site can change the table or another site.
	defs := make([]*Transition, len(genTransitionDefs))
	for i, t := range genTransitionDefs {
		defs[i] = &t
	}
	for st := range genStatuses {
		var others []*Transition
		for i := range 3 {
			if i != st {
				others = append(others, defs[i])
			}
		}
		all := append(slices.Clone(others), defs[st])
		slices.SortFunc(all, func(a, b *Transition) int { return strings.Compare(a.ID, b.ID) })
		g.trans[st][0] = others
		g.trans[st][1] = all
		g.trans[st][2] = all
		if st == genDone {
			g.trans[st][2] = append(slices.Clone(all), defs[3])
		}
	}
	g.points = make([]any, len(genStoryPoints))
	for i, v := range genStoryPoints {
		g.points[i] = json.Number(v)
	}
	g.notes, g.customerNames, g.labels = genBox(genNotes[:]), genBox(genCustomerNames[:]), genBox(genLabels[:])
	for i, v := range genSeverities {
		g.severity = append(g.severity, genOption(genFirstOptionID+i, v))
	}
	for i, v := range genPlatforms {
		g.platforms = append(g.platforms, genOption(genFirstOptionID+len(genSeverities)+i, v))
	}
}

func genBox(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

func genOption(id int, value string) map[string]any {
	s := strconv.Itoa(id)
	return map[string]any{"self": genSiteURL + "/rest/api/2/customFieldOption/" + s, "value": value, "id": s}
}

func (g *genSite) users(n int) {
	taken := make(map[string]bool, n) // membership only
	username := func(base string) string {
		name := base
		for k := 2; taken[name]; k++ {
			name = base + strconv.Itoa(k)
		}
		taken[name] = true
		return name
	}
	customerAt := map[int]int{} // index → customer number; lookup only
	if n >= 5 {
		customerAt[n-1] = 0
	}
	if n >= 20 {
		customerAt[n-2] = 1
	}
	person := 0
	g.userMaps = make(map[*User]map[string]any, n)
	for i := range n {
		u := &User{
			Active:      true,
			AccountType: "atlassian",
			TimeZone:    genTimeZones[g.r.IntN(len(genTimeZones))],
			Locale:      genLocales[g.r.IntN(len(genLocales))],
		}
		c, isCustomer := customerAt[i]
		isApp := !isCustomer && i != 0 && (i == 1 || (n >= 12 && i == n/2) || (n >= 30 && i == n/3))
		switch {
		case isCustomer:
			cu := genCustomers[c]
			u.AccountType, u.DisplayName, u.Email = "customer", cu.Display, cu.Email
			u.AccountID = "qm:" + g.uuid() + ":" + g.uuid()
			u.Name = username(strings.SplitN(cu.Email, "@", 2)[0])
		case isApp:
			a := min(len(g.apps), len(genApps)-1)
			u.AccountType, u.DisplayName = "app", genApps[a]
			u.AccountID = "557058:" + g.uuid()
			u.Name = username(strings.ToLower(strings.Fields(genApps[a])[0]))
			u.TimeZone, u.Locale = "UTC", "en_US"
		default:
			if person < len(genPeople) {
				u.DisplayName = genPeople[person].Display
				u.Name = username(genPeople[person].Username)
			} else {
				f := genFirstNames[g.r.IntN(len(genFirstNames))]
				l := genLastNames[g.r.IntN(len(genLastNames))]
				u.DisplayName = f + " " + l
				u.Name = username(strings.ToLower(genASCII(f[:1] + l)))
			}
			person++
			if g.chance(50) {
				u.AccountID = fmt.Sprintf("%08x%016x", g.r.Uint32(), g.r.Uint64())
			} else {
				u.AccountID = "712020:" + g.uuid()
			}
			if i == 0 || !g.chance(20) {
				u.Email = u.Name + "@example.com"
			}
			// Index 3 is always deactivated so small sites have one too.
			u.Active = i == 0 || (i != 3 && !g.chance(10))
		}
		if i == 0 {
			// A non-UTC zone for "myself" exposes time-zone-dependent JQL.
			u.TimeZone, u.Locale = "America/New_York", "en_US"
		}
		// Data Center: old accounts kept their username as key, newer ones
		// got JIRAUSER keys.
		u.Key = "JIRAUSER" + strconv.Itoa(10100+i)
		if i%3 == 1 {
			u.Key = u.Name
		}
		g.d.Users = append(g.d.Users, u)
		g.userMaps[u] = map[string]any{"accountId": u.AccountID, "accountType": u.AccountType, "displayName": u.DisplayName, "active": u.Active}
		switch {
		case u.AccountType == "app":
			g.apps = append(g.apps, u)
		case u.AccountType == "customer":
			g.customers = append(g.customers, u)
		default:
			g.staff = append(g.staff, u)
			if u.Active {
				g.assignable = append(g.assignable, u)
			}
		}
	}
}

// genASCII folds the few non-ASCII letters of the name tables for usernames.
func genASCII(s string) string {
	return strings.NewReplacer("á", "a", "é", "e", "í", "i", "ü", "u", "ö", "o", "Ö", "O", "ñ", "n").Replace(s)
}

func (g *genSite) pick(users []*User) *User { return users[g.r.IntN(len(users))] }

func (g *genSite) roles() {
	for _, r := range genRoles {
		role := &Role{ID: r.ID, Name: r.Name, Description: r.Description}
		switch r.Name {
		case "Administrators":
			role.Actors = []*User{g.d.Users[0]}
		case "atlassian-addons-project-access":
			role.Actors = slices.Clone(g.apps)
		default:
			for range 1 + g.r.IntN(3) {
				if u := g.pick(g.staff); !slices.Contains(role.Actors, u) {
					role.Actors = append(role.Actors, u)
				}
			}
		}
		g.d.Roles = append(g.d.Roles, role)
	}
}

func (g *genSite) projects(n int) {
	versionID, componentID := genFirstID, genFirstID
	var total float64
	for i := range n {
		k := genProjectKeys[i%len(genProjectKeys)]
		key, name := k.Key, k.Name
		if i >= len(genProjectKeys) {
			suffix := genLetters(i / len(genProjectKeys))
			key, name = key+suffix, name+" "+suffix
		}
		p := &Project{
			ID:          genFirstID + i,
			Key:         key,
			Name:        name,
			Description: "Project " + name + " — <b>tracked</b> & shipped",
			Lead:        g.pick(g.assignable),
		}
		switch i {
		case 0:
			p.TypeKey = "software"
		case 1:
			p.TypeKey, p.Simplified = "software", true
		case 2:
			p.TypeKey = "service_desk"
		case 3:
			p.TypeKey, p.Simplified = "business", true
		case 4:
			p.TypeKey, p.Simplified = "product_discovery", true
		default:
			p.TypeKey, p.Simplified = genProjectTypes[g.r.IntN(len(genProjectTypes))].Key, g.chance(50)
		}
		if i%3 != 1 {
			p.Category = g.d.Categories[(i/3+i%3/2)%len(g.d.Categories)]
		}
		nv, nc := 2+g.r.IntN(5), 1+g.r.IntN(5)
		if i == 0 {
			// More than two pages of 50 plus a partial one.
			nv, nc = 130+g.r.IntN(10), 125+g.r.IntN(10)
		}
		for v := range nv {
			p.Versions = append(p.Versions, g.version(versionID, v, nv))
			versionID++
		}
		for c := range nc {
			p.Components = append(p.Components, g.component(componentID, c, nc))
			componentID++
		}
		g.d.Projects = append(g.d.Projects, p)
		// The first projects get most issues, like a real site.
		total += 1 / float64(i+1)
		g.weights = append(g.weights, total)
	}
	for i := range g.weights {
		g.weights[i] /= total
	}
}

// genLetters spells k ≥ 1 as A, B, ..., Z, AA, AB, ...
func genLetters(k int) string {
	var b []byte
	for ; k > 0; k = (k - 1) / 26 {
		b = append([]byte{byte('A' + (k-1)%26)}, b...)
	}
	return string(b)
}

func (g *genSite) version(id, k, n int) *Version {
	v := &Version{ID: id, Name: fmt.Sprintf("%d.%d.%d", 1+k/40, k%40/8, k%8)}
	if k%17 == 5 {
		v.Name = "Release “Kraków” 🚀 " + v.Name
	}
	if g.chance(60) {
		v.Description = "Version " + v.Name + " & fixes"
	}
	// Releases march from two years ago to a quarter ahead of now.
	span := g.now + 90*genDay - g.start
	rel := g.start + span*int64(k+1)/int64(n+1) + g.between(-5*genDay, 5*genDay)
	begin := rel - g.between(7*genDay, 60*genDay)
	v.Released = rel < g.now && !g.chance(10)
	v.Archived = v.Released && rel < g.year && g.chance(40)
	if !g.chance(15) {
		v.ReleaseDate = genTime(rel).Format(time.DateOnly)
	}
	if !g.chance(30) {
		v.StartDate = genTime(max(begin, g.start)).Format(time.DateOnly)
	}
	v.Overdue = !v.Released && v.ReleaseDate != "" && rel < g.now-genDay
	return v
}

func (g *genSite) component(id, k, n int) *Component {
	name := genAreas[k%len(genAreas)]
	if n > len(genAreas) {
		name += " / " + genSubAreas[k/len(genAreas)%len(genSubAreas)]
	}
	c := &Component{ID: id, Name: name, AssigneeType: genAssigneeTypes[g.r.IntN(len(genAssigneeTypes))]}
	if g.chance(50) {
		c.Description = "Everything about " + name
	}
	if g.chance(70) {
		c.Lead = g.pick(g.assignable)
	}
	return c
}

func (g *genSite) fields() {
	for _, f := range genFields {
		f.Key = f.ID
		g.d.Fields = append(g.d.Fields, &f)
	}
}

// genPlan says which trap each issue plays and, for most traps, its Updated.
type genPlan struct {
	role    []uint8
	updated []int64
}

func (g *genSite) plan(created []int64) genPlan {
	n := len(created)
	p := genPlan{role: make([]uint8, n), updated: make([]int64, n)}
	claim := func(from int, role uint8) int {
		for i := max(from, 0); i < n; i++ {
			if p.role[i] == genRoleFree {
				p.role[i] = role
				return i
			}
		}
		return -1
	}
	if n >= genHeavyMin {
		// Old issues, so their children spread over many months.
		for _, role := range []uint8{genRoleHeavyComments, genRoleHeavyHistories, genRoleHeavyWorklogs} {
			i := claim(n/10, role)
			p.updated[i] = g.between(max(created[i], g.now-60*genDay), g.now-2*genHour)
		}
	}
	// Groups of 3, 2 and 3 issues updated in the very same millisecond.
	for _, grp := range [][2]int{{n / 4, 3}, {n / 2, 2}, {3 * n / 4, 3}} {
		var members []int
		for range grp[1] {
			if i := claim(grp[0], genRoleGroup); i >= 0 {
				members = append(members, i)
			}
		}
		if len(members) < 2 {
			for _, i := range members {
				p.role[i] = genRoleFree
			}
			continue
		}
		latest := created[members[len(members)-1]]
		t := g.between(latest, min(g.now-2*genHour, latest+30*genDay))
		for _, i := range members {
			p.updated[i] = max(t, created[i])
		}
	}
	for k := 1; k <= 7; k++ {
		i := claim(n*k/8, genRoleMinute)
		if i < 0 {
			break
		}
		t := g.between(created[i], min(g.now-genMinute, created[i]+90*genDay))
		t -= t % genMinute
		if t < created[i] {
			t += genMinute
		}
		if t > g.now {
			p.role[i] = genRoleFree
			continue
		}
		p.updated[i] = t
	}
	// The newest issues old enough to have been touched in the last hour;
	// the last one exactly 30 s before now.
	targets := []int64{g.now - g.between(40*genMinute, 58*genMinute), g.now - g.between(2*genMinute, 20*genMinute), g.now - 30_000}
	i := n - 1
	for _, t := range targets {
		for ; i >= 0 && (p.role[i] != genRoleFree || created[i] > t-genHour); i-- {
		}
		if i < 0 {
			break
		}
		p.role[i], p.updated[i] = genRoleRecent, t
		i--
	}
	return p
}

func (g *genSite) projectIndex() int {
	x := g.r.Float64()
	i, _ := slices.BinarySearch(g.weights, x)
	return min(i, len(g.weights)-1)
}

func (g *genSite) issues(n int) {
	created := make([]int64, n)
	for i := range created {
		created[i] = g.start + 1 + g.r.Int64N(g.now-g.start)
	}
	slices.Sort(created)
	plan := g.plan(created)

	issueID := genFirstID
	next := make([]int, len(g.d.Projects))
	g.d.Issues = make([]*Issue, 0, n)
	for i, c := range created {
		pi := g.projectIndex()
		role := plan.role[i]
		if role == genRoleHeavyComments || role == genRoleHeavyHistories || role == genRoleHeavyWorklogs {
			pi = 0
		}
		p := g.d.Projects[pi]
		// Deleted and moved issues leave gaps in IDs and key numbers.
		if g.chance(2) {
			issueID += 1 + g.r.IntN(3)
		}
		next[pi]++
		if g.chance(2) {
			next[pi] += 1 + g.r.IntN(3)
		}
		is := &Issue{
			ID:      issueID,
			Key:     p.Key + "-" + strconv.Itoa(next[pi]),
			Project: p,
			Created: genTime(c),
		}
		issueID++
		u := plan.updated[i]
		if role == genRoleFree {
			u = g.freeUpdated(c)
		}
		g.fill(is, c, u, role)
		g.d.Issues = append(g.d.Issues, is)
	}
}

// freeUpdated picks an ordinary issue's last update: many are never touched
// after creation, most settle within days, some are still active.
func (g *genSite) freeUpdated(c int64) int64 {
	switch x := g.r.IntN(100); {
	case x < 15:
		return c
	case x < 60:
		return g.between(c, min(g.now, c+7*genDay))
	case x < 85:
		return g.between(c, min(g.now, c+120*genDay))
	default:
		return g.between(c, g.now)
	}
}

// genWalk is the state the changelog walks through; the issue ends up in
// its final state, so histories and fields agree.
type genWalk struct {
	status, priority int
	resolution       *Resolution
	assignee         *User
	labels           []string
	points, severity int // indexes into their tables, -1 when unset
}

func (g *genSite) fill(is *Issue, c, u int64, role uint8) {
	p := is.Project
	is.IssueType = genIssueTypes[g.r.IntN(len(genIssueTypes))]
	is.Summary = fmt.Sprintf(genSummaryTemplates[g.r.IntN(len(genSummaryTemplates))], genTopics[g.r.IntN(len(genTopics))])
	is.Description = genDescriptions[g.r.IntN(len(genDescriptions))]
	is.Reporter = g.reporter(p)
	is.Creator = is.Reporter
	if len(g.apps) > 0 && g.chance(10) {
		is.Creator = g.apps[0]
	}
	for range g.r.IntN(3) {
		if v := p.Versions[g.r.IntN(len(p.Versions))]; !slices.Contains(is.FixVersions, v) {
			is.FixVersions = append(is.FixVersions, v)
		}
	}
	for range g.r.IntN(3) {
		if cp := p.Components[g.r.IntN(len(p.Components))]; !slices.Contains(is.Components, cp) {
			is.Components = append(is.Components, cp)
		}
	}

	w := genWalk{priority: g.r.IntN(len(genPriorities)), points: -1, severity: -1}
	if g.chance(80) {
		w.assignee = g.assignee()
	}
	for range g.r.IntN(3) {
		w.labels = genAddLabel(w.labels, genLabels[g.r.IntN(len(genLabels))])
	}
	if g.chance(50) {
		w.points = g.r.IntN(len(genStoryPoints))
	}
	if g.chance(50) {
		w.severity = g.r.IntN(len(genSeverities))
	}

	touched := u > c
	count := func(heavy uint8, base, spread int, table []int) int {
		switch {
		case role == heavy:
			return base + g.r.IntN(spread)
		case !touched:
			return 0
		}
		return table[g.r.IntN(len(table))]
	}
	ncom := count(genRoleHeavyComments, 160, 40, genCommentCounts[:])
	nhist := count(genRoleHeavyHistories, 260, 60, genHistoryCounts[:])
	if g.every > 0 {
		nhist = g.every
	}
	if role == genRoleHeavyHistories && g.long > 0 {
		nhist = g.long
	}
	if role == genRoleHeavyComments && g.longComments > 0 {
		ncom = g.longComments
	}
	nwl := count(genRoleHeavyWorklogs, 45, 15, genWorklogCounts[:])
	if role == genRoleGroup {
		nwl = max(nwl, 1)
	}

	g.histories(is, &w, c, u, nhist)
	is.Status = genStatuses[w.status].Name
	is.Priority = genPriorities[w.priority].Name
	is.Resolution = w.resolution
	is.Assignee = w.assignee
	is.Labels = w.labels
	g.comments(is, c, u, ncom)
	g.worklogs(is, c, u, nwl, role)
	is.Updated = genTime(u)
	is.Transitions = g.trans[w.status][g.r.IntN(3)]
	is.Custom = g.custom(is, &w, c, u)
}

func genAddLabel(labels []string, l string) []string {
	if slices.Contains(labels, l) {
		return labels
	}
	out := append(slices.Clone(labels), l)
	slices.Sort(out) // Jira keeps labels sorted
	return out
}

func (g *genSite) reporter(p *Project) *User {
	switch {
	case p.TypeKey == "service_desk" && len(g.customers) > 0 && g.chance(50):
		return g.pick(g.customers)
	case len(g.apps) > 0 && g.chance(5):
		return g.apps[0]
	}
	return g.pick(g.staff)
}

// assignee is usually an active account, sometimes a deactivated one.
func (g *genSite) assignee() *User {
	if g.chance(5) {
		return g.pick(g.staff)
	}
	return g.pick(g.assignable)
}

// times returns k sorted instants in [a, b]; the last one is often b itself,
// the change that bumped the issue's Updated.
func (g *genSite) times(k int, a, b int64) []int64 {
	ts := make([]int64, k)
	for i := range ts {
		ts[i] = g.between(a, b)
	}
	slices.Sort(ts)
	if k > 0 && g.chance(40) {
		ts[k-1] = b
	}
	return ts
}

func (g *genSite) histories(is *Issue, w *genWalk, c, u int64, k int) {
	if k == 0 {
		return
	}
	is.Histories = make([]*History, 0, k)
	for _, t := range g.times(k, c, u) {
		h := &History{Author: g.pick(g.staff), Created: genTime(t)}
		if len(g.apps) > 0 && g.chance(10) {
			h.Author = g.apps[0]
		}
		// Work mostly starts with a status change, so old issues end Done.
		x := g.r.IntN(100)
		if len(is.Histories) == 0 && x < 75 || w.status != genDone && x < 45 || x < 15 {
			h.Items = g.statusChange(w)
			if g.chance(30) {
				h.Items = append(h.Items, g.assigneeChange(w))
			}
		} else {
			switch x % 5 {
			case 0:
				h.Items = []HistoryItem{g.assigneeChange(w)}
			case 1:
				old := w.priority
				w.priority = (old + 1 + g.r.IntN(len(genPriorities)-1)) % len(genPriorities)
				from, to := genPriorities[old], genPriorities[w.priority]
				h.Items = []HistoryItem{{Field: "priority", FieldType: "jira", FieldID: "priority", From: from.ID, FromString: from.Name, To: to.ID, ToString: to.Name}}
			case 2:
				old := strings.Join(w.labels, " ")
				if len(w.labels) > 0 && g.chance(40) {
					w.labels = slices.Delete(slices.Clone(w.labels), 0, 1)
				} else {
					w.labels = genAddLabel(w.labels, genLabels[g.r.IntN(len(genLabels))])
				}
				h.Items = []HistoryItem{{Field: "labels", FieldType: "jira", FieldID: "labels", FromString: old, ToString: strings.Join(w.labels, " ")}}
			case 3:
				item := HistoryItem{Field: "Story Points", FieldType: "custom", FieldID: genCFStoryPoints}
				if w.points >= 0 {
					item.FromString = genStoryPoints[w.points]
				}
				w.points = (w.points + 1 + g.r.IntN(len(genStoryPoints)-1)) % len(genStoryPoints)
				item.ToString = genStoryPoints[w.points]
				h.Items = []HistoryItem{item}
			default:
				item := HistoryItem{Field: "Severity", FieldType: "custom", FieldID: genCFSeverity}
				if w.severity >= 0 {
					item.From, item.FromString = strconv.Itoa(genFirstOptionID+w.severity), genSeverities[w.severity]
				}
				w.severity = (w.severity + 1 + g.r.IntN(len(genSeverities)-1)) % len(genSeverities)
				item.To, item.ToString = strconv.Itoa(genFirstOptionID+w.severity), genSeverities[w.severity]
				h.Items = []HistoryItem{item}
			}
		}
		is.Histories = append(is.Histories, h)
	}
}

// statusChange moves the walk mostly forward, sometimes reopening, and
// sets or clears the resolution alongside, as Jira does.
func (g *genSite) statusChange(w *genWalk) []HistoryItem {
	old := w.status
	switch old {
	case genToDo:
		w.status = genInProgress
		if g.chance(30) {
			w.status = genDone
		}
	case genInProgress:
		w.status = genDone
		if g.chance(25) {
			w.status = genToDo
		}
	default:
		w.status = genInProgress
		if g.chance(40) {
			w.status = genToDo
		}
	}
	from, to := genStatuses[old], genStatuses[w.status]
	items := make([]HistoryItem, 1, 3) // room for resolution and assignee
	items[0] = HistoryItem{Field: "status", FieldType: "jira", FieldID: "status", From: from.ID, FromString: from.Name, To: to.ID, ToString: to.Name}
	res := HistoryItem{Field: "resolution", FieldType: "jira", FieldID: "resolution"}
	switch {
	case w.status == genDone:
		w.resolution = g.d.Resolutions[0]
		if g.chance(25) {
			w.resolution = g.d.Resolutions[1+g.r.IntN(len(g.d.Resolutions)-1)]
		}
		res.To, res.ToString = strconv.Itoa(w.resolution.ID), w.resolution.Name
		items = append(items, res)
	case old == genDone:
		res.From, res.FromString = strconv.Itoa(w.resolution.ID), w.resolution.Name
		w.resolution = nil
		items = append(items, res)
	}
	return items
}

func (g *genSite) assigneeChange(w *genWalk) HistoryItem {
	item := HistoryItem{Field: "assignee", FieldType: "jira", FieldID: "assignee"}
	if w.assignee != nil {
		item.From, item.FromString = w.assignee.AccountID, w.assignee.DisplayName
	}
	old := w.assignee
	for w.assignee == old {
		w.assignee = nil
		if g.chance(85) {
			w.assignee = g.assignee()
		}
	}
	if w.assignee != nil {
		item.To, item.ToString = w.assignee.AccountID, w.assignee.DisplayName
	}
	return item
}

func (g *genSite) comments(is *Issue, c, u int64, k int) {
	if k == 0 {
		return
	}
	is.Comments = make([]*Comment, 0, k)
	for _, t := range g.times(k, c, u) {
		cm := &Comment{Author: g.pick(g.staff), Body: genCommentBodies[g.r.IntN(len(genCommentBodies))], Created: genTime(t), Updated: genTime(t)}
		switch x := g.r.IntN(100); {
		case x < 8 && len(g.apps) > 0:
			cm.Author = g.apps[0]
		case x < 15 && len(g.customers) > 0 && is.Project.TypeKey == "service_desk":
			cm.Author = g.pick(g.customers)
		case x < 25 && is.Assignee != nil:
			cm.Body = "[~accountid:" + is.Assignee.AccountID + "] " + cm.Body
		}
		if g.chance(10) {
			cm.Updated = genTime(g.between(t, u)) // edited later
		}
		is.Comments = append(is.Comments, cm)
	}
}

func (g *genSite) worklogs(is *Issue, c, u int64, k int, role uint8) {
	if k == 0 {
		return
	}
	is.Worklogs = make([]*Worklog, 0, k)
	for _, t := range g.times(k, c, u) {
		st := g.between(c, t)
		if m := st - st%genMinute; m >= c {
			st = m // the UI logs whole minutes
		}
		wl := &Worklog{
			IssueID:          is.ID,
			Author:           g.pick(g.staff),
			Comment:          genWorklogComments[g.r.IntN(len(genWorklogComments))],
			Started:          genTime(st),
			Created:          genTime(t),
			Updated:          genTime(t),
			TimeSpentSeconds: 60 * genWorklogMinutes[g.r.IntN(len(genWorklogMinutes))],
		}
		if g.chance(15) {
			wl.Updated = genTime(g.between(t, u))
		}
		is.Worklogs = append(is.Worklogs, wl)
	}
	// Worklogs edited in one go share their Updated: the newest five on the
	// heavy issue, the newest one on each member of an Updated group (whose
	// Updated is the group's instant).
	switch role {
	case genRoleHeavyWorklogs:
		last := is.Worklogs[k-5:]
		at := genTime(g.between(last[4].Created.UnixMilli(), u))
		for _, wl := range last {
			wl.Updated = at
		}
	case genRoleGroup:
		is.Worklogs[k-1].Updated = genTime(u)
	}
	slices.SortStableFunc(is.Worklogs, func(a, b *Worklog) int { return a.Started.Compare(b.Started) })
}

func (g *genSite) custom(is *Issue, w *genWalk, c, u int64) map[string]any {
	m := make(map[string]any, 8) // one map group; rarely all 9 fields are present
	// unset leaves a field out or sets it to null, both happen in Jira.
	unset := func(id string) {
		if g.chance(50) {
			m[id] = nil
		}
	}
	if w.points >= 0 {
		m[genCFStoryPoints] = g.points[w.points]
	} else {
		unset(genCFStoryPoints)
	}
	if g.chance(60) {
		m[genCFNotes] = g.notes[g.r.IntN(len(g.notes))]
	} else {
		unset(genCFNotes)
	}
	if w.severity >= 0 {
		m[genCFSeverity] = g.severity[w.severity]
	} else {
		unset(genCFSeverity)
	}
	if g.chance(60) {
		tags := make([]any, 1+g.r.IntN(3))
		for i := range tags {
			tags[i] = g.labels[g.r.IntN(len(g.labels))]
		}
		m[genCFTags] = tags
	} else {
		unset(genCFTags)
	}
	if g.chance(50) {
		first := g.r.IntN(len(g.platforms))
		opts := make([]any, 1+g.r.IntN(3))
		for i := range opts {
			opts[i] = g.platforms[(first+i)%len(g.platforms)]
		}
		m[genCFPlatforms] = opts
	} else {
		unset(genCFPlatforms)
	}
	if g.chance(50) {
		m[genCFReviewer] = g.userMaps[g.pick(g.staff)]
	} else {
		unset(genCFReviewer)
	}
	if g.chance(50) {
		m[genCFTargetDate] = genTime(g.between(c, g.now)).Format(time.DateOnly)
	} else {
		unset(genCFTargetDate)
	}
	if is.Status == "Done" && g.chance(60) {
		m[genCFDeployedAt] = genTime(g.between(c, u))
	} else {
		unset(genCFDeployedAt)
	}
	if is.Project.TypeKey == "service_desk" || g.chance(10) {
		m[genCFCustomer] = g.customerNames[g.r.IntN(len(g.customerNames))]
	} else {
		unset(genCFCustomer)
	}
	return m
}

// childIDs numbers comments, histories and worklogs in creation order across
// the whole site, as Jira's sequences do. Deleted worklogs take numbers
// from the same sequence, so live worklog IDs have gaps.
func (g *genSite) childIDs() {
	var nc, nh, nw int
	for _, is := range g.d.Issues {
		nc, nh, nw = nc+len(is.Comments), nh+len(is.Histories), nw+len(is.Worklogs)
	}
	comments, histories, worklogs := make([]*Comment, 0, nc), make([]*History, 0, nh), make([]*Worklog, 0, nw)
	for _, is := range g.d.Issues {
		comments = append(comments, is.Comments...)
		histories = append(histories, is.Histories...)
		worklogs = append(worklogs, is.Worklogs...)
	}

	id := genFirstCommentID
	for _, k := range genByTime(len(comments), func(i int) time.Time { return comments[i].Created }) {
		comments[k.i].ID = id
		id++
	}
	id = genNextBlock(id + 1)
	for _, k := range genByTime(len(histories), func(i int) time.Time { return histories[i].Created }) {
		histories[k.i].ID = id
		id++
	}
	id = genNextBlock(id + 1)

	nd := 10 + g.r.IntN(21)
	deleted := make([]genDeleted, nd)
	for i := range deleted {
		c := g.between(g.start, g.now-genHour)
		deleted[i] = genDeleted{created: c, deleted: g.between(max(c, g.year), g.now)}
	}
	// Two deletions in the same millisecond, for since-paging.
	t := max(deleted[0].deleted, deleted[1].deleted)
	deleted[0].deleted, deleted[1].deleted = t, t
	slices.SortStableFunc(deleted, func(a, b genDeleted) int { return cmp.Compare(a.created, b.created) })

	// Per-issue worklogs are in Started order; IDs follow Created.
	d := 0
	for _, k := range genByTime(len(worklogs), func(i int) time.Time { return worklogs[i].Created }) {
		wl := worklogs[k.i]
		for ; d < nd && deleted[d].created < k.at; d++ {
			g.d.DeletedWorklogs = append(g.d.DeletedWorklogs, &DeletedWorklog{ID: id, Deleted: genTime(deleted[d].deleted)})
			id++
		}
		wl.ID = id
		id++
	}
	for ; d < nd; d++ {
		g.d.DeletedWorklogs = append(g.d.DeletedWorklogs, &DeletedWorklog{ID: id, Deleted: genTime(deleted[d].deleted)})
		id++
	}
	slices.SortStableFunc(g.d.DeletedWorklogs, func(a, b *DeletedWorklog) int {
		if c := a.Deleted.Compare(b.Deleted); c != 0 {
			return c
		}
		return a.ID - b.ID
	})
}

type genKey struct {
	at int64 // ms
	i  int32
}

// genByTime orders n items by time, ties in input order; sorting small keys
// instead of pointers keeps ID assignment fast on huge sites.
func genByTime(n int, at func(int) time.Time) []genKey {
	keys := make([]genKey, n)
	for i := range keys {
		keys[i] = genKey{at(i).UnixMilli(), int32(i)}
	}
	slices.SortFunc(keys, func(a, b genKey) int {
		if c := cmp.Compare(a.at, b.at); c != 0 {
			return c
		}
		return cmp.Compare(a.i, b.i)
	})
	return keys
}

// genNextBlock rounds up to the next 100000 so each child kind has its own
// range even on huge sites (100000+, 200000+, 300000+ for the default size).
func genNextBlock(id int) int { return (id + genIDBlock - 1) / genIDBlock * genIDBlock }
