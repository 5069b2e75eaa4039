package dashboard

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
)

// View is one presigned view for the staff page: a school year's object in the reports
// bucket and a presigned GET of it.
type View struct {
	Year string
	Key  string // published/reach/{year}.json or published/reach/districts/{id}/{year}.json
	URL  string // the presigned URL of Key (any host: only its query is kept)
}

// Staff says whose view a staff link carries.
type Staff struct {
	District string // "" for national staff
	Expires  time.Time
}

var (
	yearRE = regexp.MustCompile(`^\d{4}-\d{4}$`)
	keyRE  = regexp.MustCompile(`^published/reach/[A-Za-z0-9._/-]+\.json$`)
)

// StaffLink returns the address of the staff page under base (the dashboard's address)
// carrying the views. Each view travels in the fragment (#…), which browsers never send to
// a server, as its key and its presigned query; the page fetches /{key}?{query} from its own
// origin, which CloudFront passes to S3 unchanged (and Local checks as S3 would). It fails
// on a view that is not a published reach object or whose URL has no signature.
func StaffLink(base string, who Staff, views []View) (string, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", fmt.Errorf("dashboard: %q is not an http(s) address", base)
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/staff.html"
	u.RawQuery = ""
	frag := url.Values{}
	if who.District != "" {
		frag.Set("scope", "district")
		frag.Set("district", who.District)
	} else {
		frag.Set("scope", "national")
	}
	if !who.Expires.IsZero() {
		frag.Set("expires", who.Expires.UTC().Format(time.RFC3339))
	}
	views = slices.Clone(views)
	slices.SortFunc(views, func(a, b View) int { return strings.Compare(a.Year, b.Year) })
	for _, v := range views {
		if !yearRE.MatchString(v.Year) || !keyRE.MatchString(v.Key) || strings.Contains(v.Key, "..") {
			return "", fmt.Errorf("dashboard: %q (%s) is not a published reach view", v.Key, v.Year)
		}
		p, err := url.Parse(v.URL)
		if err != nil || p.Query().Get("X-Amz-Signature") == "" {
			return "", fmt.Errorf("dashboard: the link of %s is not a presigned URL", v.Year)
		}
		frag.Set("y."+v.Year, v.Key+"?"+p.RawQuery)
	}
	u.Fragment = ""
	return u.String() + "#" + frag.Encode(), nil
}
