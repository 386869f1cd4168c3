package proxy

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/route"
)

// cookieFrom returns the named cookie set by resp, or nil.
func cookieFrom(resp *http.Response, name string) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func setCookieLine(resp *http.Response, name string) string {
	for _, l := range resp.Header.Values("Set-Cookie") {
		if strings.HasPrefix(l, name+"=") {
			return l
		}
	}
	return ""
}

func collect(p *Proxy, name string, dims map[string]string) float64 {
	var v float64
	p.Collect(func(m Metric) {
		if m.Name != name {
			return
		}
		for k, want := range dims {
			if m.Dimensions[k] != want {
				return
			}
		}
		v += m.Value
	})
	return v
}

func TestLBCookieStickiness(t *testing.T) {
	a := newBackend(t, "a", nil)
	b := newBackend(t, "b", nil)
	c3 := newBackend(t, "c", nil)
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	tg := TargetGroup{Name: "tg", Targets: targetsOf(a, b, c3), Stickiness: Stickiness{Enabled: true, Type: "lb_cookie", Duration: time.Hour}}
	h := newHarness(t, simpleConfig(tg), Options{Now: func() time.Time { return now }})
	for _, id := range []string{"a", "b", "c"} {
		h.p.SetHealthy("tg", id, true, now)
	}
	c := newClient(t)

	resp, _ := get(t, c, h.url+"/")
	first := resp.Header.Get("X-Backend")
	ck := cookieFrom(resp, "AWSALB")
	if ck == nil {
		t.Fatalf("no AWSALB cookie in %v", resp.Header.Values("Set-Cookie"))
	}
	line := setCookieLine(resp, "AWSALB")
	if !strings.Contains(line, "Expires=Fri, 01 May 2026 13:00:00 GMT") || strings.Contains(line, "Max-Age") {
		t.Errorf("AWSALB Set-Cookie = %q, want Expires one hour ahead and no Max-Age", line)
	}
	cors := setCookieLine(resp, "AWSALBCORS")
	if !strings.Contains(cors, "SameSite=None") || !strings.Contains(cors, ck.Value) {
		t.Errorf("AWSALBCORS Set-Cookie = %q, want SameSite=None and the same value", cors)
	}

	t.Run("sticks", func(t *testing.T) {
		for i := 0; i < 10; i++ {
			resp, _ := get(t, c, h.url+"/", "Cookie", "AWSALB="+ck.Value)
			if got := resp.Header.Get("X-Backend"); got != first {
				t.Fatalf("request %d went to %s, want sticky target %s", i, got, first)
			}
			if cookieFrom(resp, "AWSALB") == nil {
				t.Fatalf("request %d: cookie not refreshed", i)
			}
		}
	})
	t.Run("cors cookie alone sticks", func(t *testing.T) {
		resp, _ := get(t, c, h.url+"/", "Cookie", "AWSALBCORS="+ck.Value)
		if got := resp.Header.Get("X-Backend"); got != first {
			t.Errorf("went to %s, want %s", got, first)
		}
	})
	t.Run("forged cookie picks a new target", func(t *testing.T) {
		before := collect(h.p, "NonStickyRequestCount", nil)
		resp, _ := get(t, c, h.url+"/", "Cookie", "AWSALB=forged-value")
		nc := cookieFrom(resp, "AWSALB")
		if resp.StatusCode != 200 || nc == nil || nc.Value == "forged-value" {
			t.Errorf("status %d, cookie %v: want 200 and a rewritten cookie", resp.StatusCode, nc)
		}
		if after := collect(h.p, "NonStickyRequestCount", nil); after != before+1 {
			t.Errorf("NonStickyRequestCount = %v, want %v", after, before+1)
		}
	})
	t.Run("unhealthy sticky target is replaced", func(t *testing.T) {
		h.p.SetHealthy("tg", first, false, now)
		defer h.p.SetHealthy("tg", first, true, now)
		resp, _ := get(t, c, h.url+"/", "Cookie", "AWSALB="+ck.Value)
		if got := resp.Header.Get("X-Backend"); got == first {
			t.Fatalf("went to unhealthy sticky target %s", got)
		}
		nc := cookieFrom(resp, "AWSALB")
		if nc == nil || nc.Value == ck.Value {
			t.Errorf("cookie = %v, want it rewritten to the new target", nc)
		}
	})
}

