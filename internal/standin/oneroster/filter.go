package oneroster

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// filter is the specification's filter grammar: field op 'value', with at most one AND or OR.
type filter struct {
	preds []pred
	or    bool
}

type pred struct {
	field, op, value string
}

var ops = []string{">=", "<=", "!=", "=", ">", "<", "~"}

func parseFilter(v, coll string) (*filter, error) {
	f := &filter{}
	rest := v
	for {
		p, tail, err := parsePred(rest, coll)
		if err != nil {
			return nil, err
		}
		f.preds = append(f.preds, p)
		tail = strings.TrimSpace(tail)
		if tail == "" {
			break
		}
		if len(f.preds) == 2 {
			return nil, errors.New("at most one AND or OR")
		}
		switch {
		case strings.HasPrefix(tail, "AND "):
			rest = tail[4:]
		case strings.HasPrefix(tail, "OR "):
			rest, f.or = tail[3:], true
		default:
			return nil, errors.New("expected AND or OR between predicates")
		}
	}
	return f, nil
}

func parsePred(s, coll string) (pred, string, error) {
	s = strings.TrimSpace(s)
	i := strings.IndexAny(s, "=!<>~")
	if i <= 0 {
		return pred{}, "", errors.New("a predicate is field op 'value'")
	}
	p := pred{field: strings.TrimSpace(s[:i])}
	for _, op := range ops {
		if strings.HasPrefix(s[i:], op) {
			p.op = op
			break
		}
	}
	if p.op == "" {
		return pred{}, "", errors.New("unknown operator")
	}
	if !validField(coll, p.field) {
		return pred{}, "", fmt.Errorf("unknown filter field")
	}
	s = strings.TrimSpace(s[i+len(p.op):])
	if !strings.HasPrefix(s, "'") {
		return pred{}, "", errors.New("the value must be in single quotes")
	}
	var b strings.Builder
	j := 1
	for ; j < len(s); j++ {
		if s[j] == '\'' {
			if j+1 < len(s) && s[j+1] == '\'' {
				b.WriteByte('\'')
				j++
				continue
			}
			break
		}
		b.WriteByte(s[j])
	}
	if j >= len(s) {
		return pred{}, "", errors.New("unterminated value")
	}
	p.value = b.String()
	if p.field == "dateLastModified" {
		if _, ok := parseTime(p.value); !ok {
			return pred{}, "", errors.New("dateLastModified must be compared with an ISO 8601 date and time")
		}
	}
	return p, s[j+1:], nil
}

func (f *filter) match(s *Server, coll string, c *collection, it *item) bool {
	for i, p := range f.preds {
		ok := p.match(s, coll, c, it)
		if f.or && ok {
			return true
		}
		if !f.or && !ok {
			return false
		}
		if i == len(f.preds)-1 {
			return ok
		}
	}
	return false
}

func (p pred) match(s *Server, coll string, c *collection, it *item) bool {
	var cmp int
	switch p.field {
	case "dateLastModified":
		t, _ := parseTime(p.value)
		cmp = it.modified.Compare(t)
	default:
		var have string
		switch p.field {
		case "sourcedId":
			have = it.id
		case "status":
			have = it.status
		default:
			have = fmt.Sprint(s.render(coll, c, it)[p.field])
		}
		if p.op == "~" {
			return strings.Contains(strings.ToLower(have), strings.ToLower(p.value))
		}
		cmp = strings.Compare(have, p.value)
	}
	switch p.op {
	case "=":
		return cmp == 0
	case "!=":
		return cmp != 0
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

// pctEncode is RFC 3986 percent-encoding of everything but the unreserved characters.
func pctEncode(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strings.IndexByte("-._~", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// verifyOAuth1 checks a two-legged OAuth 1.0a signature (RFC 5849 3.4, as ClassLink and
// Moodle sign OneRoster requests): the signed set is the oauth_ parameters and every query
// parameter; timestamps up to 10 minutes old and 5 ahead are accepted; a nonce is used once.
func (s *Server) verifyOAuth1(r *http.Request, header string) (bool, string) {
	params := map[string]string{}
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		uv, err := url.PathUnescape(strings.Trim(v, `"`))
		if err != nil {
			return false, "malformed OAuth header"
		}
		params[k] = uv
	}
	if params["oauth_consumer_key"] != s.cfg.ClientID || s.cfg.ClientID == "" {
		return false, "unknown consumer key"
	}
	var h func() hash.Hash
	switch params["oauth_signature_method"] {
	case "HMAC-SHA256":
		h = sha256.New
	case "HMAC-SHA1":
		h = sha1.New
	default:
		return false, "unsupported signature method"
	}
	ts, err := strconv.ParseInt(params["oauth_timestamp"], 10, 64)
	now := s.cfg.Now()
	if err != nil || now.Sub(time.Unix(ts, 0)) > 10*time.Minute || time.Unix(ts, 0).Sub(now) > 5*time.Minute {
		return false, "timestamp out of range"
	}
	nonce := params["oauth_nonce"]
	s.mu.Lock()
	seen := s.nonces[nonce+"/"+params["oauth_timestamp"]]
	s.nonces[nonce+"/"+params["oauth_timestamp"]] = true
	s.mu.Unlock()
	if nonce == "" || seen {
		return false, "nonce reused"
	}
	var pairs []string
	for k, vs := range r.URL.Query() {
		for _, v := range vs {
			pairs = append(pairs, pctEncode(k)+"="+pctEncode(v))
		}
	}
	for k, v := range params {
		if strings.HasPrefix(k, "oauth_") && k != "oauth_signature" {
			pairs = append(pairs, pctEncode(k)+"="+pctEncode(v))
		}
	}
	// RFC 5849 3.4.1.3.2: sorted by encoded name, then by encoded value.
	sort.Slice(pairs, func(i, j int) bool {
		ki, vi, _ := strings.Cut(pairs[i], "=")
		kj, vj, _ := strings.Cut(pairs[j], "=")
		if ki != kj {
			return ki < kj
		}
		return vi < vj
	})
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	host := strings.ToLower(r.Host)
	base := r.Method + "&" + pctEncode(scheme+"://"+host+r.URL.EscapedPath()) + "&" + pctEncode(strings.Join(pairs, "&"))
	mac := hmac.New(h, []byte(pctEncode(s.cfg.ClientSecret)+"&"))
	mac.Write([]byte(base))
	want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	if !hmac.Equal([]byte(want), []byte(params["oauth_signature"])) {
		return false, "signature invalid"
	}
	return true, ""
}
