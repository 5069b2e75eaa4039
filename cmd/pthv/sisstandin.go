package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/pthv/reach/internal/rostergen"
	"github.com/pthv/reach/internal/standin/clever"
	"github.com/pthv/reach/internal/standin/oneroster"
)

// Local SIS stand-ins: the local stack serves a OneRoster 1.2 server (OAuth 2.0) and a 1.1
// server (OAuth 1.0a) over a generated district, for 'pthv sync add' and the demo. Faults are
// switched with PUT {url}/_standin/faults.
const (
	standinClientID = "pthv-local-client"
	// EnvStandin12 … are written to the local stack's env file.
	envStandin12      = "SIS_STANDIN_URL"
	envStandin12Token = "SIS_STANDIN_TOKEN_URL"
	envStandin11      = "SIS_STANDIN_V11_URL"
	envStandinClient  = "SIS_STANDIN_CLIENT_ID"
	envStandinSecret  = "SIS_STANDIN_SECRET_FILE"
	envStandinAdmin   = "SIS_STANDIN_ADMIN"
	envStandinAdmin11 = "SIS_STANDIN_V11_ADMIN"
	// The Clever stand-in: its base URL, the district-app token's file, and the address of
	// its fault switch (PUT {admin}/_standin/faults with a clever.Faults JSON body, e.g.
	// {"revoked":true}).
	envClever      = "CLEVER_STANDIN_URL"
	envCleverToken = "CLEVER_STANDIN_TOKEN_FILE"
	envCleverAdmin = "CLEVER_STANDIN_ADMIN"
)

type standins struct {
	servers []*http.Server
	env     map[string]string
}

// startStandins serves the stand-ins on loopback (OneRoster 1.2, 1.1 and Clever, each over
// the same generated district); the client secret goes to secretFile, the Clever token to
// tokenFile.
func startStandins(students int, secretFile, tokenFile string) (*standins, error) {
	secret := fmt.Sprintf("local-%d", time.Now().UnixNano())
	if err := os.WriteFile(secretFile, []byte(secret+"\n"), 0o600); err != nil {
		return nil, err
	}
	at := time.Now().UTC().Add(-24 * time.Hour).Truncate(time.Second)
	s := &standins{env: map[string]string{envStandinClient: standinClientID, envStandinSecret: secretFile}}
	for _, v := range []string{"1.2", "1.1"} {
		d, err := oneroster.Generate(rostergen.Options{Students: students, Seed: 2026, Version: v, DistrictID: "local-district"}, at)
		if err != nil {
			return nil, err
		}
		srv := oneroster.New(d, oneroster.Config{Prefix: "/sis", ClientID: standinClientID, ClientSecret: secret})
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = hs.Serve(ln) }()
		s.servers = append(s.servers, hs)
		base := "http://" + ln.Addr().String()
		if v == "1.2" {
			s.env[envStandin12], s.env[envStandin12Token], s.env[envStandinAdmin] = base+srv.BasePath(), base+srv.TokenPath(), base
		} else {
			s.env[envStandin11], s.env[envStandinAdmin11] = base+srv.BasePath(), base
		}
	}
	if err := s.startClever(students, tokenFile); err != nil {
		return nil, err
	}
	return s, nil
}

// startClever serves the Clever stand-in with its fault switch.
func (s *standins) startClever(students int, tokenFile string) error {
	token := fmt.Sprintf("clever-local-%d", time.Now().UnixNano())
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		return err
	}
	d, err := clever.Generate(rostergen.Options{Students: students, Seed: 2026, DistrictID: "local-district"})
	if err != nil {
		return err
	}
	srv := clever.NewServer(d, token)
	mux := http.NewServeMux()
	mux.HandleFunc("PUT /_standin/faults", func(w http.ResponseWriter, r *http.Request) {
		var f clever.Faults
		if err := json.NewDecoder(r.Body).Decode(&f); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		srv.SetFaults(f)
		w.WriteHeader(http.StatusNoContent)
	})
	mux.Handle("/", srv)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	s.servers = append(s.servers, hs)
	base := "http://" + ln.Addr().String()
	s.env[envClever], s.env[envCleverToken], s.env[envCleverAdmin] = base+srv.Prefix, tokenFile, base
	return nil
}

func (s *standins) close() {
	for _, hs := range s.servers {
		_ = hs.Close()
	}
}