func TestAppCookieStickiness(t *testing.T) {
	handler := func(name string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/login" {
				http.SetCookie(w, &http.Cookie{Name: "session", Value: "s-" + name})
			}
			w.Write([]byte(name))
		}
	}
	a := newBackend(t, "a", handler("a"))
	b := newBackend(t, "b", handler("b"))
	tg := TargetGroup{Name: "tg", Targets: targetsOf(a, b), Stickiness: Stickiness{Enabled: true, Type: "app_cookie", CookieName: "session"}}
	h := newHarness(t, simpleConfig(tg), Options{})
	c := newClient(t)

	resp, _ := get(t, c, h.url+"/plain")
	if cookieFrom(resp, "AWSALBAPP") != nil {
		t.Errorf("AWSALBAPP set although the target set no app cookie")
	}
	resp, _ = get(t, c, h.url+"/login")
	first := resp.Header.Get("X-Backend")
	app := cookieFrom(resp, "AWSALBAPP")
	if app == nil {
		t.Fatalf("no AWSALBAPP after the target set its cookie: %v", resp.Header.Values("Set-Cookie"))
	}
	for i := 0; i < 8; i++ {
		resp, _ := get(t, c, h.url+"/page", "Cookie", "session=s-"+first+"; AWSALBAPP="+app.Value)
		if got := resp.Header.Get("X-Backend"); got != first {
			t.Fatalf("request %d went to %s, want %s", i, got, first)
		}
	}
}

func TestTargetGroupStickinessAndWeights(t *testing.T) {
	blue := newBackend(t, "blue", nil)
	green := newBackend(t, "green", nil)
	cfg := Config{
		LoadBalancers: []LoadBalancer{{Name: "lb", Address: "127.0.0.1", Listeners: []Listener{{
			DefaultActions: []route.Action{{Type: "forward", Forward: &route.Forward{
				TargetGroups: []route.WeightedTargetGroup{{Name: "blue", Weight: 1}, {Name: "green", Weight: 1}},
				Stickiness:   600 * time.Second,
			}}},
		}}}},
		TargetGroups: []TargetGroup{{Name: "blue", Targets: targetsOf(blue)}, {Name: "green", Targets: targetsOf(green)}},
	}
	h := newHarness(t, cfg, Options{})
	c := newClient(t)
	seen := map[string]int{}
	var tgCookie *http.Cookie
	var tgFirst string
	for i := 0; i < 40; i++ {
		resp, _ := get(t, c, h.url+"/")
		seen[resp.Header.Get("X-Backend")]++
		if tgCookie == nil {
			tgCookie = cookieFrom(resp, "AWSALBTG")
			tgFirst = resp.Header.Get("X-Backend")
		}
	}
	if seen["blue"] == 0 || seen["green"] == 0 {
		t.Errorf("weighted groups: got %v, want both groups used", seen)
	}
	if tgCookie == nil {
		t.Fatal("no AWSALBTG cookie")
	}
	for i := 0; i < 10; i++ {
		resp, _ := get(t, c, h.url+"/", "Cookie", "AWSALBTG="+tgCookie.Value)
		if got := resp.Header.Get("X-Backend"); got != tgFirst {
			t.Fatalf("request %d went to group %s, want %s", i, got, tgFirst)
		}
	}

	t.Run("weight zero gets nothing", func(t *testing.T) {
		cfg.LoadBalancers[0].Listeners[0].Port = h.port
		cfg.LoadBalancers[0].Listeners[0].DefaultActions[0].Forward.TargetGroups[1].Weight = 0
		if err := h.p.Update(cfg); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 10; i++ {
			resp, _ := get(t, c, h.url+"/", "Cookie", "AWSALBTG="+tgCookie.Value)
			if got := resp.Header.Get("X-Backend"); got != "blue" {
				t.Fatalf("request %d went to %s, want blue (green has weight 0)", i, got)
			}
		}
	})
}

func TestConsistentHashKey(t *testing.T) {
	a := newBackend(t, "a", nil)
	b := newBackend(t, "b", nil)
	c3 := newBackend(t, "c", nil)
	tg := TargetGroup{Name: "tg", Algorithm: "consistent_hash", HashKey: "header:X-User", Targets: targetsOf(a, b, c3)}
	h := newHarness(t, simpleConfig(tg), Options{})
	c := newClient(t)
	users := map[string]string{}
	distinct := map[string]bool{}
	for round := 0; round < 3; round++ {
		for u := 0; u < 12; u++ {
			user := "user-" + string(rune('a'+u))
			resp, _ := get(t, c, h.url+"/", "X-User", user)
			got := resp.Header.Get("X-Backend")
			distinct[got] = true
			if prev, ok := users[user]; ok && prev != got {
				t.Fatalf("%s went to %s, then %s; want the same target", user, prev, got)
			}
			users[user] = got
		}
	}
	if len(distinct) < 2 {
		t.Errorf("all users hashed to %v, want a spread", distinct)
	}
}
