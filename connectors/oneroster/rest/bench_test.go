package rest_test

import (
	"context"
	"net/http/httptest"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/pthv/reach/connectors/oneroster/rest"
	"github.com/pthv/reach/internal/rostergen"
	"github.com/pthv/reach/internal/sis"
	"github.com/pthv/reach/internal/standin/oneroster"
)

// BenchmarkPullUnderRateCap pulls a district (PTHV_BENCH_CAP_STUDENTS, default 5,000) from the
// stand-in over loopback at page size 1,000, without a cap and under 1,200 requests a minute,
// and compares the capped time with the floor the cap sets: (requests - 1) ÷ 20 per second.
// Metrics: requests, uncapped-s, capped-s, floor-s, capped/floor.
func BenchmarkPullUnderRateCap(b *testing.B) {
	students := 5000
	if v := os.Getenv("PTHV_BENCH_CAP_STUDENTS"); v != "" {
		students, _ = strconv.Atoi(v)
	}
	d, err := oneroster.Generate(rostergen.Options{Students: students, Seed: 9}, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		b.Fatal(err)
	}
	srv := oneroster.New(d, oneroster.Config{ClientID: "c", ClientSecret: "s"})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	pull := func(rate int) (time.Duration, int) {
		c, err := rest.New(rest.Config{Version: "1.2", BaseURL: hs.URL + srv.BasePath(), PageSize: 1000, RatePerMinute: rate,
			Credentials: rest.Credentials{ClientID: "c", ClientSecret: "s", TokenURL: hs.URL + srv.TokenPath()}})
		if err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		reqs := 0
		for _, col := range c.Collections() {
			tally := sis.NewTally(col)
			if err := c.Pull(context.Background(), col, sis.Query{}, sis.Cursor{}, func(p *sis.Page) error {
				tally.Add(p)
				reqs += p.Requests
				return nil
			}); err != nil {
				b.Fatal(err)
			}
			if ok, why := tally.Complete(); !ok {
				b.Fatalf("%s: %s", col.Name, why)
			}
		}
		return time.Since(t0), reqs
	}
	var free, capped time.Duration
	var reqs int
	for i := 0; i < b.N; i++ {
		f, _ := pull(0)
		c, n := pull(1200)
		free, capped, reqs = free+f, capped+c, n
	}
	floor := time.Duration(reqs-1) * time.Second / 20
	b.ReportMetric(float64(reqs), "requests")
	b.ReportMetric(free.Seconds()/float64(b.N), "uncapped-s")
	b.ReportMetric(capped.Seconds()/float64(b.N), "capped-s")
	b.ReportMetric(floor.Seconds(), "floor-s")
	b.ReportMetric(capped.Seconds()/float64(b.N)/floor.Seconds(), "capped/floor")
}
