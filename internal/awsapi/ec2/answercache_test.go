package ec2

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/awsapi/protocol"
	"github.com/madang-dev/madang/internal/compute"
)

// revisedCompute is fakeCompute with a revision the test moves with each
// change, as compute.Service's moves, counting its listings.
type revisedCompute struct {
	*fakeCompute
	mu       sync.Mutex
	rev      uint64
	listings int
}

func (r *revisedCompute) Revision() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.rev
}

func (r *revisedCompute) Listing() []compute.View {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.listings++
	return append([]compute.View(nil), r.views...)
}

// change changes the fleet and moves the revision.
func (r *revisedCompute) change(fn func(f *fakeCompute)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fn(r.fakeCompute)
	r.rev++
}

func (r *revisedCompute) listed() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.listings
}

// Kept answers are byte for byte the answers of a service that keeps
// none (the generic codec over a fresh listing), for every parameter set,
// across changes of state, tags, new, terminated and purged instances;
// an unchanged revision answers without a listing.
func TestAnswerCacheMatchesFreshAnswers(t *testing.T) {
	f := fleet(12)
	rc := &revisedCompute{fakeCompute: f}
	_, cached := newService(t, rc)
	id := func(i int) string { return f.views[i].ID }
	params := []struct{ name, query string }{
		{"all", ""},
		{"running", "&Filter.1.Name=instance-state-name&Filter.1.Value.1=running"},
		{"a tag", "&Filter.1.Name=tag:team&Filter.1.Value.1=edge"},
		{"a tag value", "&Filter.1.Name=tag-value&Filter.1.Value.1=web-1"},
		{"two filters", "&Filter.1.Name=instance-state-name&Filter.1.Value.1=running&Filter.2.Name=availability-zone&Filter.2.Value.1=local-1a"},
		{"ids", "&InstanceId.1=" + id(0) + "&InstanceId.2=" + id(5)},
		{"first page", "&MaxResults=5"},
		{"second page", "&MaxResults=5&NextToken=5"},
		{"last page", "&MaxResults=5&NextToken=10"},
		{"a page of running ones", "&MaxResults=5&NextToken=5&Filter.1.Name=instance-state-name&Filter.1.Value.1=running"},
	}
	t0 := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	steps := []struct {
		name   string
		change func(f *fakeCompute)
	}{
		{"before any change", nil},
		{"state change", func(f *fakeCompute) { f.views[0].State = compute.StateStopped }},
		{"tag added", func(f *fakeCompute) {
			f.views[1].Tags = map[string]string{"Name": "web-1", "team": "core", "env": "prod"}
		}},
		{"tag removed", func(f *fakeCompute) { f.views[2].Tags = map[string]string{"Name": "web-2"} }},
		{"new instance", func(f *fakeCompute) {
			v := f.views[4]
			v.ID, v.PrivateIP, v.LaunchTime, v.Tags = "i-0fffffffffffffff1", "127.16.0.99", t0, map[string]string{"team": "edge"}
			f.views = append(f.views, v)
		}},
		{"terminated", func(f *fakeCompute) {
			f.views[3].State, f.views[3].PrivateIP, f.views[3].StateReason = compute.StateTerminated, "", "User initiated (2026-12-02 00:00:00 GMT)"
		}},
		{"purged", func(f *fakeCompute) { f.views = append(f.views[:3:3], f.views[4:]...) }},
	}
	for _, st := range steps {
		if st.change != nil {
			rc.change(st.change)
		}
		_, fresh := newService(t, f) // no revision: answers are never kept
		for _, p := range params {
			t.Run(st.name+"/"+p.name, func(t *testing.T) {
				want := describeXML(t, fresh, p.query)
				if got := describeXML(t, cached, p.query); got != want {
					t.Fatalf("first answer differs from a fresh one:\n%s\nwant\n%s", got, want)
				}
				before := rc.listed()
				// The second call freezes the kept answer, the third
				// writes its kept encoding.
				for _, which := range []string{"second", "third"} {
					if got := describeXML(t, cached, p.query); got != want {
						t.Fatalf("%s answer, kept, differs from a fresh one:\n%s\nwant\n%s", which, got, want)
					}
				}
				if n := rc.listed() - before; n != 0 {
					t.Fatalf("the kept answer listed instances %d times, want none", n)
				}
			})
		}
	}
}

// A kept answer is served for as long as the revision holds, and not a
// call longer: a change that moves it is seen at once.
func TestAnswerCacheFollowsTheRevision(t *testing.T) {
	f := fleet(3)
	rc := &revisedCompute{fakeCompute: f}
	_, svc := newService(t, rc)
	first := describeXML(t, svc, "")
	f.views[0].InstanceType = "t3.large" // not counted: the kept answer stands
	if got := describeXML(t, svc, ""); got != first {
		t.Fatalf("answer changed without a new revision:\n%s", got)
	}
	rc.change(func(*fakeCompute) {})
	if got := describeXML(t, svc, ""); !strings.Contains(got, "<instanceType>t3.large</instanceType>") {
		t.Fatalf("the new revision's answer lacks the change:\n%s", got)
	}
}

