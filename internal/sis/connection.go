package sis

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/pthv/reach/internal/pthv"
)

// Providers a connection may name.
const (
	ProviderOneRoster11 = "oneroster-1.1"
	ProviderOneRoster12 = "oneroster-1.2"
	ProviderClever      = "clever"
)

// CleverBaseURL is a clever connection's default base URL.
const CleverBaseURL = "https://api.clever.com/v3.0"

// Connection is one district's SIS connection: everything but its secret, which lives in
// Secrets Manager under SecretID and is never stored here, logged, reported or printed.
type Connection struct {
	District string `json:"districtId"`
	ID       string `json:"connectionId"`
	Provider string `json:"provider"`
	// BaseURL is stored whole (vendors put prefixes before /ims/...).
	BaseURL string `json:"baseUrl"`
	// Auth is oauth2 (default) or oauth1 (OneRoster 1.1 only).
	Auth            string            `json:"auth"`
	TokenURL        string            `json:"tokenUrl,omitempty"`
	ClientID        string            `json:"clientId"`
	ClientAuth      string            `json:"clientAuth,omitempty"` // basic (default) or body
	Scopes          []string          `json:"scopes"`               // nil = the version's default; [] = none
	TokenParams     map[string]string `json:"tokenParams,omitempty"`
	SignatureMethod string            `json:"signatureMethod,omitempty"`
	SecretID        string            `json:"secretId"`
	PageSize        int               `json:"pageSize"`
	// Schedule is an EventBridge Scheduler expression (cron(...)) in TimeZone.
	Schedule      string `json:"schedule"`
	TimeZone      string `json:"timeZone"`
	Concurrency   int    `json:"concurrency"`
	RatePerMinute int    `json:"ratePerMinute"`
	// FullEveryDays: a full pull at least this often (default 7); MaxDeltaAgeDays: no delta
	// when the last applied run is older than this (the provider may not keep changes, or
	// deletions, that long; default 30); OverlapMinutes: a delta asks from this long before
	// the watermark (default 60).
	FullEveryDays   int       `json:"fullEveryDays"`
	MaxDeltaAgeDays int       `json:"maxDeltaAgeDays"`
	OverlapMinutes  int       `json:"overlapMinutes"`
	Created         time.Time `json:"created"`
	Updated         time.Time `json:"updated"`
	// State kept by the runs.
	// Approved is the settings hash of the last applied import: a run with other settings
	// is held for approval.
	Approved string `json:"approved,omitempty"`
	// Watermark is the newest dateLastModified of the data the last applied run imported.
	Watermark time.Time `json:"watermark,omitzero"`
	LastFull  time.Time `json:"lastFull,omitzero"`
	// LastApplied is when the last applied run started.
	LastApplied time.Time `json:"lastApplied,omitzero"`
	LastRun     string    `json:"lastRun,omitempty"`
	// Events turns on events runs (clever only): nightly runs apply the source's events
	// since the Snapshot's event id to its staged pages; FullEveryDays still pulls in full.
	Events bool `json:"events,omitempty"`
	// Snapshot is the last applied complete pull with events on (kept by the runs).
	Snapshot *Snapshot `json:"snapshot,omitempty"`
}

// Defaults fills in the defaults.
func (c *Connection) Defaults() {
	if c.ID == "" {
		c.ID = "sis"
	}
	if c.Provider == ProviderClever {
		// A district-app bearer token; Clever serves up to 10,000 records a page and
		// allows 1,200 requests a minute per token.
		if c.BaseURL == "" {
			c.BaseURL = CleverBaseURL
		}
		if c.Auth == "" {
			c.Auth = "bearer"
		}
		if c.PageSize == 0 {
			c.PageSize = 10000
		}
		if c.RatePerMinute == 0 {
			c.RatePerMinute = 1200
		}
	}
	if c.Auth == "" {
		c.Auth = "oauth2"
	}
	if c.PageSize == 0 {
		c.PageSize = 1000
	}
	if c.Schedule == "" {
		c.Schedule = "cron(30 2 * * ? *)"
	}
	if c.TimeZone == "" {
		c.TimeZone = "America/Los_Angeles"
	}
	if c.Concurrency == 0 {
		c.Concurrency = 1
	}
	if c.RatePerMinute == 0 {
		c.RatePerMinute = 100
	}
	if c.FullEveryDays == 0 {
		c.FullEveryDays = 7
	}
	if c.MaxDeltaAgeDays == 0 {
		c.MaxDeltaAgeDays = 30
	}
	if c.OverlapMinutes == 0 {
		c.OverlapMinutes = 60
	}
}

