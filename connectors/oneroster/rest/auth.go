package rest

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Auth kinds of a connection.
const (
	AuthOAuth2 = "oauth2"
	AuthOAuth1 = "oauth1"
)

// Credentials authenticate a connection. ClientSecret comes from Secrets Manager and is never
// logged, stored beside the connection or printed.
type Credentials struct {
	Kind         string // oauth2 (default) or oauth1
	ClientID     string
	ClientSecret string
	// OAuth 2.0: the token endpoint, "basic" (default) or "body" client authentication, the
	// scopes (nil = the version's roster-core.readonly; an empty non-nil slice sends none) and
	// extra token request parameters.
	TokenURL   string
	ClientAuth string
	Scopes     []string
	TokenExtra map[string]string
	// OAuth 1.0a: HMAC-SHA256 (default) or HMAC-SHA1.
	SignatureMethod string
}

// DefaultScope returns the roster-core read scope of a OneRoster version.
func DefaultScope(version string) string {
	if version == "1.1" {
		return "https://purl.imsglobal.org/spec/or/v1p1/scope/roster-core.readonly"
	}
	return "https://purl.imsglobal.org/spec/or/v1p2/scope/roster-core.readonly"
}

// authorizer adds authentication to a request.
type authorizer interface {
	authorize(ctx context.Context, req *http.Request) error
	// refresh drops the current token after a 401; it reports whether a retry may help.
	refresh() bool
}

// oauth2 fetches client-credentials tokens and refreshes them before they expire.
type oauth2 struct {
	cred    Credentials
	scopes  []string
	http    *http.Client
	now     func() time.Time
	mu      sync.Mutex
	token   string
	expires time.Time
	// Requests counts token requests (for the run's stats).
	requests int
}

func (o *oauth2) authorize(ctx context.Context, req *http.Request) error {
	tok, err := o.get(ctx)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	return nil
}

func (o *oauth2) refresh() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.token = ""
	return true
}

// get returns a token valid for at least another minute (or a tenth of its life).
func (o *oauth2) get(ctx context.Context) (string, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.token != "" && o.now().Before(o.expires) {
		return o.token, nil
	}
	form := url.Values{"grant_type": {"client_credentials"}}
	if len(o.scopes) > 0 {
		form.Set("scope", strings.Join(o.scopes, " "))
	}
	for k, v := range o.cred.TokenExtra {
		form.Set(k, v)
	}
	body := o.cred.ClientAuth == "body"
	if body {
		form.Set("client_id", o.cred.ClientID)
		form.Set("client_secret", o.cred.ClientSecret)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.cred.TokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", fmt.Errorf("token request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if !body {
		// RFC 6749 2.3.1: the id and secret are form-encoded before Basic encoding.
		req.SetBasicAuth(url.QueryEscape(o.cred.ClientID), url.QueryEscape(o.cred.ClientSecret))
	}
	o.requests++
	resp, err := o.http.Do(req)
	if err != nil {
		return "", fmt.Errorf("token request: %w", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return "", &authError{status: resp.StatusCode, msg: "the token endpoint refused the client credentials" + describe(b)}
	}
	var t struct {
		AccessToken string          `json:"access_token"`
		TokenType   string          `json:"token_type"`
		ExpiresIn   json.RawMessage `json:"expires_in"`
	}
	if err := json.Unmarshal(b, &t); err != nil || t.AccessToken == "" {
		return "", &authError{status: resp.StatusCode, msg: "the token endpoint's answer has no access_token"}
	}
	if t.TokenType != "" && !strings.EqualFold(t.TokenType, "bearer") {
		return "", &authError{status: resp.StatusCode, msg: "the token endpoint issued a " + t.TokenType + " token, not a bearer token"}
	}
	life := 3600 * time.Second
	if n, err := strconv.ParseFloat(strings.Trim(string(t.ExpiresIn), `"`), 64); err == nil && n > 0 {
		life = time.Duration(n * float64(time.Second))
	}
	// Refresh before expiry: a minute early, or a tenth of a short life.
	early := min(time.Minute, life/10)
	o.token, o.expires = t.AccessToken, o.now().Add(life-early)
	return o.token, nil
}

// authError is a refused authentication: not retried.
type authError struct {
	status int
	msg    string
}

func (e *authError) Error() string { return e.msg }

// oauth1 signs every request with OAuth 1.0a two-legged HMAC (no token).
type oauth1 struct {
	cred  Credentials
	now   func() time.Time
	nonce func() string
}

func (o *oauth1) refresh() bool { return false }

func (o *oauth1) authorize(_ context.Context, req *http.Request) error {
	method := "HMAC-SHA256"
	if strings.EqualFold(o.cred.SignatureMethod, "HMAC-SHA1") {
		method = "HMAC-SHA1"
	}
	params := map[string]string{
		"oauth_consumer_key":     o.cred.ClientID,
		"oauth_signature_method": method,
		"oauth_timestamp":        strconv.FormatInt(o.now().Unix(), 10),
		"oauth_nonce":            o.nonce(),
		"oauth_version":          "1.0",
	}
	sig := Signature(req.Method, req.URL, params, o.cred.ClientSecret, method)
	params["oauth_signature"] = sig
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = Encode(k) + `="` + Encode(params[k]) + `"`
	}
	req.Header.Set("Authorization", "OAuth "+strings.Join(parts, ", "))
	return nil
}

func newNonce() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Signature computes an OAuth 1.0a signature (RFC 5849 3.4): the base string is
// METHOD&enc(scheme://host[:port]/path)&enc(sorted, encoded k=v pairs of every query parameter
// and every oauth_ parameter), the key enc(secret)&.
func Signature(method string, u *url.URL, oauth map[string]string, secret, sigMethod string) string {
	type kv struct{ k, v string }
	var pairs []kv
	for k, vs := range u.Query() {
		for _, v := range vs {
			pairs = append(pairs, kv{Encode(k), Encode(v)})
		}
	}
	for k, v := range oauth {
		pairs = append(pairs, kv{Encode(k), Encode(v)})
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i].k != pairs[j].k {
			return pairs[i].k < pairs[j].k
		}
		return pairs[i].v < pairs[j].v
	})
	norm := make([]string, len(pairs))
	for i, p := range pairs {
		norm[i] = p.k + "=" + p.v
	}
	scheme, host := strings.ToLower(u.Scheme), strings.ToLower(u.Host)
	if (scheme == "http" && strings.HasSuffix(host, ":80")) || (scheme == "https" && strings.HasSuffix(host, ":443")) {
		host = host[:strings.LastIndexByte(host, ':')]
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	base := strings.ToUpper(method) + "&" + Encode(scheme+"://"+host+path) + "&" + Encode(strings.Join(norm, "&"))
	var h func() hash.Hash = sha256.New
	if sigMethod == "HMAC-SHA1" {
		h = sha1.New
	}
	mac := hmac.New(h, []byte(Encode(secret)+"&"))
	mac.Write([]byte(base))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// Encode percent-encodes s as RFC 3986 (and OAuth 1.0a) require: every byte but
// A-Z a-z 0-9 - . _ ~ is %XX with upper-case hex.
func Encode(s string) string {
	const hexd = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexd[c>>4])
		b.WriteByte(hexd[c&15])
	}
	return b.String()
}