// The cache holds at most maxAnswers answers of at most maxAnswerItems
// reservations, the most recently used, of one revision.
func TestAnswerCacheBounds(t *testing.T) {
	out := func(n int) map[string]any {
		items := make([]any, n)
		for i := range items {
			items[i] = map[string]any{"ReservationId": fmt.Sprint("r-", i)}
		}
		return map[string]any{"Reservations": items}
	}
	var c answerCache
	for i := range maxAnswers + 3 {
		c.keep(1, fmt.Sprint("k", i), out(10))
	}
	if n, items := c.kept(); n != maxAnswers || items != 10*maxAnswers {
		t.Fatalf("kept %d answers of %d reservations, want %d of %d", n, items, maxAnswers, 10*maxAnswers)
	}
	if _, ok := c.get(1, "k0"); ok {
		t.Fatal("the least recently used answer is still kept")
	}
	if _, ok := c.get(1, fmt.Sprint("k", maxAnswers+2)); !ok {
		t.Fatal("the newest answer is not kept")
	}
	c.keep(1, "huge", out(maxAnswerItems+1))
	if _, ok := c.get(1, "huge"); ok {
		t.Fatalf("an answer of %d reservations was kept", maxAnswerItems+1)
	}
	c.keep(1, "big", out(maxAnswerItems-5))
	if _, items := c.kept(); items > maxAnswerItems {
		t.Fatalf("%d reservations kept, want at most %d", items, maxAnswerItems)
	}
	if _, ok := c.get(1, "big"); !ok {
		t.Fatal("the big answer is not kept")
	}
	c.keep(0, "old", out(1)) // made from an older listing
	if _, ok := c.get(0, "old"); ok {
		t.Fatal("an answer of an older revision was kept")
	}
	c.keep(2, "new", out(1))
	if n, items := c.kept(); n != 1 || items != 1 {
		t.Fatalf("after a new revision: %d answers of %d reservations kept, want only the new one", n, items)
	}
	if _, ok := c.get(1, "big"); ok {
		t.Fatal("an answer of the old revision is still served")
	}
}

// An answer is frozen when it is asked for again, not when it is made:
// answers made anew on every call are not copied for nothing.
func TestAnswerCacheFreezesOnTheSecondCall(t *testing.T) {
	var c answerCache
	out := map[string]any{"Reservations": []any{map[string]any{"ReservationId": "r-1"}}, "NextToken": "1"}
	c.keep(1, "k", out)
	if _, ok := out["Reservations"].([]any); !ok {
		t.Fatalf("keep changed the answer: %T", out["Reservations"])
	}
	for i := range 2 {
		got, ok := c.get(1, "k")
		if !ok {
			t.Fatal("not kept")
		}
		if _, ok := got["Reservations"].(*protocol.FrozenList); !ok || got["NextToken"] != "1" {
			t.Fatalf("call %d: answer %v, want its reservations frozen and its token", i+2, got)
		}
	}
	if _, ok := out["Reservations"].([]any); !ok {
		t.Fatalf("freezing changed the answer first handed out: %T", out["Reservations"])
	}
}

// Two inputs have the same key exactly when they are the same.
func TestAnswerKey(t *testing.T) {
	filter := func(name string, values ...any) map[string]any {
		return map[string]any{"Name": name, "Values": values}
	}
	cases := []struct {
		name string
		a, b map[string]any
		same bool
	}{
		{"empty", map[string]any{}, map[string]any{}, true},
		{"equal filters", map[string]any{"Filters": []any{filter("tag:a", "x")}}, map[string]any{"Filters": []any{filter("tag:a", "x")}}, true},
		{"one value or two", map[string]any{"Filters": []any{filter("tag:a", "x y")}}, map[string]any{"Filters": []any{filter("tag:a", "x", "y")}}, false},
		{"filter order", map[string]any{"Filters": []any{filter("a", "1"), filter("b", "2")}}, map[string]any{"Filters": []any{filter("b", "2"), filter("a", "1")}}, false},
		{"ids", map[string]any{"InstanceIds": []any{"i-1"}}, map[string]any{"InstanceIds": []any{"i-2"}}, false},
		{"page size", map[string]any{"MaxResults": int64(5)}, map[string]any{"MaxResults": int64(6)}, false},
		{"a number or a string", map[string]any{"MaxResults": int64(5)}, map[string]any{"MaxResults": "5"}, false},
		{"token", map[string]any{"MaxResults": int64(5), "NextToken": "5"}, map[string]any{"MaxResults": int64(5)}, false},
		{"a member's name and value", map[string]any{"ab": "c"}, map[string]any{"a": "bc"}, false},
		{"dry run", map[string]any{"DryRun": true}, map[string]any{"DryRun": false}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ka, oka := answerKey(protocol.Struct(c.a))
			kb, okb := answerKey(protocol.Struct(c.b))
			if !oka || !okb {
				t.Fatalf("no key: %v %v", oka, okb)
			}
			if (ka == kb) != c.same {
				t.Fatalf("same key = %v, want %v", ka == kb, c.same)
			}
		})
	}
	if _, ok := answerKey(protocol.Struct{"x": struct{}{}}); ok {
		t.Fatal("an input of an unknown type has a key")
	}
}

// Concurrent describes while instances change share the kept answers
// safely (run with -race) and always see the latest revision's answer
// once it is made.
func TestAnswerCacheConcurrent(t *testing.T) {
	f := fleet(20)
	rc := &revisedCompute{fakeCompute: f}
	_, svc := newService(t, rc)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 20 {
				tag := fmt.Sprintf("round-%d-%d", w, i)
				rc.change(func(f *fakeCompute) { f.views[i].Tags = map[string]string{"w": tag} })
				if got := describeXML(t, svc, ""); !strings.Contains(got, "<value>"+tag+"</value>") {
					// Another worker may have tagged it again meanwhile.
					rc.mu.Lock()
					now := f.views[i].Tags["w"]
					rc.mu.Unlock()
					if now == tag {
						t.Errorf("%s: tag %s missing from the answer", f.views[i].ID, tag)
					}
				}
			}
		})
	}
	wg.Wait()
}
