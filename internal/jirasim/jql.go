package jirasim

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// This file implements the JQL subset taps send (date bounds, project and
// issue restrictions, ORDER BY), evaluated the way Jira evaluates it. Anything
// outside the subset is refused with a 400-style *JQLError rather than being
// approximated, so a tap can never pass against the simulator with a query
// that means something else on a real site.

// JQLError is a query Jira would refuse with HTTP 400; Message is what goes in
// errorMessages.
type JQLError struct{ Message string }

func (e *JQLError) Error() string { return e.Message }

// Query is a parsed JQL query: conditions (ANDed) and an ORDER BY.
type Query struct {
	conds []jqlCond
	order []jqlSort // never empty: Jira's default applies when there is no ORDER BY
}

// ParseJQL parses q. Date literals are read in loc, the searching user's time
// zone, as Jira does; nil means UTC.
func ParseJQL(q string, loc *time.Location) (*Query, error) {
	if loc == nil {
		loc = time.UTC
	}
	toks, err := jqlLex(q)
	if err != nil {
		return nil, err
	}
	p := &jqlParser{toks: toks, loc: loc}
	query, err := p.parseQuery()
	if err != nil {
		return nil, err
	}
	return query, nil
}

// Match reports whether the issue satisfies every condition.
func (q *Query) Match(is *Issue) bool {
	for _, c := range q.conds {
		if !c.match(is) {
			return false
		}
	}
	return true
}

// Compare orders two issues by the query's ORDER BY, then by ID ascending as
// a final tie-break so paging is stable; negative when a sorts first.
func (q *Query) Compare(a, b *Issue) int {
	for _, s := range q.order {
		c := s.field.compare(a, b)
		if s.desc {
			c = -c
		}
		if c != 0 {
			return c
		}
	}
	return cmpInt64(int64(a.ID), int64(b.ID))
}

// OrderKey is a canonical string of the ORDER BY clause including the ID
// tie-break (e.g. "updated ASC,id ASC"), so callers can cache sorted orders
// per key. Equal keys always mean equal orders.
func (q *Query) OrderKey() string {
	parts := make([]string, 0, len(q.order)+1)
	hasID := false
	for _, s := range q.order {
		parts = append(parts, s.String())
		hasID = hasID || s.field == sortID
	}
	if !hasID {
		parts = append(parts, "id ASC")
	}
	return strings.Join(parts, ",")
}

// Bounded reports whether the query has at least one condition (Cloud's
// search/jql refuses unbounded queries with 400).
func (q *Query) Bounded() bool { return len(q.conds) > 0 }

// Validate reports the errors Jira raises only once it looks values up: a
// project that does not exist is a 400 ("The value 'X' does not exist for
// the field 'project'."), not an empty result. ParseJQL cannot know the site,
// so handlers that want this behaviour call Validate with theirs.
func (q *Query) Validate(d *Data) error {
	for _, c := range q.conds {
		pc, ok := c.(*projectCond)
		if !ok {
			continue
		}
		for _, v := range pc.values {
			found := false
			for _, p := range d.Projects {
				if v.matches(p) {
					found = true
					break
				}
			}
			if !found {
				return &JQLError{Message: fmt.Sprintf("The value '%s' does not exist for the field 'project'.", v.text)}
			}
		}
	}
	return nil
}

// ---- conditions ----

type jqlCond interface{ match(*Issue) bool }

// dateCond compares an issue timestamp at Jira's storage precision
// (milliseconds) with an instant.
type dateCond struct {
	created bool // else updated
	op      string
	ms      int64
}

func (c *dateCond) match(is *Issue) bool {
	t := is.Updated
	if c.created {
		t = is.Created
	}
	return cmpOp(cmpInt64(t.UnixMilli(), c.ms), c.op)
}

type projectRef struct {
	text  string // as written, for messages
	id    int
	hasID bool
}

// matches follows Jira's project resolution: a value names a project by key
// or name (case-insensitively), and a number may also be its ID.
func (r projectRef) matches(p *Project) bool {
	if p == nil {
		return false
	}
	if r.hasID && p.ID == r.id {
		return true
	}
	return strings.EqualFold(p.Key, r.text) || strings.EqualFold(p.Name, r.text)
}

type projectCond struct {
	values []projectRef
	negate bool // project != X
}

