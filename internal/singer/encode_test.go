package singer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tap-jira/tap-jira/internal/schema"
)

// stdEncode is what appendJSON must reproduce byte for byte.
func stdEncode(t testing.TB, v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	err := enc.Encode(v)
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), err
}

func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	cases := []any{
		nil, true, false, "", "plain", `quote " backslash \ slash /`, "<b>&amp;</b>", "tab\tnl\nret\rbs\bff\f\x01\x1f\x7f",
		"line\u2028sep\u2029", "bad utf8 \xff\xfe end", "emoji 🚀 日本語 עברית",
		json.Number("0"), json.Number("-12.5e+10"), json.Number("12345678901234567890"), json.Number(""),
		[]any{}, []any{json.Number("1"), "a", nil, []any{true}}, map[string]any{},
		map[string]any{"z": 1.5, "a": map[string]any{"é": "x", "A": []any{}}, "": nil, "k\"ey": "v"},
		[]string{"a"}, map[string]string{"b": "c"}, int64(7),
	}
	for _, v := range cases {
		want, err := stdEncode(t, v)
		require.NoError(t, err)
		got, err := appendJSON(nil, v)
		require.NoError(t, err)
		assert.Equal(t, string(want), string(got), "%#v", v)
	}
	for _, bad := range []any{math.NaN(), json.Number("1x"), json.Number("01"), json.Number("--1"), json.Number("1."), json.Number(".5")} {
		_, werr := stdEncode(t, bad)
		_, gerr := appendJSON(nil, bad)
		assert.Equal(t, werr != nil, gerr != nil, "%#v", bad)
	}
}

func FuzzAppendJSON(f *testing.F) {
	f.Add([]byte(`{"a":[1,"x",null,true,{"b":"\u2028<>&"}],"n":-1.5e3}`))
	f.Add([]byte(`"\ud800"`))
	f.Fuzz(func(t *testing.T, data []byte) {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		var v any
		if dec.Decode(&v) != nil {
			return
		}
		want, werr := stdEncode(t, v)
		got, gerr := appendJSON(nil, v)
		if (werr != nil) != (gerr != nil) {
			t.Fatalf("errors differ: %v vs %v", werr, gerr)
		}
		if werr == nil && !bytes.Equal(want, got) {
			t.Fatalf("encoding differs:\n%s\n%s", want, got)
		}
	})
}

func BenchmarkEncodeRecord(b *testing.B) {
	var rec map[string]any
	dec := json.NewDecoder(bytes.NewReader([]byte(`{"id":"10001","fields":{"summary":"a & b — 日本","labels":["x","y"],"n":3.5,"user":{"displayName":"Zoë","active":true,"avatarUrls":{"16x16":"https://x/a?s=16","48x48":"https://x/a?s=48"}}},"updated":"2026-01-02T03:04:05.000Z"}`)))
	dec.UseNumber()
	require.NoError(b, dec.Decode(&rec))
	b.Run("appendJSON", func(b *testing.B) {
		var buf []byte
		for b.Loop() {
			buf, _ = appendJSON(buf[:0], rec)
		}
	})
	b.Run("encoding_json", func(b *testing.B) {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		for b.Loop() {
			buf.Reset()
			_ = enc.Encode(rec)
		}
	})
}

// TestEncodeRecordIsExact: an encoded record may wait in a queue, so it
// holds no spare capacity.
func TestEncodeRecordIsExact(t *testing.T) {
	t.Parallel()
	rec := map[string]any{"id": "1", "body": strings.Repeat("é", 5000), "n": json.Number("3")}
	for range 3 { // the scratch buffer is reused from the second call on
		b, err := EncodeRecord(rec)
		require.NoError(t, err)
		require.Equal(t, len(b), cap(b))
		want, err := json.Marshal(rec)
		require.NoError(t, err)
		require.JSONEq(t, string(want), string(b))
	}
}

// Encoded records are copied into shared slabs, not an allocation each:
// one encoded after another on the same P follows it in memory. The
// records are 40 to 45 bytes long, which the allocator would place 48
// bytes apart, so two allocations in a row cannot pass for that. The pool may move a goroutine to another
// slab (another P, or the race detector dropping a slab), so not every
// pair needs to be adjacent.
func TestEncodedRecordsShareSlabs(t *testing.T) {
	t.Parallel()
	adjacent := 0
	var last []byte
	for i := range 64 {
		b, err := EncodeRecord(map[string]any{"id": fmt.Sprint(i), "body": strings.Repeat("x", 20+i%5)})
		require.NoError(t, err)
		require.Equal(t, len(b), cap(b), "nothing appended to one record reaches the next")
		if last != nil && unsafe.Add(unsafe.Pointer(unsafe.SliceData(last)), len(last)) == unsafe.Pointer(unsafe.SliceData(b)) {
			adjacent++
		}
		last = b
	}
	assert.GreaterOrEqual(t, adjacent, 8)
	big := map[string]any{"body": strings.Repeat("y", slabSize)}
	b, err := EncodeRecord(big)
	require.NoError(t, err)
	assert.Equal(t, len(b), cap(b), "a large record gets an allocation of its own")
}