// Validate reports the first problem with the connection's settings.
func (c *Connection) Validate() error {
	switch {
	case !pthv.ValidDistrictID(c.District):
		return fmt.Errorf("district id must be %s", pthv.DistrictIDRule)
	case !pthv.ValidDistrictID(c.ID): // a segment of S3 keys, DynamoDB keys and schedule names, as a district id is
		return fmt.Errorf("connection id must be %s", pthv.DistrictIDRule)
	case c.Provider != ProviderOneRoster11 && c.Provider != ProviderOneRoster12 && c.Provider != ProviderClever:
		return fmt.Errorf("provider must be oneroster-1.1, oneroster-1.2 or clever")
	case c.ClientID == "" && c.Provider != ProviderClever:
		return fmt.Errorf("a client id is required")
	case c.SecretID == "":
		return fmt.Errorf("the connection names no secret")
	case c.PageSize < 1 || c.PageSize > 10000:
		return fmt.Errorf("page size must be 1 to 10000")
	case c.Concurrency < 1 || c.Concurrency > 5:
		return fmt.Errorf("concurrency must be 1 to 5 (vendors ask for at most 5 off-peak)")
	case c.RatePerMinute < 1:
		return fmt.Errorf("the request-rate cap must be at least 1 a minute")
	case !strings.HasPrefix(c.Schedule, "cron(") && !strings.HasPrefix(c.Schedule, "rate("):
		return fmt.Errorf("schedule must be an EventBridge Scheduler expression such as 'cron(30 2 * * ? *)'")
	}
	if _, err := time.LoadLocation(c.TimeZone); err != nil {
		return fmt.Errorf("unknown time zone %q", c.TimeZone)
	}
	if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" {
		return fmt.Errorf("base URL must be an absolute http(s) URL without a query")
	}
	if c.Events && c.Provider != ProviderClever {
		return fmt.Errorf("events are for --provider clever (OneRoster has no event log; its nightly runs are dateLastModified deltas)")
	}
	if c.Provider == ProviderClever {
		if c.Auth != "bearer" {
			return fmt.Errorf("a clever connection authenticates with its district-app bearer token (auth bearer)")
		}
	} else {
		switch c.Auth {
		case "oauth2":
			if u, err := url.Parse(c.TokenURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				return fmt.Errorf("OAuth 2.0 needs --token-url, an absolute http(s) URL")
			}
		case "oauth1":
			if c.Provider != ProviderOneRoster11 {
				return fmt.Errorf("OAuth 1.0a signing is for OneRoster 1.1 only")
			}
		default:
			return fmt.Errorf("auth must be oauth2 or oauth1")
		}
	}
	for _, s := range c.Scopes {
		if strings.Contains(s, "demographics") {
			return fmt.Errorf("the demographics scope is never asked for")
		}
	}
	return nil
}

// SettingsHash is a digest of what decides which roster the connection reads: provider, base
// URL, auth settings and client id. A run whose hash differs from the approved one is held.
func (c *Connection) SettingsHash() string {
	b, _ := json.Marshal([]any{c.Provider, strings.TrimRight(c.BaseURL, "/"), c.Auth, c.TokenURL, c.ClientID, c.ClientAuth, c.Scopes, c.TokenParams, c.SignatureMethod})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:12])
}

// Run statuses.
const (
	RunPulling   = "pulling"
	RunImporting = "importing"
	RunApplied   = "applied"
	RunHeld      = "held"
	RunFailed    = "failed"
	RunRejected  = "rejected"
)

// Run is the record of one sync run.
type Run struct {
	District     string           `json:"districtId"`
	Connection   string           `json:"connectionId"`
	ID           string           `json:"runId"`
	Trigger      string           `json:"trigger"` // schedule, cli
	Mode         string           `json:"mode"`    // full, delta or events
	ModeReason   string           `json:"modeReason"`
	Since        time.Time        `json:"since,omitzero"`
	Status       string           `json:"status"`
	Reason       string           `json:"reason,omitempty"`
	SettingsHash string           `json:"settingsHash"`
	Collections  []*CollectionRun `json:"collections"`
	Requests     int              `json:"requests"`
	Retries      int              `json:"retries"`
	Bytes        int64            `json:"bytes"`
	// WaitMS is time spent waiting on the server; ConvertMS writing the package; ImportMS the
	// import pipeline.
	WaitMS    int64     `json:"waitMs"`
	PullMS    int64     `json:"pullMs"`
	ConvertMS int64     `json:"convertMs"`
	ImportMS  int64     `json:"importMs"`
	Watermark time.Time `json:"watermark,omitzero"`
	// EventID is, for a full run with events on, the newest event id read before the pull
	// (EventsAt when; zero when it could not be read), and for an events run the last event
	// applied; Snapshot is the run an events run started from, Events what it applied.
	EventID     string           `json:"eventId,omitempty"`
	EventsAt    time.Time        `json:"eventsAt,omitzero"`
	Snapshot    string           `json:"snapshot,omitempty"`
	Events      *EventsApplied   `json:"events,omitempty"`
	PackageKey  string           `json:"packageKey,omitempty"`
	ImportID    string           `json:"importId,omitempty"`
	ImportState string           `json:"importStatus,omitempty"`
	Counts      map[string]Count `json:"counts,omitempty"`
	Findings    []Finding        `json:"findings,omitempty"`
	Errors      int              `json:"errors"`
	Warnings    int              `json:"warnings"`
	Invocations int              `json:"invocations"`
	Started     time.Time        `json:"startedAt"`
	Finished    time.Time        `json:"finishedAt,omitzero"`
}

// Count is what the import did to one kind.
type Count struct {
	Added, Changed, Revived, Unchanged, Deactivated, Rejected int
}

// CollectionRun is one collection's pull within a run.
type CollectionRun struct {
	Name     string   `json:"name"`
	Files    []string `json:"files"`
	People   bool     `json:"people,omitempty"`
	Proof    Proof    `json:"proof"`
	Cursor   Cursor   `json:"cursor"`
	Done     bool     `json:"done"`
	Complete bool     `json:"complete"`
	Verdict  string   `json:"verdict"`
	// PageStarts[i] is, per file, the CSV line page i+1's first row was written at.
	PageStarts map[string][]int `json:"pageStarts,omitempty"`
	Notes      []string         `json:"notes,omitempty"`
}

// Finding is a validation finding of a pulled record, named by collection, page and
// sourcedId instead of file and line.
type Finding struct {
	Severity   string `json:"severity"`
	Code       string `json:"code"`
	Collection string `json:"collection,omitempty"`
	Page       int    `json:"page,omitempty"`
	SourcedID  string `json:"sourcedId,omitempty"`
	Field      string `json:"field,omitempty"`
	Message    string `json:"message"`
}