func (c *projectCond) match(is *Issue) bool {
	if is.Project == nil {
		return false
	}
	in := false
	for _, v := range c.values {
		if v.matches(is.Project) {
			in = true
			break
		}
	}
	return in != c.negate
}

// issueRef is an issue ID or an issue key split into project and number.
type issueRef struct {
	isID bool
	id   int64
	proj string
	num  int64
}

type issueCond struct {
	op     string // "=" and "in" test membership; range ops have one value
	values []issueRef
}

func (c *issueCond) match(is *Issue) bool {
	proj, num, keyOK := splitIssueKey(is.Key)
	for _, v := range c.values {
		var cmp int
		switch {
		case v.isID:
			cmp = cmpInt64(int64(is.ID), v.id)
		case keyOK && strings.EqualFold(proj, v.proj):
			cmp = cmpInt64(num, v.num)
		default:
			// Jira confines key comparisons to the key's project: ABC-5 is
			// neither before nor after XYZ-9.
			continue
		}
		if c.op == "in" {
			if cmp == 0 {
				return true
			}
			continue
		}
		if cmpOp(cmp, c.op) {
			return true
		}
	}
	return false
}

func cmpOp(cmp int, op string) bool {
	switch op {
	case "=":
		return cmp == 0
	case ">":
		return cmp > 0
	case ">=":
		return cmp >= 0
	case "<":
		return cmp < 0
	case "<=":
		return cmp <= 0
	}
	return false
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

var issueKeyRE = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9_]*)-([0-9]+)$`)

// splitIssueKey splits "ABC-12" into "ABC" and 12.
func splitIssueKey(key string) (string, int64, bool) {
	m := issueKeyRE.FindStringSubmatch(key)
	if m == nil {
		return "", 0, false
	}
	n, err := strconv.ParseInt(m[2], 10, 64)
	if err != nil {
		return "", 0, false
	}
	return m[1], n, true
}

// ---- ordering ----

type sortField int

const (
	sortCreated sortField = iota
	sortUpdated
	sortKey
	sortID
)

var sortFieldNames = [...]string{sortCreated: "created", sortUpdated: "updated", sortKey: "key", sortID: "id"}

type jqlSort struct {
	field sortField
	desc  bool
}

func (s jqlSort) String() string {
	if s.desc {
		return sortFieldNames[s.field] + " DESC"
	}
	return sortFieldNames[s.field] + " ASC"
}

func (f sortField) compare(a, b *Issue) int {
	switch f {
	case sortCreated:
		return cmpInt64(a.Created.UnixMilli(), b.Created.UnixMilli())
	case sortUpdated:
		return cmpInt64(a.Updated.UnixMilli(), b.Updated.UnixMilli())
	case sortKey:
		return compareKeys(a.Key, b.Key)
	case sortID:
		return cmpInt64(int64(a.ID), int64(b.ID))
	}
	return 0
}

// compareKeys orders keys by project key, then numerically (ABC-9 before
// ABC-10), as Jira does; malformed keys fall back to plain string order
// after the well-formed ones so the order stays total.
func compareKeys(a, b string) int {
	pa, na, oka := splitIssueKey(a)
	pb, nb, okb := splitIssueKey(b)
	switch {
	case oka && okb:
		if c := strings.Compare(strings.ToUpper(pa), strings.ToUpper(pb)); c != 0 {
			return c
		}
		return cmpInt64(na, nb)
	case oka:
		return -1
	case okb:
		return 1
	}
	return strings.Compare(a, b)
}

// ---- lexer ----

type tokKind int

const (
	tkEOF tokKind = iota
	tkWord
	tkString
	tkOp
	tkLParen
	tkRParen
	tkComma
	tkAnd // & or &&
	tkOr  // | or ||
	tkNot // !
)

type token struct {
	kind      tokKind
	text      string // unescaped value for words and strings
	line, col int    // 1-based, in characters, as Jira reports them
}

// describe renders a token the way Jira quotes it in "but got '...'".
func (t token) describe() string { return t.text }

func (t token) pos() string { return fmt.Sprintf("(line %d, character %d)", t.line, t.col) }

// isWord reports whether t is the unquoted keyword kw; quoted "and" is a value.
func (t token) isWord(kw string) bool { return t.kind == tkWord && strings.EqualFold(t.text, kw) }

// JQL's reserved characters: legal only quoted or escaped.
const jqlReserved = "+.;?*/%^$#@[]"

func syntaxErr(line, col int, format string, args ...any) *JQLError {
	return &JQLError{Message: fmt.Sprintf("Error in the JQL Query: "+format+" (line %d, character %d)", append(args, line, col)...)}
}

func jqlLex(q string) ([]token, error) {
	var toks []token
	line, col := 1, 1
	i := 0
	// advance consumes one rune, keeping line/col as Jira counts them.
	advance := func() rune {
		r, w := utf8.DecodeRuneInString(q[i:])
		i += w
		if r == '\n' {
			line++
			col = 1
		} else {
			col++
		}
		return r
	}
	peekAt := func(j int) byte {
		if i+j < len(q) {
			return q[i+j]
		}
		return 0
	}
	for i < len(q) {
		r, _ := utf8.DecodeRuneInString(q[i:])
		if unicode.IsSpace(r) {
			advance()
			continue
		}
		tl, tc := line, col
		emit := func(k tokKind, text string) { toks = append(toks, token{kind: k, text: text, line: tl, col: tc}) }
		switch {
		case r == '(':
			advance()
			emit(tkLParen, "(")
		case r == ')':
			advance()
			emit(tkRParen, ")")
		case r == ',':
			advance()
			emit(tkComma, ",")
		case r == '&':
			advance()
			if peekAt(0) == '&' {
				advance()
			}
			emit(tkAnd, "&")
		case r == '|':
			advance()
			if peekAt(0) == '|' {
				advance()
			}
			emit(tkOr, "|")
		case r == '=' || r == '~':
			advance()
			emit(tkOp, string(r))
		case r == '!' || r == '<' || r == '>':
			advance()
			switch n := peekAt(0); {
			case n == '=' || (r == '!' && n == '~'):
				advance()
				emit(tkOp, string(r)+string(n))
			case r == '!':
				emit(tkNot, "!")
			default:
				emit(tkOp, string(r))
			}
		case r == '"' || r == '\'':
			advance()
			var b strings.Builder
			closed := false
			for i < len(q) {
				c, _ := utf8.DecodeRuneInString(q[i:])
				if c == r {
					advance()
					closed = true
					break
				}
				if c == '\\' {
					el, ec := line, col
					advance()
					e, err := lexEscape(q, &i, advance)
					if err != "" {
						return nil, syntaxErr(el, ec, "The escape sequence '%s' in the string '%s' is invalid.", err, b.String())
					}
					b.WriteRune(e)
					continue
				}
				b.WriteRune(advance())
			}
			if !closed {
				return nil, syntaxErr(tl, tc, "The quoted string '%s' has not been completed.", b.String())
			}
			emit(tkString, b.String())
		default:
			var b strings.Builder
			for i < len(q) {
				c, _ := utf8.DecodeRuneInString(q[i:])
				if unicode.IsSpace(c) || strings.ContainsRune("()=!<>~,&|\"'", c) {
					break
				}
				if strings.ContainsRune(jqlReserved, c) {
					return nil, syntaxErr(line, col, "The character '%c' is a reserved JQL character. You must enclose it in a string or use the escape '\\u%04x' instead.", c, c)
				}
				if c == '\\' {
					el, ec := line, col
					advance()
					e, err := lexEscape(q, &i, advance)
					if err != "" {
						return nil, syntaxErr(el, ec, "The escape sequence '%s' in the string '%s' is invalid.", err, b.String())
					}
					b.WriteRune(e)
					continue
				}
				b.WriteRune(advance())
			}
			emit(tkWord, b.String())
		}
	}
	toks = append(toks, token{kind: tkEOF, line: line, col: col})
	return toks, nil
}

// lexEscape decodes the escape after a backslash (already consumed). On
// failure it returns the offending sequence.
func lexEscape(q string, i *int, advance func() rune) (rune, string) {
	if *i >= len(q) {
		return 0, `\`
	}
	c := advance()
	switch c {
	case '"', '\'', '\\', ' ':
		return c, ""
	case 't':
		return '\t', ""
	case 'n':
		return '\n', ""
	case 'r':
		return '\r', ""
	case 'u':
		if *i+4 <= len(q) {
			if v, err := strconv.ParseUint(q[*i:*i+4], 16, 32); err == nil {
				for range 4 {
					advance()
				}
				return rune(v), ""
			}
		}
		return 0, `\u`
	}
	return 0, `\` + string(c)
}

// ---- parser ----

type jqlParser struct {
	toks []token
	i    int
	loc  *time.Location
}

func (p *jqlParser) peek() token { return p.toks[p.i] }

func (p *jqlParser) next() token {
	t := p.toks[p.i]
	if t.kind != tkEOF {
		p.i++
	}
	return t
}

// unexpected is Jira's "Expecting X but got 'y'" / "before the end of the query".
func unexpected(want string, got token) *JQLError {
	if got.kind == tkEOF {
		return &JQLError{Message: fmt.Sprintf("Error in the JQL Query: Expecting %s before the end of the query.", want)}
	}
	return syntaxErr(got.line, got.col, "Expecting %s but got '%s'.", want, got.describe())
}

func notSupported(t token, what string) *JQLError {
	return syntaxErr(t.line, t.col, "%s is not supported by jira-sim, which implements only the JQL subset taps send (AND of updated/created/project/id/key clauses, ORDER BY).", what)
}

func (p *jqlParser) isAnd(t token) bool { return t.kind == tkAnd || t.isWord("and") }
func (p *jqlParser) isOr(t token) bool  { return t.kind == tkOr || t.isWord("or") }

func (p *jqlParser) parseQuery() (*Query, error) {
	q := &Query{}
	if t := p.peek(); t.kind != tkEOF && !t.isWord("order") {
		conds, err := p.parseAndList()
		if err != nil {
			return nil, err
		}
		q.conds = conds
	}
	switch t := p.next(); {
	case t.kind == tkEOF:
		// Jira's search default: newest first.
		q.order = []jqlSort{{field: sortCreated, desc: true}}
		return q, nil
	case t.isWord("order"):
		order, err := p.parseOrderBy()
		if err != nil {
			return nil, err
		}
		q.order = order
		return q, nil
	case p.isOr(t):
		return nil, notSupported(t, "'OR'")
	default:
		return nil, unexpected("either 'OR' or 'AND'", t)
	}
}

func (p *jqlParser) parseAndList() ([]jqlCond, error) {
	var conds []jqlCond
	for {
		c, err := p.parseClause()
		if err != nil {
			return nil, err
		}
		conds = append(conds, c...)
		if !p.isAnd(p.peek()) {
			return conds, nil
		}
		p.next()
	}
}

// Field names Jira knows but the simulator does not implement, so the
// refusal says "unsupported here" rather than Jira's "does not exist".
var jqlKnownFields = map[string]bool{
	"status": true, "statuscategory": true, "assignee": true, "reporter": true, "creator": true,
	"summary": true, "description": true, "text": true, "comment": true, "labels": true,
	"issuetype": true, "type": true, "priority": true, "resolution": true, "resolved": true,
	"resolutiondate": true, "duedate": true, "due": true, "sprint": true, "fixversion": true,
	"affectedversion": true, "component": true, "parent": true, "epic link": true,
	"lastviewed": true, "worklogdate": true, "worklogauthor": true, "category": true,
	"watcher": true, "watchers": true, "votes": true, "rank": true, "environment": true,
	"attachments": true, "level": true, "filter": true, "issuefunction": true,
}

var jqlKeywords = map[string]bool{
	"and": true, "or": true, "not": true, "in": true, "is": true, "was": true, "changed": true,
	"order": true, "by": true, "asc": true, "desc": true, "empty": true, "null": true,
}

func (p *jqlParser) parseClause() ([]jqlCond, error) {
	t := p.next()
	switch {
	case t.kind == tkLParen:
		conds, err := p.parseAndList()
		if err != nil {
			return nil, err
		}
		switch c := p.next(); {
		case c.kind == tkRParen:
			return conds, nil
		case p.isOr(c):
			return nil, notSupported(c, "'OR'")
		default:
			return nil, unexpected("either 'OR', 'AND' or ')'", c)
		}
	case t.kind == tkNot || t.isWord("not"):
		return nil, notSupported(t, "'NOT'")
	case t.kind == tkWord && jqlKeywords[strings.ToLower(t.text)]:
		return nil, unexpected("a field name", t)
	case t.kind != tkWord && t.kind != tkString:
		return nil, unexpected("a field name", t)
	}
	name := strings.ToLower(t.text)
	op, err := p.parseOperator()
	if err != nil {
		return nil, err
	}
	var c jqlCond
	switch name {
	case "updated", "updateddate", "created", "createddate":
		c, err = p.parseDateClause(t.text, strings.HasPrefix(name, "created"), op)
	case "project":
		c, err = p.parseProjectClause(t.text, op)
	case "id", "issuekey", "key", "issue":
		c, err = p.parseIssueClause(t.text, op)
	default:
		if jqlKnownFields[name] || strings.HasPrefix(name, "cf[") || strings.HasPrefix(name, "customfield_") {
			return nil, &JQLError{Message: fmt.Sprintf("Field '%s' is not supported by jira-sim, which implements only updated, created, project, id, issuekey and key.", t.text)}
		}
		return nil, &JQLError{Message: fmt.Sprintf("Field '%s' does not exist or you do not have permission to view it.", t.text)}
	}
	if err != nil {
		return nil, err
	}
	return []jqlCond{c}, nil
}

const jqlValidOps = "The valid operators are '=', '!=', '<', '>', '<=', '>=', '~', '!~', 'IN', 'NOT IN', 'IS' and 'IS NOT'."

// parseOperator reads any JQL operator, multi-word ones included, so that an
// operator Jira knows is refused as unsupported rather than as a syntax error.
func (p *jqlParser) parseOperator() (string, error) {
	t := p.next()
	switch {
	case t.kind == tkOp:
		return t.text, nil
	case t.isWord("in"):
		return "in", nil
	case t.isWord("not"):
		if p.peek().isWord("in") {
			p.next()
			return "not in", nil
		}
	case t.isWord("is"):
		if p.peek().isWord("not") {
			p.next()
			return "is not", nil
		}
		return "is", nil
	case t.isWord("was"):
		op := "was"
		if p.peek().isWord("not") {
			p.next()
			op += " not"
		}
		if p.peek().isWord("in") {
			p.next()
			op += " in"
		}
		return op, nil
	case t.isWord("changed"):
		return "changed", nil
	}
	if t.kind == tkEOF {
		return "", &JQLError{Message: "Error in the JQL Query: Expecting operator before the end of the query. " + jqlValidOps}
	}
	return "", syntaxErr(t.line, t.col, "Expecting operator but got '%s'. %s", t.describe(), jqlValidOps)
}

// refuseOp explains an operator the field cannot take: in Jira's words when
// Jira refuses it too, otherwise as a simulator limitation.
func refuseOp(field, op string, jiraOps, simOps string) error {
	if strings.Contains(jiraOps, "|"+op+"|") {
		return &JQLError{Message: fmt.Sprintf("The operator '%s' is not supported by jira-sim for the field '%s' (it implements only %s).", op, field, simOps)}
	}
	return &JQLError{Message: fmt.Sprintf("The operator '%s' is not supported by the '%s' field.", op, field)}
}

// parseValue reads one operand: a word or quoted string (functions, EMPTY
// and lists are refused here).
func (p *jqlParser) parseValue() (token, error) {
	t := p.next()
	switch {
	case t.kind == tkWord && p.peek().kind == tkLParen:
		return t, notSupported(t, fmt.Sprintf("The JQL function '%s()'", t.text))
	case t.isWord("empty") || t.isWord("null"):
		return t, notSupported(t, "'"+strings.ToUpper(t.text)+"'")
	case t.kind == tkWord && jqlKeywords[strings.ToLower(t.text)]:
		return t, syntaxErr(t.line, t.col, "Expecting either a value, list or function but got '%s'. You must surround '%s' in quotation marks to use it as a value.", t.text, t.text)
	case t.kind == tkWord || t.kind == tkString:
		return t, nil
	}
	return t, unexpected("either a value, list or function", t)
}

// parseList reads "( value {, value} )".
func (p *jqlParser) parseList() ([]token, error) {
	if t := p.next(); t.kind != tkLParen {
		return nil, unexpected("'('", t)
	}
	var vals []token
	for {
		v, err := p.parseValue()
		if err != nil {
			return nil, err
		}
		vals = append(vals, v)
		switch t := p.next(); t.kind {
		case tkComma:
			continue
		case tkRParen:
			return vals, nil
		default:
			return nil, unexpected("either ',' or ')'", t)
		}
	}
}

func (p *jqlParser) parseDateClause(field string, created bool, op string) (jqlCond, error) {
	switch op {
	case ">=", ">", "<=", "<", "=":
	default:
		return nil, refuseOp(field, op, "|!=|in|not in|is|is not|was|was in|was not|was not in|changed|", "=, >, >=, < and <=")
	}
	v, err := p.parseValue()
	if err != nil {
		return nil, err
	}
	ms, err := p.dateValue(field, v)
	if err != nil {
		return nil, err
	}
	return &dateCond{created: created, op: op, ms: ms}, nil
}

// operands reads a clause's right-hand side: a list after "in", else one
// value.
func (p *jqlParser) operands(op string) ([]token, error) {
	if op == "in" {
		return p.parseList()
	}
	v, err := p.parseValue()
	if err != nil {
		return nil, err
	}
	return []token{v}, nil
}

func (p *jqlParser) parseProjectClause(field, op string) (jqlCond, error) {
	switch op {
	case "=", "!=", "in":
	default:
		return nil, refuseOp(field, op, "|not in|is|is not|was|was in|was not|was not in|changed|", "=, != and in")
	}
	vals, err := p.operands(op)
	if err != nil {
		return nil, err
	}
	c := &projectCond{negate: op == "!="}
	for _, v := range vals {
		ref := projectRef{text: v.text}
		if n, err := strconv.Atoi(v.text); err == nil && isDigits(v.text) {
			ref.id, ref.hasID = n, true
		}
		c.values = append(c.values, ref)
	}
	return c, nil
}

func (p *jqlParser) parseIssueClause(field, op string) (jqlCond, error) {
	switch op {
	case "=", ">", ">=", "<", "<=", "in":
	default:
		return nil, refuseOp(field, op, "|!=|not in|", "=, >, >=, <, <= and in")
	}
	vals, err := p.operands(op)
	if err != nil {
		return nil, err
	}
	c := &issueCond{op: op}
	for _, v := range vals {
		ref, ok := parseIssueRef(v.text)
		if !ok {
			return nil, &JQLError{Message: fmt.Sprintf("The issue key '%s' for field '%s' is invalid.", v.text, field)}
		}
		c.values = append(c.values, ref)
	}
	return c, nil
}

// parseIssueRef reads a numeric issue ID or an issue key. A number compares
// with the issue's ID, a key with the key's number inside its project.
func parseIssueRef(s string) (issueRef, bool) {
	if isDigits(s) {
		n, err := strconv.ParseInt(s, 10, 64)
		return issueRef{isID: true, id: n}, err == nil
	}
	proj, num, ok := splitIssueKey(s)
	return issueRef{proj: proj, num: num}, ok
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func (p *jqlParser) parseOrderBy() ([]jqlSort, error) {
	if t := p.next(); !t.isWord("by") {
		return nil, unexpected("'by'", t)
	}
	var order []jqlSort
	seen := map[sortField]bool{}
	for {
		t := p.next()
		if t.kind != tkWord && t.kind != tkString {
			return nil, unexpected("a field name", t)
		}
		var s jqlSort
		// A field's own default direction applies when none is given
		// (Jira's created and updated sort newest first by default).
		switch name := strings.ToLower(t.text); name {
		case "updated", "updateddate":
			s = jqlSort{field: sortUpdated, desc: true}
		case "created", "createddate":
			s = jqlSort{field: sortCreated, desc: true}
		case "key", "issuekey", "issue":
			s = jqlSort{field: sortKey}
		case "id":
			s = jqlSort{field: sortID}
		default:
			if t.kind == tkWord && jqlKeywords[name] {
				return nil, unexpected("a field name", t)
			}
			if jqlKnownFields[name] || name == "project" || strings.HasPrefix(name, "cf[") || strings.HasPrefix(name, "customfield_") {
				return nil, &JQLError{Message: fmt.Sprintf("Sorting by '%s' is not supported by jira-sim, which sorts only by updated, created, id and key.", t.text)}
			}
			return nil, &JQLError{Message: fmt.Sprintf("Field '%s' does not exist or you do not have permission to view it.", t.text)}
		}
		if seen[s.field] {
			return nil, &JQLError{Message: fmt.Sprintf("The sort field '%s' is referenced multiple times in the JQL sort.", t.text)}
		}
		seen[s.field] = true
		switch d := p.peek(); {
		case d.isWord("asc"):
			p.next()
			s.desc = false
		case d.isWord("desc"):
			p.next()
			s.desc = true
		}
		// Terms after the unique ID cannot change the order; dropping them
		// keeps OrderKey canonical.
		if len(order) == 0 || order[len(order)-1].field != sortID {
			order = append(order, s)
		}
		switch t := p.next(); t.kind {
		case tkComma:
			continue
		case tkEOF:
			return order, nil
		default:
			return nil, unexpected("either ',' or the end of the query", t)
		}
	}
}

// ---- dates ----

var (
	jqlDateRE   = regexp.MustCompile(`^([0-9]{4})([/-])([0-9]{1,2})([/-])([0-9]{1,2})(?: ([0-9]{1,2}):([0-9]{1,2}))?$`)
	jqlPeriodRE = regexp.MustCompile(`^[-+]?\s*[0-9]+\s*[wdhmWDHM](\s*[-+]?\s*[0-9]+\s*[wdhmWDHM])*$`)
)

func dateErr(v, field string) *JQLError {
	return &JQLError{Message: fmt.Sprintf("Date value '%s' for field '%s' is invalid. Valid formats include: 'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period format e.g. '-5d', '4w 2d'.", v, field)}
}

// dateValue turns an operand into epoch milliseconds: an unquoted integer is
// already epoch ms (zone-free); anything else must be one of Jira's
// minute-precision literals, read as wall-clock time in the user's zone.
func (p *jqlParser) dateValue(field string, v token) (int64, error) {
	if v.kind == tkWord && isDigits(v.text) {
		ms, err := strconv.ParseInt(v.text, 10, 64)
		if err != nil {
			return 0, dateErr(v.text, field)
		}
		return ms, nil
	}
	if jqlPeriodRE.MatchString(v.text) {
		return 0, &JQLError{Message: fmt.Sprintf("Date value '%s' for field '%s' is a relative period, which jira-sim does not support; use a 'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd' or 'yyyy-MM-dd' literal or epoch milliseconds.", v.text, field)}
	}
	m := jqlDateRE.FindStringSubmatch(v.text)
	if m == nil || m[2] != m[4] {
		return 0, dateErr(v.text, field)
	}
	y, _ := strconv.Atoi(m[1])
	mo, _ := strconv.Atoi(m[3])
	d, _ := strconv.Atoi(m[5])
	h, mi := 0, 0
	if m[6] != "" {
		h, _ = strconv.Atoi(m[6])
		mi, _ = strconv.Atoi(m[7])
	}
	// Jira parses strictly: 2026-02-30 or 24:00 is an error, not a rollover.
	if mo < 1 || mo > 12 || d < 1 || d > daysIn(y, time.Month(mo)) || h > 23 || mi > 59 {
		return 0, dateErr(v.text, field)
	}
	return localInstant(p.loc, y, time.Month(mo), d, h, mi).UnixMilli(), nil
}

func daysIn(y int, m time.Month) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// localInstant resolves a wall-clock time in loc the way java.time's
// ZonedDateTime.of does: an ambiguous time (fall-back overlap) takes the
// earlier offset, and a time in a spring-forward gap is moved later by the
// gap's length, i.e. read with the offset in force before the gap. Go's
// time.Date leaves both cases unspecified, so the zone's periods are walked
// explicitly with ZoneBounds.
func localInstant(loc *time.Location, y int, mo time.Month, d, h, mi int) time.Time {
	naive := time.Date(y, mo, d, h, mi, 0, 0, time.UTC)
	// UTC offsets stay within ±18h, so every candidate instant lies in
	// naive±18h; walk the zone periods covering a wider window.
	const window = 26 * time.Hour
	type period struct {
		start, end time.Time // zero when unbounded
		off        time.Duration
	}
	var periods []period
	for t := naive.Add(-window); ; {
		z := t.In(loc)
		_, off := z.Zone()
		start, end := z.ZoneBounds()
		periods = append(periods, period{start, end, time.Duration(off) * time.Second})
		if end.IsZero() || end.After(naive.Add(window)) || !end.After(t) || len(periods) > 16 {
			break
		}
		t = end
	}
	// Periods are chronological, so the first one that contains its own
	// reading of the wall clock gives the earliest instant.
	for _, pd := range periods {
		c := naive.Add(-pd.off)
		if (pd.start.IsZero() || !c.Before(pd.start)) && (pd.end.IsZero() || c.Before(pd.end)) {
			return c
		}
	}
	// No period contains it: the wall clock falls in a gap at a transition.
	for k := 0; k+1 < len(periods); k++ {
		tr := periods[k].end
		if !naive.Before(tr.Add(periods[k].off)) && naive.Before(tr.Add(periods[k+1].off)) {
			return naive.Add(-periods[k].off)
		}
	}
	return naive.Add(-periods[0].off) // unreachable for real zone data
}