// Large objects are written in the key order remembered for their key set;
// objects with other keys, as many of them, nested or past the orders
// kept, must still come out as encoding/json writes them.
func TestEncodeLargeObjectsInRememberedOrder(t *testing.T) {
	t.Parallel()
	object := func(set, n int, value string) map[string]any {
		m := map[string]any{}
		for i := range n {
			m[fmt.Sprintf("k%d_%02d", set, (i*7)%n)] = fmt.Sprintf("%s%d", value, i)
		}
		return m
	}
	withKey := func(m map[string]any, drop, add string) map[string]any {
		c := maps.Clone(m)
		delete(c, drop)
		c[add] = "added \"quoted\""
		return c
	}
	a := object(1, 20, "a")
	nested := object(2, minOrdered, "n")
	nested["k2_00"] = object(1, 20, "inner")
	var seq []map[string]any
	seq = append(seq, a, object(1, 20, "again"), withKey(a, "k1_03", "k1_99"), withKey(a, "k1_19", "A é"), a, nested, nested)
	for set := 3; set < 9; set++ {
		seq = append(seq, object(set, 20, "s"), object(3, 20, "back to 3"))
	}
	for set := 10; set < 10+5*maxOrders; set++ { // more key sets than are kept
		seq = append(seq, object(set, 20, "s"), object(set, 20, "again"), object(3, 20, "back to 3"))
	}
	e := new(encoder)
	for i, m := range seq {
		want, err := stdEncode(t, m)
		require.NoError(t, err)
		got, err := e.append([]byte("x"), m, nil)
		require.NoError(t, err)
		require.Equal(t, "x"+string(want), string(got), "object %d", i)
	}
	assert.NotEmpty(t, e.orders, "orders were kept")
	assert.LessOrEqual(t, len(e.orders), maxOrders)
	assert.LessOrEqual(t, len(e.once), 4*maxOrders)
}

// Small objects judged against a node are written in one of the two key
// orders last met under it; other key sets, as many keys but others,
// undeclared ones or values the node refuses, must still come out as
// encoding/json writes them and be judged as the sorting walk judges them.
func TestEncodeSmallObjectsInRememberedOrder(t *testing.T) {
	t.Parallel()
	props := map[string]any{}
	for _, k := range []string{"a", "b", "c", "d", "e", "f"} {
		props[k] = map[string]any{"type": []any{"null", "string"}}
	}
	s, err := schema.Compile("small", map[string]any{"type": "object", "properties": map[string]any{
		"user": map[string]any{"type": "object", "properties": props},
	}})
	require.NoError(t, err)
	node := s.Root().Prop("user")
	obj := func(keys string, v any) map[string]any {
		m := map[string]any{}
		for _, k := range keys {
			m[string(k)] = v
		}
		return m
	}
	seq := []struct {
		m    map[string]any
		sure bool
	}{
		{obj("abcd", "x"), true}, {obj("abcd", "y"), true}, {obj("abce", "x"), true}, {obj("abcd", nil), true},
		{obj("abce", "z"), true}, {obj("abcf", "x"), true}, {obj("abcd", "w"), true}, {obj("abce", true), false},
		{obj("abcz", "x"), true}, {obj("abcd", json.Number("1")), false}, {obj("abcd", "again"), true},
		{obj("abcdef", "x"), true}, {obj("ab", "x"), true},
	}
	e := new(encoder)
	for i, c := range seq {
		want, err := stdEncode(t, c.m)
		require.NoError(t, err)
		e.unsure = false
		got, err := e.append([]byte("x"), c.m, node)
		require.NoError(t, err)
		require.Equal(t, "x"+string(want), string(got), "object %d", i)
		require.Equal(t, c.sure, !e.unsure, "object %d judged", i)
	}
	orders := e.small[node]
	require.NotNil(t, orders, "orders were kept for the node")
	assert.Equal(t, []string{"a", "b", "c", "d", "e", "f"}, orders[0].keys, "the newer first")
	assert.Equal(t, []string{"a", "b", "c", "d"}, orders[1].keys)
}

// BenchmarkEncodeKeySets encodes objects of 100 keys from a few key sets
// (the orders kept pay off) and from more than are kept (every one is
// sorted: the hash is all the orders cost).
func BenchmarkEncodeKeySets(b *testing.B) {
	for _, sets := range []int{8, 1024} {
		var objects []map[string]any
		for set := range sets {
			m := map[string]any{}
			for i := range 100 {
				m[fmt.Sprintf("customfield_%d", 10000+set*1000+i)] = nil
			}
			objects = append(objects, m)
		}
		b.Run(fmt.Sprintf("sets=%d", sets), func(b *testing.B) {
			e := new(encoder)
			var dst []byte
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				var err error
				if dst, err = e.append(dst[:0], objects[i%len(objects)], nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
